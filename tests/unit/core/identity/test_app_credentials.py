"""core/identity/app_credentials.py: credentials for oneself, in the token's
project, with a subset of its roles; the secret shown once and stored hashed;
authentication with one gives a token limited to those roles."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import errors
from core.db.base import utcnow
from core.identity.app_credentials import AppCredentialService
from core.identity.models import ApplicationCredential


@pytest.fixture
def creds(identity) -> AppCredentialService:
    return identity.app_credentials


def app_cred_auth(cred_id: str, secret: str) -> dict:
    return {"identity": {"methods": ["application_credential"],
                         "application_credential": {"id": cred_id, "secret": secret}}}


def test_create_stores_only_a_hash(identity, creds, demo, db):
    cred, secret, roles = creds.create(demo, demo.user_id or "", "ci")
    assert len(secret) > 60 and sorted(r.name for r in roles) == ["member", "reader"]
    assert (cred.project_id, cred.unrestricted) == (demo.project_id, False)
    with db.session() as s:
        stored = s.get(ApplicationCredential, cred.id).secret_hash
    assert secret not in stored and identity.hasher.verify(secret, stored)
    given = creds.create(demo, demo.user_id or "", "mine", secret="my-own-secret")[1]
    assert given == "my-own-secret"


def test_a_token_from_a_credential_has_its_roles_only(identity, creds, demo):
    cred, secret, _ = creds.create(demo, demo.user_id or "", "readonly",
                                   roles=[{"name": "reader"}])
    token = identity.tokens.authenticate(app_cred_auth(cred.id, secret))
    assert token.project.id == demo.project_id and [r.name for r in token.roles] == ["reader"]
    assert token.app_cred.id == cred.id
    assert [r.name for r in creds.roles_of(cred)] == ["reader"]
    with pytest.raises(errors.Unauthorized):
        identity.tokens.authenticate(app_cred_auth(cred.id, secret + "x"))
    with pytest.raises(errors.Forbidden, match="cannot be used to obtain another token"):
        identity.tokens.authenticate({"identity": {"methods": ["token"],
                                                   "token": {"id": token.id}}})
    with pytest.raises(errors.Forbidden, match="restricted application credential"):
        creds.create(token.context(), demo.user_id or "", "child")


def test_create_refusals(creds, demo, admin):
    user = demo.user_id or ""
    with pytest.raises(errors.Forbidden):
        creds.create(demo, admin.user_id or "", "theirs")
    with pytest.raises(errors.Forbidden, match="^Cannot delegate role admin: the current "
                                               "token does not have it.$"):
        creds.create(demo, user, "escalate", roles=[{"name": "admin"}])
    with pytest.raises(errors.InvalidInput, match="must be in the future"):
        creds.create(demo, user, "old", expires_at=utcnow() - timedelta(minutes=1))
    creds.create(demo, user, "ci")
    with pytest.raises(errors.Conflict, match="Duplicate entry found with name ci.$"):
        creds.create(demo, user, "ci")


def test_an_expired_credential_does_not_authenticate(identity, creds, demo, db):
    cred, secret, _ = creds.create(demo, demo.user_id or "", "short",
                                   expires_at=utcnow() + timedelta(hours=1))
    with db.session() as s:
        s.get(ApplicationCredential, cred.id).expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(errors.Unauthorized):
        identity.tokens.authenticate(app_cred_auth(cred.id, secret))


def test_list_get_delete(creds, demo, admin):
    user = demo.user_id or ""
    a = creds.create(demo, user, "a")[0]
    creds.create(demo, user, "b")
    assert [c.name for c in creds.list(demo, user)] == ["a", "b"]
    assert [c.name for c in creds.list(demo, user, name="b")] == ["b"]
    assert creds.get(demo, user, a.id).name == "a"
    with pytest.raises(errors.NotFound, match=f"^Could not find application credential: "
                                              f"{a.id}.$"):
        creds.get(admin, admin.user_id or "", a.id)  # not the admin's own
    creds.delete(demo, user, a.id)
    assert [c.name for c in creds.list(demo, user)] == ["b"]
    with pytest.raises(errors.NotFound):
        creds.delete(demo, user, a.id)
    with pytest.raises(errors.Forbidden):
        creds.list(demo, admin.user_id or "")
