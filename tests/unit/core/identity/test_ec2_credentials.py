"""core/identity/ec2_credentials.py: EC2 access/secret pairs per user and
project (stored encrypted), and tokens for requests signed with them
(``/v3/ec2tokens``); the signature algorithms: test_ec2_signature.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from keystoneclient.contrib.ec2.utils import Ec2Signer

from core import errors
from core.db.base import utcnow
from core.identity.ec2_credentials import Ec2Credential, Ec2CredentialService, credential_id
from core.identity.models import Credential


@pytest.fixture
def ec2(identity) -> Ec2CredentialService:
    return identity.ec2


def signed(cred: Ec2Credential, age: timedelta = timedelta(0)) -> dict:
    """The ec2tokens body for a SigV2 DescribeInstances signed with ``cred``."""
    params = {"Action": "DescribeInstances", "AWSAccessKeyId": cred.access,
              "SignatureMethod": "HmacSHA256", "SignatureVersion": "2",
              "Timestamp": (utcnow() - age).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "Version": "2016-11-15"}
    body = {"access": cred.access, "host": "cloud.example:8080", "verb": "GET",
            "path": "/ec2/", "params": params}
    body["signature"] = Ec2Signer(cred.secret).generate(dict(body))
    return {"credentials": body}


def test_create_stores_the_secret_encrypted(ec2, demo, db):
    cred = ec2.create(demo, demo.user_id or "", demo.project_id or "")
    assert len(cred.access) == len(cred.secret) == 32
    with db.session() as s:
        row = s.get(Credential, credential_id(cred.access))
    assert row.type == "ec2" and row.project_id == demo.project_id
    assert cred.secret not in row.encrypted_blob and cred.access not in row.encrypted_blob
    assert ec2.resolve(cred.access) == cred


def test_list_get_delete(ec2, boot, demo, admin):
    user = demo.user_id or ""
    made = ec2.create(demo, user, demo.project_id or "")
    assert [c.access for c in ec2.list(demo, user)] == [boot.demo_ec2.access, made.access]
    assert ec2.get(demo, user, made.access).secret == made.secret
    with pytest.raises(errors.NotFound, match=f"^Could not find credential: {made.access}.$"):
        ec2.get(admin, admin.user_id or "", made.access)  # not the admin's
    ec2.delete(demo, user, made.access)
    with pytest.raises(errors.NotFound):
        ec2.get(demo, user, made.access)
    with pytest.raises(errors.Unauthorized, match="^EC2 access key not found.$"):
        ec2.resolve(made.access)


def test_only_the_owner_or_an_admin(ec2, demo, admin):
    with pytest.raises(errors.Forbidden):
        ec2.create(demo, admin.user_id or "", admin.project_id or "")
    with pytest.raises(errors.Forbidden):
        ec2.list(demo, admin.user_id or "")
    assert ec2.create(admin, demo.user_id or "", demo.project_id or "").user_id == demo.user_id


def test_store_needs_a_user_and_a_project(ec2, demo):
    with pytest.raises(errors.NotFound, match="^Could not find project: ghost.$"):
        ec2.store(demo.user_id or "", "ghost")
    with pytest.raises(errors.NotFound, match="^Could not find user: ghost.$"):
        ec2.store("ghost", demo.project_id or "")


def test_a_signed_request_gets_a_project_token(ec2, boot, demo):
    token = ec2.authenticate(signed(boot.demo_ec2))
    assert (token.user.id, token.project.id) == (demo.user_id, demo.project_id)
    assert token.methods == ("ec2credential",)
    assert sorted(r.name for r in token.roles) == ["member", "reader"]


def test_bad_or_stale_signatures_are_refused(ec2, boot):
    body = signed(boot.demo_ec2)
    good = body["credentials"]["signature"]
    body["credentials"]["signature"] = ("B" if good[0] == "A" else "A") + good[1:]
    with pytest.raises(errors.Unauthorized):
        ec2.authenticate(body)
    with pytest.raises(errors.Unauthorized):
        ec2.authenticate(signed(boot.demo_ec2, age=timedelta(hours=1)))
    with pytest.raises(errors.InvalidInput, match="access key"):
        ec2.authenticate({"credentials": {"signature": "x"}})


def test_ec2tokens_needs_a_service_or_an_admin(ec2, boot, demo, admin):
    with pytest.raises(errors.Forbidden):
        ec2.validate_for(demo, signed(boot.demo_ec2))
    assert ec2.validate_for(admin, signed(boot.demo_ec2)).user.id == demo.user_id


def test_context_and_token_follow_the_users_state(ec2, identity, boot, demo, admin):
    ctx = ec2.context_for(boot.demo_ec2, request_id="req-9")
    assert (ctx.user_id, ctx.project_id, ctx.request_id, ctx.auth_methods) == \
        (demo.user_id, demo.project_id, "req-9", ("ec2credential",))
    identity.users.update_user(admin, demo.user_id or "", {"enabled": False})
    with pytest.raises(errors.Unauthorized):
        ec2.context_for(boot.demo_ec2)
    with pytest.raises(errors.Unauthorized):
        ec2.token_for(boot.demo_ec2)
