"""Logs are structured, never contain passwords, tokens or secrets, and keep
WARNING and ERROR for the server's own trouble, not the clients' mistakes."""

from __future__ import annotations

import json
import re
import socket

from keystoneauth1 import session as ksa_session_mod

from tests.conftest import ksa_session, unique
from tests.support.ec2 import client, error


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


def test_client_errors_are_not_logged_as_errors(server, demo_session, endpoint, demo_keys):
    """A bad request is the client's mistake: it is answered with a 4xx and
    logged at INFO at most, never at WARNING or ERROR, never with a traceback.
    Unknown query parameters (with a token and without one: connexion logged
    each at ERROR), an unknown EC2 parameter, a request that is not HTTP."""
    offset = len(server.log_text())
    anonymous = ksa_session_mod.Session()
    for path in ("/identity/v3/auth/projects", "/compute/v2.1/servers/detail",
                 "/image/v2/images", "/compute/v2.1/os-keypairs"):
        r = anonymous.get(f"{server.url}{path}?bogus=1&limit=x", authenticated=False,
                          raise_exc=False)
        assert r.status_code in (400, 401), (path, r.status_code)
        r = demo_session.get(f"{server.url}{path}?bogus=1", raise_exc=False)
        assert r.status_code == 200, (path, r.status_code)

    ec2 = client(endpoint, demo_keys)

    def add_unknown(params, **_):  # past botocore's own validation, then signed
        params["body"]["NoSuchParameter"] = "1"

    ec2.meta.events.register("before-call.ec2.DescribeRegions", add_unknown)
    assert error(ec2.describe_regions) == ("UnknownParameter", 400)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        assert raw.recv(100).startswith(b"HTTP/1.1 400")

    new = server.log_text()[offset:].splitlines()
    loud = [line for line in new if re.search(r'"level": "(WARNING|ERROR|CRITICAL)"|'
                                              r"\[(WARNING|ERROR|CRITICAL)\]|Traceback", line)]
    assert loud == []
    quiet = [json.loads(line) for line in new if "not defined in specification" in line]
    assert quiet and {q["level"] for q in quiet} == {"INFO"}
    assert any("Invalid HTTP request received." in line and "[INFO]" in line for line in new)
