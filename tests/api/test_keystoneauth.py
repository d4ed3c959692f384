"""keystoneauth1 sessions against the live server: methods, scopes, token API."""

from __future__ import annotations

import pytest
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ksa_session_mod
from keystoneauth1.identity import v3

from tests.conftest import ksa_session, unique


def _new_user(admin_session, identity_url, role="member", project=None, password="pw-1"):
    """A fresh project and user with a role on it (names unique per test)."""
    if project is None:
        project = admin_session.post(f"{identity_url}/projects", json={"project": {
            "name": unique("p"), "domain_id": "default"}}).json()["project"]
    user = admin_session.post(f"{identity_url}/users", json={"user": {
        "name": unique("u"), "domain_id": "default", "password": password}}).json()["user"]
    roles = admin_session.get(f"{identity_url}/roles", params={"name": role}).json()["roles"]
    admin_session.put(f"{identity_url}/projects/{project['id']}/users/{user['id']}/roles/"
                      f"{roles[0]['id']}")
    return project, user


def test_discovery_unversioned_and_versioned(server):
    sess = ksa_session_mod.Session()
    for url in (server.auth_url, f"{server.auth_url}/v3"):
        data = sess.get(url, authenticated=False, raise_exc=False)
        assert data.status_code in (200, 300)
    plugin = v3.Password(auth_url=server.auth_url, username="admin",
                         password=server.password("admin"), user_domain_id="default",
                         project_name="admin", project_domain_id="default")
    s = ksa_session_mod.Session(auth=plugin)
    assert s.get_endpoint(service_type="identity", interface="public") \
        .startswith(server.url)
    # auth_url with the version in it works as well
    plugin = v3.Password(auth_url=f"{server.auth_url}/v3", username="demo",
                         password=server.password("demo"), user_domain_name="Default",
                         project_name="demo", project_domain_name="Default")
    assert ksa_session_mod.Session(auth=plugin).get_token()


def test_token_body_fields(admin_session, server):
    access = admin_session.auth.get_access(admin_session)
    assert access.username == "admin"
    assert access.project_name == "admin"
    assert access.user_domain_id == "default"
    assert sorted(access.role_names) == ["admin", "member", "reader"]
    assert access.expires > access.issued
    assert access.audit_id and len(access.audit_id) == 22
    services = access.service_catalog.get_endpoints()
    assert set(services) == {"block-storage", "compute", "ec2", "identity", "image",
                             "network"}
    assert {e["interface"] for e in services["identity"]} == {"public", "internal", "admin"}


def test_validate_check_and_revoke(admin_session, identity_url, server):
    demo = ksa_session(server, "demo", server.password("demo"), "demo")
    subject = demo.get_token()
    r = admin_session.get(f"{identity_url}/auth/tokens", headers={"X-Subject-Token": subject})
    assert r.status_code == 200
    assert r.headers["X-Subject-Token"] == subject
    assert r.json()["token"]["user"]["name"] == "demo"
    nocat = admin_session.get(f"{identity_url}/auth/tokens?nocatalog",
                              headers={"X-Subject-Token": subject}).json()["token"]
    assert "catalog" not in nocat
    assert admin_session.head(f"{identity_url}/auth/tokens",
                              headers={"X-Subject-Token": subject}).status_code == 200
    # a user may validate and revoke their own token
    assert demo.get(f"{identity_url}/auth/tokens",
                    headers={"X-Subject-Token": subject}).status_code == 200
    assert demo.delete(f"{identity_url}/auth/tokens",
                       headers={"X-Subject-Token": subject}).status_code == 204
    r = admin_session.get(f"{identity_url}/auth/tokens", headers={"X-Subject-Token": subject},
                          raise_exc=False)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == 404
    r = admin_session.head(f"{identity_url}/auth/tokens", headers={"X-Subject-Token": subject},
                           raise_exc=False)
    assert r.status_code == 404
    # the revoked token no longer authenticates anything
    r = ksa_session_mod.Session().get(f"{identity_url}/auth/projects",
                                      headers={"X-Auth-Token": subject}, raise_exc=False)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Keystone uri=")


def test_other_users_token_cannot_be_validated_by_a_member(admin_session, identity_url, server):
    _, user = _new_user(admin_session, identity_url, password="pw-x")
    project, _ = _new_user(admin_session, identity_url)
    demo = ksa_session(server, "demo", server.password("demo"), "demo")
    admin_token = admin_session.get_token()
    r = demo.get(f"{identity_url}/auth/tokens", headers={"X-Subject-Token": admin_token},
                 raise_exc=False)
    assert r.status_code == 403


def test_token_rescope_and_unscoped(server, identity_url):
    unscoped = v3.Password(auth_url=server.auth_url, username="demo",
                           password=server.password("demo"), user_domain_id="default",
                           unscoped=True)
    sess = ksa_session_mod.Session(auth=unscoped)
    access = sess.auth.get_access(sess)
    assert not access.project_scoped and not access.domain_scoped
    projects = sess.get(f"{identity_url}/auth/projects").json()["projects"]
    assert [p["name"] for p in projects] == ["demo"]
    rescoped = v3.Token(auth_url=server.auth_url, token=access.auth_token,
                        project_id=projects[0]["id"])
    rs = ksa_session_mod.Session(auth=rescoped)
    racc = rs.auth.get_access(rs)
    assert racc.project_id == projects[0]["id"]
    assert set(racc._data["token"]["methods"]) == {"token", "password"}
    assert racc.expires == access.expires  # a rescoped token keeps its parent's expiry
    assert racc.audit_chain_id == access.audit_id  # the chain leads back to the parent


def test_default_project_scope(server, admin_session, identity_url):
    project, user = _new_user(admin_session, identity_url, password="pw-d")
    admin_session.patch(f"{identity_url}/users/{user['id']}",
                        json={"user": {"default_project_id": project["id"]}})
    plugin = v3.Password(auth_url=server.auth_url, user_id=user["id"], password="pw-d")
    s = ksa_session_mod.Session(auth=plugin)
    assert s.auth.get_access(s).project_id == project["id"]


def test_domain_scoped_token(server, admin_session, identity_url):
    admin = admin_session.get(f"{identity_url}/users", params={"name": "admin"}).json()["users"][0]
    role = admin_session.get(f"{identity_url}/roles", params={"name": "admin"}).json()["roles"][0]
    admin_session.put(f"{identity_url}/domains/default/users/{admin['id']}/roles/{role['id']}")
    plugin = v3.Password(auth_url=server.auth_url, username="admin",
                         password=server.password("admin"), user_domain_id="default",
                         domain_id="default")
    s = ksa_session_mod.Session(auth=plugin)
    access = s.auth.get_access(s)
    assert access.domain_scoped and access.domain_id == "default"
    assert "admin" in access.role_names


def test_wrong_password_and_unknown_user_look_the_same(server):
    answers = []
    for user, password in (("demo", "wrong"), (unique("nobody"), "wrong")):
        plugin = v3.Password(auth_url=server.auth_url, username=user, password=password,
                             user_domain_id="default", project_name="demo",
                             project_domain_id="default")
        with pytest.raises(ksa_exc.Unauthorized) as exc:
            ksa_session_mod.Session(auth=plugin).get_token()
        answers.append((exc.value.http_status, exc.value.response.json()))
    assert answers[0] == answers[1]


def test_disabling_a_user_revokes_their_tokens(server, admin_session, identity_url):
    project, user = _new_user(admin_session, identity_url, password="pw-dis")
    s = ksa_session(server, user["name"], "pw-dis", project["name"])
    token = s.get_token()
    assert s.get(f"{identity_url}/auth/projects").status_code == 200
    admin_session.patch(f"{identity_url}/users/{user['id']}", json={"user": {"enabled": False}})
    r = ksa_session_mod.Session().get(f"{identity_url}/auth/projects",
                                      headers={"X-Auth-Token": token}, raise_exc=False)
    assert r.status_code == 401
    # a disabled user cannot log in, and is told no more than a wrong password
    with pytest.raises(ksa_exc.Unauthorized) as exc:
        ksa_session(server, user["name"], "pw-dis", project["name"]).get_token()
    assert exc.value.response.json()["error"]["message"] == \
        "The request you have made requires authentication."
    # re-enabling does not bring the old token back
    admin_session.patch(f"{identity_url}/users/{user['id']}", json={"user": {"enabled": True}})
    r = ksa_session_mod.Session().get(f"{identity_url}/auth/projects",
                                      headers={"X-Auth-Token": token}, raise_exc=False)
    assert r.status_code == 401


def test_password_change_revokes_and_new_password_works(server, admin_session, identity_url):
    project, user = _new_user(admin_session, identity_url, password="old-pw")
    s = ksa_session(server, user["name"], "old-pw", project["name"])
    token = s.get_token()
    r = s.post(f"{identity_url}/users/{user['id']}/password",
               json={"user": {"original_password": "old-pw", "password": "new-pw"}})
    assert r.status_code == 204
    r = ksa_session_mod.Session().get(f"{identity_url}/auth/projects",
                                      headers={"X-Auth-Token": token}, raise_exc=False)
    assert r.status_code == 401
    fresh = ksa_session(server, user["name"], "new-pw", project["name"])
    assert fresh.get(f"{identity_url}/auth/projects").status_code == 200
    with pytest.raises(ksa_exc.Unauthorized):
        ksa_session(server, user["name"], "old-pw", project["name"]).get_token()


def test_deleted_user_and_disabled_project_tokens_fail(server, admin_session, identity_url):
    project, user = _new_user(admin_session, identity_url, password="pw-del")
    token = ksa_session(server, user["name"], "pw-del", project["name"]).get_token()
    admin_session.patch(f"{identity_url}/projects/{project['id']}",
                        json={"project": {"enabled": False}})
    r = ksa_session_mod.Session().get(f"{identity_url}/auth/projects",
                                      headers={"X-Auth-Token": token}, raise_exc=False)
    assert r.status_code == 401
    with pytest.raises(ksa_exc.Unauthorized):
        ksa_session(server, user["name"], "pw-del", project["name"]).get_token()
    admin_session.delete(f"{identity_url}/users/{user['id']}")
    with pytest.raises(ksa_exc.Unauthorized):
        ksa_session(server, user["name"], "pw-del", None).get_token()


def test_application_credential_plugin(server, demo_session, identity_url):
    me = demo_session.get_user_id()
    r = demo_session.post(f"{identity_url}/users/{me}/application_credentials", json={
        "application_credential": {"name": unique("ac"), "roles": [{"name": "reader"}]}})
    assert r.status_code == 201
    cred = r.json()["application_credential"]
    assert [x["name"] for x in cred["roles"]] == ["reader"]
    plugin = v3.ApplicationCredential(auth_url=server.auth_url,
                                      application_credential_id=cred["id"],
                                      application_credential_secret=cred["secret"])
    s = ksa_session_mod.Session(auth=plugin)
    access = s.auth.get_access(s)
    assert access.role_names == ["reader"]
    assert access.project_id == demo_session.get_project_id()
    # nor can its token be traded for a token of wider scope
    rescope = v3.Token(auth_url=server.auth_url, token=s.get_token(),
                       project_id=demo_session.get_project_id())
    with pytest.raises(ksa_exc.Forbidden):
        ksa_session_mod.Session(auth=rescope).get_token()
    # a restricted application credential cannot make another one
    r = s.post(f"{identity_url}/users/{me}/application_credentials",
               json={"application_credential": {"name": unique("ac")}}, raise_exc=False)
    assert r.status_code == 403
    # by name + user, and the wrong secret
    plugin = v3.ApplicationCredential(auth_url=server.auth_url,
                                      application_credential_name=cred["name"],
                                      user_id=me, application_credential_secret="nope")
    with pytest.raises(ksa_exc.Unauthorized):
        ksa_session_mod.Session(auth=plugin).get_token()
