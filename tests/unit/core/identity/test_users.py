"""core/identity/users.py: users (passwords stored hashed, tokens revoked when a
user is disabled, deleted or changes password), groups and membership."""

from __future__ import annotations

import pytest

from core import errors
from core.identity.models import User
from core.identity.users import UserService


@pytest.fixture
def users(identity) -> UserService:
    return identity.users


def grant_member(identity, admin, user_id: str, project: str = "demo") -> None:
    role = identity.assignments.list_roles(admin, name="member")[0]
    project_id = identity.resources.list_projects(admin, name=project)[0].id
    identity.assignments.create_grant(admin, role.id, user_id=user_id, project_id=project_id)


def test_the_stored_hash_is_not_the_password(identity, users, admin, db):
    made = users.create_user(admin, "bob", password="s3cret-pass", email="bob@example.org")
    with db.session() as s:
        stored = s.get(User, made.id).password_hash
    assert stored and "s3cret-pass" not in stored and stored.startswith("$2b$04$")
    assert identity.hasher.verify("s3cret-pass", stored)
    assert not identity.hasher.verify("s3cret-pasS", stored)
    assert made.password_changed_at is not None
    assert users.create_user(admin, "nopass").password_hash is None


def test_create_refusals(users, admin, demo):
    users.create_user(admin, "bob")
    with pytest.raises(errors.Conflict, match="Duplicate entry found with name bob at domain "
                                              "ID default.$"):
        users.create_user(admin, "bob")
    with pytest.raises(errors.NotFound, match="^Could not find domain: ghost.$"):
        users.create_user(admin, "carol", domain_id="ghost")
    with pytest.raises(errors.NotFound, match="^Could not find project: ghost.$"):
        users.create_user(admin, "carol", default_project_id="ghost")
    with pytest.raises(errors.InvalidInput, match="^Invalid password"):
        users.create_user(admin, "carol", password="x" * 4097)
    with pytest.raises(errors.Forbidden):
        users.create_user(demo, "carol")


def test_read_update_list(users, admin, demo):
    bob = users.create_user(admin, "bob", description="d")
    users.update_user(admin, bob.id, {"name": "robert", "extra": {"team": "ops"}})
    got = users.get_user(admin, bob.id)
    assert (got.name, got.description, got.extra) == ("robert", "d", {"team": "ops"})
    assert [u.name for u in users.list_users(admin)] == ["admin", "demo", "robert"]
    assert [u.name for u in users.list_users(admin, name="demo")] == ["demo"]
    assert users.get_user(demo, demo.user_id or "").name == "demo"  # one's own
    with pytest.raises(errors.Forbidden):
        users.get_user(demo, bob.id)
    with pytest.raises(errors.InvalidInput, match="^Update of `domain_id` is not allowed.$"):
        users.update_user(admin, bob.id, {"domain_id": "other"})
    with pytest.raises(errors.NotFound, match="^Could not find user: ghost.$"):
        users.update_user(admin, "ghost", {"name": "x"})


def test_disabling_a_user_revokes_its_tokens(identity, users, admin, login):
    bob = users.create_user(admin, "bob", password="pw-bob-1")
    grant_member(identity, admin, bob.id)
    token = login("bob", "pw-bob-1", "demo")
    users.update_user(admin, bob.id, {"enabled": False})
    with pytest.raises(errors.Unauthorized):
        identity.tokens.validate(token.id)
    with pytest.raises(errors.Unauthorized):
        login("bob", "pw-bob-1", "demo")


def test_change_password(identity, users, admin, login):
    bob = users.create_user(admin, "bob", password="old-password")
    grant_member(identity, admin, bob.id)
    token = login("bob", "old-password", "demo")
    ctx = token.context()
    with pytest.raises(errors.Unauthorized):
        users.change_password(ctx, bob.id, "wrong", "new-password")
    with pytest.raises(errors.Forbidden):  # only one's own
        users.change_password(ctx, admin.user_id or "", "x", "y")
    users.change_password(ctx, bob.id, "old-password", "new-password")
    with pytest.raises(errors.Unauthorized, match="revoked"):
        identity.tokens.validate(token.id)
    with pytest.raises(errors.Unauthorized):
        login("bob", "old-password", "demo")
    assert login("bob", "new-password", "demo").user.id == bob.id


def test_delete_user(identity, users, admin):
    bob = users.create_user(admin, "bob")
    grant_member(identity, admin, bob.id)
    group = users.create_group(admin, "ops")
    users.add_user_to_group(admin, group.id, bob.id)
    users.delete_user(admin, bob.id)
    with pytest.raises(errors.NotFound):
        users.get_user(admin, bob.id)
    assert users.list_users_in_group(admin, group.id) == []
    assert identity.role_assignments.list_assignments(admin, user_id=bob.id) == []


# ---------------------------------------------------------------- groups

def test_group_lifecycle(users, admin):
    group = users.create_group(admin, "ops", description="operators")
    with pytest.raises(errors.Conflict, match="Duplicate entry found with name ops"):
        users.create_group(admin, "ops")
    users.update_group(admin, group.id, {"name": "sre"})
    assert [g.name for g in users.list_groups(admin)] == ["sre"]
    assert users.get_group(admin, group.id).description == "operators"
    with pytest.raises(errors.InvalidInput):
        users.update_group(admin, group.id, {"domain_id": "other"})
    users.delete_group(admin, group.id)
    with pytest.raises(errors.NotFound, match=f"^Could not find group: {group.id}.$"):
        users.get_group(admin, group.id)


def test_membership(users, admin, demo):
    group = users.create_group(admin, "ops")
    bob, carol = users.create_user(admin, "bob"), users.create_user(admin, "carol")
    users.add_user_to_group(admin, group.id, carol.id)
    users.add_user_to_group(admin, group.id, bob.id)
    users.add_user_to_group(admin, group.id, bob.id)  # again: no change
    assert [u.name for u in users.list_users_in_group(admin, group.id)] == ["bob", "carol"]
    assert [g.name for g in users.list_groups_for_user(admin, bob.id)] == ["ops"]
    users.check_user_in_group(admin, group.id, bob.id)
    users.remove_user_from_group(admin, group.id, bob.id)
    for call in (users.check_user_in_group, users.remove_user_from_group):
        with pytest.raises(errors.NotFound, match=f"^User {bob.id} is not a member of group "):
            call(admin, group.id, bob.id)
    with pytest.raises(errors.NotFound, match="^Could not find user: ghost.$"):
        users.add_user_to_group(admin, group.id, "ghost")
    with pytest.raises(errors.Forbidden):
        users.add_user_to_group(demo, group.id, demo.user_id or "")
