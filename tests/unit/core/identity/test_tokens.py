"""core/identity/tokens.py: authentication by password (and re-scoping by
token) into scoped or unscoped tokens with the effective roles, validation
against the database's current state, and revocation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import errors
from core.db.base import utcnow
from core.identity.fernet import TokenPayload, new_audit_id
from core.identity.tokens import AUTH_FAILED, TokenService


@pytest.fixture
def tokens(identity) -> TokenService:
    return identity.tokens


def password_auth(name: str, password: str, **scope) -> dict:
    auth: dict = {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "domain": {"name": "Default"}, "password": password}}}}
    if scope:
        auth["scope"] = scope
    return auth


def test_password_gives_a_project_token_with_effective_roles(tokens, boot, login):
    token = login("admin", boot.admin_password)
    assert sorted(r.name for r in token.roles) == ["admin", "member", "reader"]
    assert token.project.name == "admin" and token.methods == ("password",)
    assert len(token.audit_ids) == 1 and token.expires_at > utcnow() + timedelta(minutes=30)
    ctx = token.context(is_admin=True, request_id="req-1")
    assert (ctx.user_name, ctx.project_name, ctx.is_admin, ctx.request_id) == \
        ("admin", "admin", True, "req-1")
    again = tokens.validate(token.id)
    assert (again.user.id, [r.name for r in again.roles]) == \
        (token.user.id, [r.name for r in token.roles])


def test_without_a_scope_the_default_project_is_used(tokens, boot, admin, identity, login):
    assert login("demo", boot.demo_password, project=None).project.name == "demo"
    bob = identity.users.create_user(admin, "bob", password="pw-of-bob")
    token = login("bob", "pw-of-bob", project=None)
    assert (token.user.id, token.project, token.roles) == (bob.id, None, [])
    assert tokens.validate(token.id).project is None  # an unscoped token


@pytest.mark.parametrize("user", [{"name": "demo", "password": "wrong"},
                                  {"name": "ghost", "password": "x"},
                                  {"id": "ghost", "password": "x"}])
def test_bad_credentials(tokens, user):
    body = {"identity": {"methods": ["password"], "password": {"user": {
        **user, "domain": {"id": "default"}}}}}
    with pytest.raises(errors.Unauthorized, match=f"^{AUTH_FAILED}$"):
        tokens.authenticate(body)


def test_a_disabled_user_cannot_authenticate(tokens, boot, identity, admin, demo, login):
    identity.users.update_user(admin, demo.user_id or "", {"enabled": False})
    with pytest.raises(errors.Unauthorized, match=f"^{AUTH_FAILED}$"):  # tells nothing more
        login("demo", boot.demo_password)


def test_scope_needs_a_role_and_an_enabled_project(tokens, boot, identity, admin, login):
    with pytest.raises(errors.Unauthorized, match="has no access to project"):
        login("demo", boot.demo_password, "admin")
    with pytest.raises(errors.Unauthorized, match="^Could not find project: nope.$"):
        login("demo", boot.demo_password, "nope")
    demo_project = identity.resources.list_projects(admin, name="demo")[0]
    identity.resources.update_project(admin, demo_project.id, {"enabled": False})
    with pytest.raises(errors.Unauthorized, match="is disabled.$"):
        login("demo", boot.demo_password)
    with pytest.raises(errors.Unauthorized, match="no access to the system"):
        login("admin", boot.admin_password, system={"all": True})


def test_a_domain_scoped_token(tokens, boot, identity, admin, login):
    with pytest.raises(errors.Unauthorized, match="has no access to domain"):
        login("admin", boot.admin_password, domain={"id": "default"})
    reader = identity.assignments.list_roles(admin, name="reader")[0].id
    identity.assignments.create_grant(admin, reader, user_id=admin.user_id,
                                      domain_id="default")
    token = login("admin", boot.admin_password, domain={"id": "default"})
    assert [r.name for r in token.roles] == ["reader"]
    assert token.domain.id == "default" and token.project is None
    with pytest.raises(errors.Unauthorized, match="has no access to domain"):
        login("demo", boot.demo_password, domain={"name": "Default"})


@pytest.mark.parametrize(("auth", "error"), [
    ({"identity": {"methods": []}}, errors.InvalidInput),
    ({"identity": {"methods": ["totp"], "totp": {}}}, errors.Unauthorized),
    ({"identity": {"methods": ["password"]}}, errors.InvalidInput),
    (password_auth("demo", "x", project={"name": "demo"}), errors.InvalidInput),
    (password_auth("demo", "x", galaxy={"id": "x"}), errors.InvalidInput),
    ({"identity": {"methods": ["password"], "password": {"user": {"name": "demo",
                                                                  "password": "x"}}}},
     errors.InvalidInput),
])
def test_malformed_requests(tokens, boot, auth, error):
    with pytest.raises(error):
        tokens.authenticate(auth)


def test_rescoping_by_token_keeps_the_expiry_and_the_audit_chain(tokens, boot):
    first = tokens.authenticate(password_auth("admin", boot.admin_password))
    assert first.project is not None  # the admin's default project
    rescoped = tokens.authenticate({"identity": {"methods": ["token"],
                                                 "token": {"id": first.id}},
                                    "scope": {"project": {"id": first.project.id}}})
    assert rescoped.id != first.id and rescoped.expires_at == first.expires_at
    assert rescoped.audit_ids[1] == first.audit_ids[0]
    assert set(rescoped.methods) == {"password", "token"}


def test_revoke(tokens, demo_token, demo, admin):
    tokens.revoke(demo, demo_token.id, caller=demo_token)
    with pytest.raises(errors.Unauthorized, match="^The token has been revoked.$"):
        tokens.validate(demo_token.id)
    with pytest.raises(errors.NotFound, match="^Could not find token"):
        tokens.validate_subject(admin, demo_token.id, "identity:validate_token")


def test_validate_subject_is_the_subjects_or_an_admins(tokens, boot, demo_token, demo, admin,
                                                       login):
    assert tokens.validate_subject(admin, demo_token.id, "identity:validate_token").user.id \
        == demo.user_id
    admin_token = login("admin", boot.admin_password)
    with pytest.raises(errors.Forbidden):
        tokens.validate_subject(demo, admin_token.id, "identity:validate_token")
    with pytest.raises(errors.NotFound):
        tokens.validate_subject(admin, "garbage", "identity:validate_token")


def test_expired_tokens(tokens, demo):
    token_id = tokens.formatter.create(TokenPayload(
        user_id=demo.user_id or "", methods=("password",), project_id=demo.project_id,
        expires_at=utcnow() - timedelta(seconds=5), audit_ids=(new_audit_id(),)))
    with pytest.raises(errors.Unauthorized, match="^The token has expired.$"):
        tokens.validate(token_id)
    assert tokens.validate(token_id, allow_expired=True).project.name == "demo"


def test_validation_reads_the_current_state(tokens, identity, admin, demo_token, demo):
    admin_id = identity.assignments.list_roles(admin, name="admin")[0].id
    identity.assignments.create_grant(admin, admin_id, user_id=demo.user_id,
                                      project_id=demo.project_id)
    assert "admin" in [r.name for r in tokens.validate(demo_token.id).roles]
    identity.resources.update_project(admin, demo.project_id or "", {"enabled": False})
    with pytest.raises(errors.Unauthorized, match="^The token's project is disabled.$"):
        tokens.validate(demo_token.id)


def test_project_context_and_auth_listings(tokens, demo):
    ctx = tokens.project_context(demo.user_id or "", demo.project_id or "", ("ec2credential",))
    assert (ctx.project_name, sorted(ctx.roles), ctx.auth_methods) == \
        ("demo", ["member", "reader"], ("ec2credential",))
    assert [p.name for p in tokens.auth_projects(demo)] == ["demo"]
    assert tokens.auth_domains(demo) == []
