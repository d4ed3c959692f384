"""Logs are structured and never contain passwords, tokens or secrets."""

from __future__ import annotations

import json

from keystoneauth1 import session as ksa_session_mod

from tests.conftest import ksa_session, unique


def test_logs_are_json_and_free_of_secrets(server, admin_session, identity_url):
    password = f"pw-{unique('secret')}"
    user = admin_session.post(f"{identity_url}/users", json={"user": {
        "name": unique("logged"), "password": password}}).json()["user"]
    project = admin_session.post(f"{identity_url}/projects",
                                 json={"project": {"name": unique("logp")}}).json()["project"]
    member = admin_session.get(f"{identity_url}/roles?name=member").json()["roles"][0]
    admin_session.put(f"{identity_url}/projects/{project['id']}/users/{user['id']}/roles/"
                      f"{member['id']}")
    sess = ksa_session(server, user["name"], password, project["name"])
    token = sess.get_token()
    ec2 = sess.post(f"{identity_url}/users/{user['id']}/credentials/OS-EC2",
                    json={"tenant_id": project["id"]}).json()["credential"]
    app = sess.post(f"{identity_url}/users/{user['id']}/application_credentials",
                    json={"application_credential": {"name": unique("a")}}).json()
    # failures are logged too, and must not leak what was tried
    ksa_session_mod.Session().post(f"{identity_url}/auth/tokens", raise_exc=False, json={
        "auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user["name"], "domain": {"id": "default"}, "password": password + "x"}}}}})
    sess.post(f"{identity_url}/users/{user['id']}/password", json={"user": {
        "original_password": password, "password": password + "-new"}})

    log = server.log_text()
    secrets = [password, password + "x", password + "-new", token, ec2["secret"],
               app["application_credential"]["secret"], admin_session.get_token(),
               server.password("admin")]
    for secret in secrets:
        assert secret not in log
    access = [json.loads(line) for line in log.splitlines()
              if line.startswith("{") and '"nimbus.access"' in line]
    assert access, "the access log is structured JSON"
    mine = [a for a in access if a.get("user_id") == user["id"]]
    assert mine and all(a["request_id"].startswith("req-") for a in mine)
    assert {"method", "path", "status", "ms"} <= set(mine[0])
    assert all("?" not in a["path"] for a in access)


def test_request_id_is_returned_and_reused(identity_url):
    sess = ksa_session_mod.Session()
    r = sess.get(f"{identity_url}", authenticated=False)
    assert r.headers["x-openstack-request-id"].startswith("req-")
    mine = "req-12345678-1234-1234-1234-123456789012"
    r = sess.get(f"{identity_url}", authenticated=False,
                 headers={"X-Openstack-Request-Id": mine})
    assert r.headers["x-openstack-request-id"] == mine
    r = sess.get(f"{identity_url}", authenticated=False,
                 headers={"X-Openstack-Request-Id": "req-<script>"})
    assert r.headers["x-openstack-request-id"] != "req-<script>"
