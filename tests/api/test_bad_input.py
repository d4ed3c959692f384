"""Bad input gets the right 4xx in Keystone's envelope — never a 500.

Requests go through keystoneauth1 sessions (a real client); raw bodies are
sent with `data=` where the point is to send something malformed."""

from __future__ import annotations

from datetime import UTC

import pytest
from keystoneauth1 import session as ksa_session_mod

from tests.conftest import unique


def _anon():
    return ksa_session_mod.Session()


def _assert_error(r, status):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == status
    assert body["error"]["title"] and body["error"]["message"]
    assert r.headers["x-openstack-request-id"].startswith("req-")


def _post(url, body=None, data=None, headers=None):
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    return _anon().post(url, json=body, data=data, headers=hdrs, raise_exc=False,
                        authenticated=False)


def _password_auth(user="demo", password="x", **extra):
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}}, **extra}}


@pytest.mark.parametrize("data", [b"{not json", b"", b"[]", b'"auth"', b"null",
                                  b"\xd2\x33\xff{}"])
def test_malformed_json_is_400(identity_url, data):
    _assert_error(_post(f"{identity_url}/auth/tokens", data=data), 400)


@pytest.mark.parametrize("body", [
    {},                                                           # missing auth
    {"auth": {}},                                                 # missing identity
    {"auth": {"identity": {}}},                                   # missing methods
    {"auth": {"identity": {"methods": []}}},                      # empty methods
    {"auth": {"identity": {"methods": "password"}}},              # wrong type
    {"auth": {"identity": {"methods": ["password"]}}},            # method body missing
    {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "demo"}}}}},
    {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "demo", "password": "x"}}}}},                     # name without domain
    {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "demo", "domain": {"id": "default"}, "password": 12}}}}},   # wrong type
    {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "demo", "domain": {"id": "default"}, "password": "x", "extra": 1}}}}},
    {"auth": {"identity": {"methods": ["password"]}, "extra": True}},      # extra field
    {"auth": {"identity": {"methods": ["password"]}}, "more": 1},          # extra field
    _password_auth(scope={"project": {"name": "demo"}}),          # project name, no domain
    _password_auth(scope={"galaxy": {"id": "x"}}),                # unknown scope
    _password_auth(scope={"project": {"id": "a"}, "domain": {"id": "b"}}),  # two scopes
    _password_auth(scope="everything"),
])
def test_invalid_auth_bodies_are_400(identity_url, body):
    _assert_error(_post(f"{identity_url}/auth/tokens", body), 400)


def test_unsupported_method_is_401(identity_url):
    body = {"auth": {"identity": {"methods": ["totp"], "totp": {"user": {"id": "x"}}}}}
    _assert_error(_post(f"{identity_url}/auth/tokens", body), 401)


def test_unknown_project_scope_is_401(identity_url, server):
    body = _password_auth(password=server.password("demo"),
                          scope={"project": {"id": "does-not-exist"}})
    _assert_error(_post(f"{identity_url}/auth/tokens", body), 401)
    body = _password_auth(password=server.password("demo"),
                          scope={"project": {"name": "admin", "domain": {"id": "default"}}})
    _assert_error(_post(f"{identity_url}/auth/tokens", body), 401)   # no role there
    body = _password_auth(password=server.password("demo"), scope={"system": {"all": True}})
    _assert_error(_post(f"{identity_url}/auth/tokens", body), 401)


def test_wrong_content_type_is_415(identity_url):
    r = _anon().post(f"{identity_url}/auth/tokens", data=b"auth=1", raise_exc=False,
                     headers={"Content-Type": "application/x-www-form-urlencoded"},
                     authenticated=False)
    assert r.status_code in (400, 415)
    _assert_error(r, r.status_code)


@pytest.mark.parametrize("token", [
    "", "garbage", "gAAAAABnot-a-real-token", "A" * 5000,
])
def test_bad_tokens_are_401(identity_url, token):
    r = _anon().get(f"{identity_url}/auth/projects", headers={"X-Auth-Token": token},
                    raise_exc=False, authenticated=False)
    _assert_error(r, 401)
    assert r.headers["WWW-Authenticate"].startswith('Keystone uri="')


def test_tampered_token_is_401(identity_url, demo_session):
    token = demo_session.get_token()
    middle = len(token) // 2
    flipped = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]
    r = _anon().get(f"{identity_url}/auth/projects", headers={"X-Auth-Token": flipped},
                    raise_exc=False, authenticated=False)
    _assert_error(r, 401)


def test_expired_token_is_401(identity_url, server):
    from datetime import datetime, timedelta

    from core.identity.fernet import KeyRepository, TokenFormatter, TokenPayload, new_audit_id

    keys = KeyRepository(server.data_dir / "fernet-keys")
    admin_token = ksa_session_mod.Session().post(
        f"{identity_url}/auth/tokens", authenticated=False,
        json=_password_auth("admin", server.password("admin"), scope={
            "project": {"name": "admin", "domain": {"id": "default"}}})).json()["token"]
    formatter = TokenFormatter(keys)
    expired = formatter.create(TokenPayload(
        user_id=admin_token["user"]["id"], methods=("password",),
        project_id=admin_token["project"]["id"],
        expires_at=datetime.now(UTC) - timedelta(seconds=5),
        audit_ids=(new_audit_id(),)))
    r = _anon().get(f"{identity_url}/auth/projects", headers={"X-Auth-Token": expired},
                    raise_exc=False, authenticated=False)
    _assert_error(r, 401)
    # and allow_expired lets an admin look at it, as Keystone does
    live = ksa_session_mod.Session().post(
        f"{identity_url}/auth/tokens", authenticated=False,
        json=_password_auth("admin", server.password("admin"), scope={
            "project": {"name": "admin", "domain": {"id": "default"}}}))
    headers = {"X-Auth-Token": live.headers["X-Subject-Token"], "X-Subject-Token": expired}
    r = _anon().get(f"{identity_url}/auth/tokens", headers=headers, raise_exc=False,
                    authenticated=False)
    _assert_error(r, 404)
    r = _anon().get(f"{identity_url}/auth/tokens?allow_expired=1", headers=headers,
                    raise_exc=False, authenticated=False)
    assert r.status_code == 200


def test_missing_token_is_401(identity_url):
    r = _anon().get(f"{identity_url}/projects", raise_exc=False, authenticated=False)
    _assert_error(r, 401)


@pytest.mark.parametrize("path,body", [
    ("projects", {"project": {}}),                                    # name missing
    ("projects", {"project": {"name": ""}}),                          # empty name
    ("projects", {"project": {"name": 5}}),                           # wrong type
    ("projects", {"project": {"name": "x", "enabled": "yes"}}),       # wrong type
    ("projects", {"project": {"name": "x"}, "extra": 1}),             # extra field
    ("projects", {"projects": {"name": "x"}}),                        # wrong wrapper
    ("projects", {"project": {"name": "x", "is_domain": True}}),
    ("users", {"user": {"name": "x", "password": ["a"]}}),
    ("users", {"user": {"name": "x", "password": "p" * 5000}}),
    ("roles", {"role": {"name": "x", "colour": "red"}}),             # extra field
    ("groups", {"group": {}}),
    ("domains", {"domain": {"name": "x", "id": "not-hex"}}),
    ("endpoints", {"endpoint": {"service_id": "s", "interface": "sideways", "url": "http://x"}}),
    ("endpoints", {"endpoint": {"service_id": "s", "interface": "public", "url": "no-scheme"}}),
    ("regions", {"region": {"id": ""}}),
])
def test_invalid_create_bodies_are_400(admin_session, identity_url, path, body):
    r = admin_session.post(f"{identity_url}/{path}", json=body, raise_exc=False)
    _assert_error(r, 400)


def test_not_found_and_conflict(admin_session, identity_url):
    for path in ("projects", "users", "groups", "roles", "domains", "regions", "services",
                 "endpoints"):
        _assert_error(admin_session.get(f"{identity_url}/{path}/nope", raise_exc=False), 404)
    _assert_error(admin_session.get(f"{identity_url}/no-such-collection", raise_exc=False),
                  404)
    name = unique("dup")
    assert admin_session.post(f"{identity_url}/projects",
                              json={"project": {"name": name}}).status_code == 201
    _assert_error(admin_session.post(f"{identity_url}/projects",
                                     json={"project": {"name": name}}, raise_exc=False), 409)
    _assert_error(admin_session.post(f"{identity_url}/roles",
                                     json={"role": {"name": "member"}}, raise_exc=False), 409)


def test_method_not_allowed_is_405(admin_session, identity_url):
    _assert_error(admin_session.put(f"{identity_url}/projects", json={}, raise_exc=False), 405)


def test_wrong_original_password_is_401(demo_session, identity_url):
    me = demo_session.get_user_id()
    r = demo_session.post(f"{identity_url}/users/{me}/password", raise_exc=False,
                          json={"user": {"original_password": "wrong", "password": "new"}})
    _assert_error(r, 401)


def test_disabled_domain_cannot_be_kept_enabled_when_deleting(admin_session, identity_url):
    dom = admin_session.post(f"{identity_url}/domains",
                             json={"domain": {"name": unique("d")}}).json()["domain"]
    _assert_error(admin_session.delete(f"{identity_url}/domains/{dom['id']}",
                                       raise_exc=False), 400)
    admin_session.patch(f"{identity_url}/domains/{dom['id']}",
                        json={"domain": {"enabled": False}})
    assert admin_session.delete(f"{identity_url}/domains/{dom['id']}").status_code == 204


def test_implied_role_loop_is_400(admin_session, identity_url):
    roles = {r["name"]: r["id"] for r in
             admin_session.get(f"{identity_url}/roles").json()["roles"]}
    r = admin_session.put(f"{identity_url}/roles/{roles['reader']}/implies/{roles['admin']}",
                          raise_exc=False)
    _assert_error(r, 400)


def test_effective_with_group_filter_is_400(admin_session, identity_url):
    r = admin_session.get(f"{identity_url}/role_assignments?effective&group.id=x",
                          raise_exc=False)
    _assert_error(r, 400)
