"""The identity services against a real database: the same tests on every backend.

Each test runs on a fresh, bootstrapped database (see conftest.py) as the
bootstrap admin, through the services' public methods.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text

from core import errors
from core.apis import SERVED_APIS
from core.db.base import utcnow
from core.db.queries import commit_unique
from core.identity.bootstrap import bootstrap
from core.identity.models import (
    ApplicationCredential,
    Credential,
    Group,
    Project,
    RevocationEvent,
    Role,
    User,
)

PASSWORD = "correct horse battery staple"
UNICODE_NAME = "проект-名前-🚀"  # Cyrillic, CJK and a 4-byte character (utf8mb4)


# ---- helpers -------------------------------------------------------------

def count(db, model, **where) -> int:
    with db.session() as s:
        q = select(func.count()).select_from(model)
        for column, value in where.items():
            q = q.where(getattr(model, column) == value)
        return s.scalar(q)


def role_id(identity, ctx, name: str) -> str:
    (role,) = identity.assignments.list_roles(ctx, name=name)
    return role.id


def password_auth(user_id: str, password: str, project_id: str | None = None) -> dict:
    auth: dict = {"identity": {"methods": ["password"],
                               "password": {"user": {"id": user_id, "password": password}}}}
    if project_id:
        auth["scope"] = {"project": {"id": project_id}}
    return auth


def member_of_new_project(identity, ctx, name: str = "alice"):
    """A new user holding ``member`` on a new project: (user, project)."""
    project = identity.resources.create_project(ctx, f"{name}-project")
    user = identity.users.create_user(ctx, name, password=PASSWORD)
    identity.assignments.create_grant(ctx, role_id(identity, ctx, "member"),
                                      user_id=user.id, project_id=project.id)
    return user, project


def project_token(identity, user, project, password: str = PASSWORD):
    return identity.tokens.authenticate(password_auth(user.id, password, project.id))


# ---- projects --------------------------------------------------------------

def test_created_project_can_be_read_back(identity, admin_ctx):
    created = identity.resources.create_project(admin_ctx, "web", description="front end",
                                                tags=["a", "b"], extra={"k": "v"})
    project = identity.resources.get_project(admin_ctx, created.id)
    assert (project.name, project.domain_id, project.description) == ("web", "default",
                                                                       "front end")
    assert project.enabled is True
    assert (project.tags, project.extra) == (["a", "b"], {"k": "v"})


def test_projects_list_filters_by_name(identity, admin_ctx):
    identity.resources.create_project(admin_ctx, "web")
    identity.resources.create_project(admin_ctx, "db")
    assert [p.name for p in identity.resources.list_projects(admin_ctx, name="web")] == ["web"]
    names = {p.name for p in identity.resources.list_projects(admin_ctx)}
    assert {"admin", "demo", "web", "db"} <= names


def test_project_update_is_stored(identity, admin_ctx):
    p = identity.resources.create_project(admin_ctx, "web")
    identity.resources.update_project(admin_ctx, p.id, {"name": "www", "enabled": False,
                                                        "tags": ["x"], "extra": {"k": 1}})
    stored = identity.resources.get_project(admin_ctx, p.id)
    assert (stored.name, stored.enabled, stored.tags, stored.extra) == ("www", False, ["x"],
                                                                        {"k": 1})


def test_deleted_project_is_gone(identity, admin_ctx):
    p = identity.resources.create_project(admin_ctx, "web")
    identity.resources.delete_project(admin_ctx, p.id)
    with pytest.raises(errors.NotFound):
        identity.resources.get_project(admin_ctx, p.id)


def test_deleting_a_default_project_clears_it_on_users(identity, admin_ctx):
    p = identity.resources.create_project(admin_ctx, "web")
    u = identity.users.create_user(admin_ctx, "alice", default_project_id=p.id)
    identity.resources.delete_project(admin_ctx, p.id)
    assert identity.users.get_user(admin_ctx, u.id).default_project_id is None


def test_child_project_inherits_the_parent_domain(identity, admin_ctx):
    parent = identity.resources.create_project(admin_ctx, "parent")
    child = identity.resources.create_project(admin_ctx, "child", parent_id=parent.id)
    assert (child.parent_id, child.domain_id) == (parent.id, "default")
    assert [p.id for p in identity.resources.list_projects(admin_ctx, parent_id=parent.id)] \
        == [child.id]


# ---- users and groups ------------------------------------------------------

def test_created_user_can_be_read_back_without_its_password(identity, admin_ctx):
    created = identity.users.create_user(admin_ctx, "alice", password=PASSWORD,
                                         email="alice@example.org", extra={"team": "x"})
    user = identity.users.get_user(admin_ctx, created.id)
    assert (user.name, user.email, user.extra) == ("alice", "alice@example.org", {"team": "x"})
    assert PASSWORD not in (user.password_hash or "")


def test_users_list_filters_by_name_and_enabled(identity, admin_ctx):
    identity.users.create_user(admin_ctx, "alice")
    identity.users.create_user(admin_ctx, "bob", enabled=False)
    assert [u.name for u in identity.users.list_users(admin_ctx, name="alice")] == ["alice"]
    assert [u.name for u in identity.users.list_users(admin_ctx, enabled=False)] == ["bob"]


def test_user_update_is_stored(identity, admin_ctx):
    u = identity.users.create_user(admin_ctx, "alice")
    identity.users.update_user(admin_ctx, u.id, {"name": "alicia", "description": "d",
                                                 "extra": {"k": "v"}})
    stored = identity.users.get_user(admin_ctx, u.id)
    assert (stored.name, stored.description, stored.extra) == ("alicia", "d", {"k": "v"})


def test_deleted_user_is_gone_with_its_memberships(identity, admin_ctx):
    u = identity.users.create_user(admin_ctx, "alice")
    g = identity.users.create_group(admin_ctx, "devs")
    identity.users.add_user_to_group(admin_ctx, g.id, u.id)
    identity.users.delete_user(admin_ctx, u.id)
    with pytest.raises(errors.NotFound):
        identity.users.get_user(admin_ctx, u.id)
    assert identity.users.list_users_in_group(admin_ctx, g.id) == []


def test_group_membership_is_stored(identity, admin_ctx):
    u = identity.users.create_user(admin_ctx, "alice")
    g = identity.users.create_group(admin_ctx, "devs", description="developers")
    identity.users.add_user_to_group(admin_ctx, g.id, u.id)
    identity.users.add_user_to_group(admin_ctx, g.id, u.id)  # adding twice is harmless
    identity.users.check_user_in_group(admin_ctx, g.id, u.id)
    assert [x.id for x in identity.users.list_users_in_group(admin_ctx, g.id)] == [u.id]
    assert [x.id for x in identity.users.list_groups_for_user(admin_ctx, u.id)] == [g.id]


def test_group_update_and_delete(identity, admin_ctx):
    g = identity.users.create_group(admin_ctx, "devs")
    identity.users.update_group(admin_ctx, g.id, {"name": "ops", "description": "d"})
    assert identity.users.get_group(admin_ctx, g.id).name == "ops"
    identity.users.delete_group(admin_ctx, g.id)
    with pytest.raises(errors.NotFound):
        identity.users.get_group(admin_ctx, g.id)


def test_user_removed_from_group_is_no_member(identity, admin_ctx):
    u = identity.users.create_user(admin_ctx, "alice")
    g = identity.users.create_group(admin_ctx, "devs")
    identity.users.add_user_to_group(admin_ctx, g.id, u.id)
    identity.users.remove_user_from_group(admin_ctx, g.id, u.id)
    with pytest.raises(errors.NotFound):
        identity.users.check_user_in_group(admin_ctx, g.id, u.id)


# ---- roles -----------------------------------------------------------------

def test_bootstrap_roles_exist(identity, admin_ctx):
    names = [r.name for r in identity.assignments.list_roles(admin_ctx)]
    assert {"admin", "member", "reader"} <= set(names)


def test_role_create_update_delete(identity, admin_ctx):
    r = identity.assignments.create_role(admin_ctx, "auditor", description="reads logs")
    identity.assignments.update_role(admin_ctx, r.id, {"name": "inspector"})
    assert identity.assignments.get_role(admin_ctx, r.id).name == "inspector"
    identity.assignments.delete_role(admin_ctx, r.id)
    with pytest.raises(errors.NotFound):
        identity.assignments.get_role(admin_ctx, r.id)


def test_deleting_a_role_removes_its_grants(identity, admin_ctx):
    user, project = member_of_new_project(identity, admin_ctx)
    r = identity.assignments.create_role(admin_ctx, "auditor")
    identity.assignments.create_grant(admin_ctx, r.id, user_id=user.id, project_id=project.id)
    identity.assignments.delete_role(admin_ctx, r.id)
    grants = identity.assignments.list_grants(admin_ctx, user_id=user.id, project_id=project.id)
    assert [g.name for g in grants] == ["member"]


# ---- unique names: Conflict, and nothing half-written -------------------------

def test_duplicate_project_name_conflicts_and_stores_nothing(identity, admin_ctx, db):
    identity.resources.create_project(admin_ctx, "web")
    with pytest.raises(errors.Conflict):
        identity.resources.create_project(admin_ctx, "web")
    assert count(db, Project, name="web") == 1
    identity.resources.create_project(admin_ctx, "web2")  # the service still works
    assert count(db, Project, name="web2") == 1


def test_same_project_name_in_another_domain_is_allowed(identity, admin_ctx, db):
    other = identity.resources.create_domain(admin_ctx, "other")
    identity.resources.create_project(admin_ctx, "web")
    identity.resources.create_project(admin_ctx, "web", domain_id=other.id)
    assert count(db, Project, name="web") == 2


def test_duplicate_user_name_conflicts_and_stores_nothing(identity, admin_ctx, db):
    identity.users.create_user(admin_ctx, "alice", password=PASSWORD)
    with pytest.raises(errors.Conflict):
        identity.users.create_user(admin_ctx, "alice", password="other")
    assert count(db, User, name="alice") == 1
    identity.tokens.authenticate(password_auth(
        identity.users.list_users(admin_ctx, name="alice")[0].id, PASSWORD))


def test_duplicate_group_name_conflicts_and_stores_nothing(identity, admin_ctx, db):
    identity.users.create_group(admin_ctx, "devs")
    with pytest.raises(errors.Conflict):
        identity.users.create_group(admin_ctx, "devs")
    assert count(db, Group, name="devs") == 1


def test_duplicate_role_name_conflicts_and_stores_nothing(identity, admin_ctx, db):
    with pytest.raises(errors.Conflict):
        identity.assignments.create_role(admin_ctx, "member")
    assert count(db, Role, name="member") == 1


def test_conflicting_rename_changes_nothing(identity, admin_ctx):
    identity.resources.create_project(admin_ctx, "web")
    p = identity.resources.create_project(admin_ctx, "db", description="before")
    with pytest.raises(errors.Conflict):
        identity.resources.update_project(admin_ctx, p.id, {"name": "web",
                                                            "description": "after"})
    stored = identity.resources.get_project(admin_ctx, p.id)
    assert (stored.name, stored.description) == ("db", "before")


def test_conflict_leaves_the_session_usable(identity, db):
    """After a unique violation the transaction is rolled back, not left aborted
    (PostgreSQL refuses every later statement in an aborted transaction)."""
    with db.session() as s:
        s.add(Role(name="member"))
        with pytest.raises(errors.Conflict):
            commit_unique(s, "duplicate")
        assert s.scalar(select(func.count()).select_from(Role)
                        .where(Role.name == "member")) == 1
        s.add(Role(name="auditor"))
    assert count(db, Role, name="auditor") == 1


def test_duplicate_application_credential_name_conflicts(identity, admin_ctx):
    identity.app_credentials.create(admin_ctx, admin_ctx.user_id, "ci")
    with pytest.raises(errors.Conflict):
        identity.app_credentials.create(admin_ctx, admin_ctx.user_id, "ci")
    assert [c.name for c in identity.app_credentials.list(admin_ctx, admin_ctx.user_id)] \
        == ["ci"]


def test_bootstrap_twice_changes_nothing(identity, settings, db):
    users, roles, creds = count(db, User), count(db, Role), count(db, Credential)
    first = (settings.data_dir / "admin-password").read_text()
    bootstrap(settings, identity, services=SERVED_APIS)
    assert (count(db, User), count(db, Role), count(db, Credential)) == (users, roles, creds)
    assert (settings.data_dir / "admin-password").read_text() == first


# ---- grants and effective roles --------------------------------------------

def test_direct_grant_gives_the_role_and_what_it_implies(identity, admin_ctx, db):
    user, project = member_of_new_project(identity, admin_ctx)
    with db.session() as s:
        effective = identity.assignments.effective_role_ids(s, user.id, project.id)
    assert effective == [role_id(identity, admin_ctx, "member"),
                         role_id(identity, admin_ctx, "reader")]


def test_group_grant_reaches_its_members(identity, admin_ctx):
    project = identity.resources.create_project(admin_ctx, "web")
    user = identity.users.create_user(admin_ctx, "alice", password=PASSWORD)
    group = identity.users.create_group(admin_ctx, "devs")
    identity.users.add_user_to_group(admin_ctx, group.id, user.id)
    identity.assignments.create_grant(admin_ctx, role_id(identity, admin_ctx, "admin"),
                                      group_id=group.id, project_id=project.id)
    token = project_token(identity, user, project)
    assert {r.name for r in token.roles} == {"admin", "member", "reader"}


def test_leaving_the_group_removes_its_roles(identity, admin_ctx, db):
    project = identity.resources.create_project(admin_ctx, "web")
    user = identity.users.create_user(admin_ctx, "alice", password=PASSWORD)
    group = identity.users.create_group(admin_ctx, "devs")
    identity.users.add_user_to_group(admin_ctx, group.id, user.id)
    identity.assignments.create_grant(admin_ctx, role_id(identity, admin_ctx, "reader"),
                                      group_id=group.id, project_id=project.id)
    identity.users.remove_user_from_group(admin_ctx, group.id, user.id)
    with db.session() as s:
        assert identity.assignments.effective_role_ids(s, user.id, project.id) == []


def test_revoked_grant_is_gone(identity, admin_ctx):
    user, project = member_of_new_project(identity, admin_ctx)
    member = role_id(identity, admin_ctx, "member")
    identity.assignments.check_grant(admin_ctx, member, user_id=user.id, project_id=project.id)
    identity.assignments.revoke_grant(admin_ctx, member, user_id=user.id, project_id=project.id)
    with pytest.raises(errors.NotFound):
        identity.assignments.check_grant(admin_ctx, member, user_id=user.id,
                                         project_id=project.id)


def test_new_implied_role_is_effective(identity, admin_ctx, db):
    user, project = member_of_new_project(identity, admin_ctx)
    auditor = identity.assignments.create_role(admin_ctx, "auditor")
    identity.assignments.create_implied_role(admin_ctx, role_id(identity, admin_ctx, "reader"),
                                             auditor.id)
    with db.session() as s:
        assert auditor.id in identity.assignments.effective_role_ids(s, user.id, project.id)


def test_implied_role_loop_is_refused(identity, admin_ctx):
    with pytest.raises(errors.InvalidInput):
        identity.assignments.create_implied_role(
            admin_ctx, role_id(identity, admin_ctx, "reader"),
            role_id(identity, admin_ctx, "admin"))


def test_role_assignments_list_group_grants_directly(identity, admin_ctx):
    project = identity.resources.create_project(admin_ctx, "web")
    group = identity.users.create_group(admin_ctx, "devs")
    member = role_id(identity, admin_ctx, "member")
    identity.assignments.create_grant(admin_ctx, member, group_id=group.id,
                                      project_id=project.id)
    rows = identity.role_assignments.list_assignments(admin_ctx, project_id=project.id)
    assert [(r.role_id, r.group_id, r.user_id) for r in rows] == [(member, group.id, None)]


def test_effective_role_assignments_expand_groups_and_implied_roles(identity, admin_ctx):
    project = identity.resources.create_project(admin_ctx, "web")
    user = identity.users.create_user(admin_ctx, "alice")
    group = identity.users.create_group(admin_ctx, "devs")
    identity.users.add_user_to_group(admin_ctx, group.id, user.id)
    member, reader = role_id(identity, admin_ctx, "member"), role_id(identity, admin_ctx,
                                                                    "reader")
    identity.assignments.create_grant(admin_ctx, member, group_id=group.id,
                                      project_id=project.id)
    rows = identity.role_assignments.list_assignments(admin_ctx, project_id=project.id, effective=True,
                                          include_names=True)
    assert [(r.role_id, r.user_id, r.via_group_id, r.prior_role_id) for r in rows] == [
        (member, user.id, group.id, None), (reader, user.id, group.id, member)]
    names = rows[1].names
    assert names["role"] == {"name": "reader"}
    assert names["user"] == {"name": "alice", "domain": {"id": "default", "name": "Default"}}
    assert names["project"] == {"name": "web", "domain": {"id": "default", "name": "Default"}}


def test_effective_role_assignments_filter_by_user(identity, admin_ctx):
    user, project = member_of_new_project(identity, admin_ctx)
    rows = identity.role_assignments.list_assignments(admin_ctx, user_id=user.id, effective=True)
    assert {(r.project_id, r.role_id) for r in rows} == {
        (project.id, role_id(identity, admin_ctx, "member")),
        (project.id, role_id(identity, admin_ctx, "reader"))}


# ---- tokens ----------------------------------------------------------------

def test_issued_token_validates(identity, admin_ctx):
    user, project = member_of_new_project(identity, admin_ctx)
    token = project_token(identity, user, project)
    valid = identity.tokens.validate(token.id)
    assert (valid.user.id, valid.project.id) == (user.id, project.id)
    assert {r.name for r in valid.roles} == {"member", "reader"}


def test_revoked_token_no_longer_validates(identity, admin_ctx):
    user, project = member_of_new_project(identity, admin_ctx)
    token = project_token(identity, user, project)
    identity.tokens.revoke(admin_ctx, token.id)
    with pytest.raises(errors.Unauthorized):
        identity.tokens.validate(token.id)


def test_revoking_one_token_leaves_others_valid(identity, admin_ctx):
    user, project = member_of_new_project(identity, admin_ctx)
    first, second = project_token(identity, user, project), project_token(identity, user,
                                                                           project)
    identity.tokens.revoke(admin_ctx, first.id)
    identity.tokens.validate(second.id)


def test_password_change_revokes_earlier_tokens_only(identity, admin_ctx):
    user, project = member_of_new_project(identity, admin_ctx)
    before = project_token(identity, user, project)
    identity.users.change_password(before.context(), user.id, PASSWORD, "new password")
    with pytest.raises(errors.Unauthorized):
        identity.tokens.validate(before.id)
    after = project_token(identity, user, project, password="new password")
    assert identity.tokens.validate(after.id).user.id == user.id


def test_old_password_stops_working_after_a_change(identity, admin_ctx):
    user, project = member_of_new_project(identity, admin_ctx)
    identity.users.update_user(admin_ctx, user.id, {"password": "new password"})
    with pytest.raises(errors.Unauthorized):
        project_token(identity, user, project)


def test_disabling_a_user_revokes_its_tokens(identity, admin_ctx):
    user, project = member_of_new_project(identity, admin_ctx)
    token = project_token(identity, user, project)
    identity.users.update_user(admin_ctx, user.id, {"enabled": False})
    with pytest.raises(errors.Unauthorized):
        identity.tokens.validate(token.id)
    identity.users.update_user(admin_ctx, user.id, {"enabled": True})
    with pytest.raises(errors.Unauthorized):  # re-enabling does not revive old tokens
        identity.tokens.validate(token.id)


def test_deleting_a_project_invalidates_its_tokens(identity, admin_ctx):
    user, project = member_of_new_project(identity, admin_ctx)
    token = project_token(identity, user, project)
    identity.resources.delete_project(admin_ctx, project.id)
    with pytest.raises(errors.Unauthorized):
        identity.tokens.validate(token.id)


def test_losing_the_last_role_invalidates_project_tokens(identity, admin_ctx):
    user, project = member_of_new_project(identity, admin_ctx)
    token = project_token(identity, user, project)
    identity.assignments.revoke_grant(admin_ctx, role_id(identity, admin_ctx, "member"),
                                      user_id=user.id, project_id=project.id)
    with pytest.raises(errors.Unauthorized):
        identity.tokens.validate(token.id)


# ---- EC2 credentials -------------------------------------------------------

def test_ec2_credential_create_list_resolve_delete(identity, admin_ctx):
    user, project = member_of_new_project(identity, admin_ctx)
    cred = identity.ec2.create(admin_ctx, user.id, project.id)
    assert [c.access for c in identity.ec2.list(admin_ctx, user.id)] == [cred.access]
    resolved = identity.ec2.resolve(cred.access)
    assert (resolved.secret, resolved.user_id, resolved.project_id) == (cred.secret, user.id,
                                                                        project.id)
    identity.ec2.delete(admin_ctx, user.id, cred.access)
    assert identity.ec2.list(admin_ctx, user.id) == []
    with pytest.raises(errors.Unauthorized):
        identity.ec2.resolve(cred.access)


def test_ec2_secret_is_stored_encrypted(identity, admin_ctx, db):
    user, project = member_of_new_project(identity, admin_ctx)
    cred = identity.ec2.create(admin_ctx, user.id, project.id)
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM credentials WHERE user_id = :u"),
                            {"u": user.id}).all()
    assert len(rows) == 1
    raw = " ".join(str(value) for value in rows[0])
    assert cred.secret not in raw
    assert cred.access not in raw


def test_deleting_a_user_deletes_its_ec2_credentials(identity, admin_ctx, db):
    user, project = member_of_new_project(identity, admin_ctx)
    identity.ec2.create(admin_ctx, user.id, project.id)
    identity.users.delete_user(admin_ctx, user.id)
    assert count(db, Credential, user_id=user.id) == 0


# ---- application credentials -----------------------------------------------

def test_application_credential_authenticates_with_its_roles_only(identity, admin_ctx):
    cred, secret, roles = identity.app_credentials.create(
        admin_ctx, admin_ctx.user_id, "ci", roles=[{"name": "member"}])
    assert [r.name for r in roles] == ["member"]
    token = identity.tokens.authenticate({"identity": {
        "methods": ["application_credential"],
        "application_credential": {"id": cred.id, "secret": secret}}})
    assert token.app_cred.id == cred.id
    assert token.project.id == admin_ctx.project_id
    assert {r.name for r in token.roles} == {"member", "reader"}


def test_application_credential_by_name_and_user(identity, admin_ctx):
    _, secret, _ = identity.app_credentials.create(admin_ctx, admin_ctx.user_id, "ci")
    token = identity.tokens.authenticate({"identity": {
        "methods": ["application_credential"],
        "application_credential": {"name": "ci", "secret": secret,
                                   "user": {"id": admin_ctx.user_id}}}})
    assert token.user.id == admin_ctx.user_id


def test_application_credential_wrong_secret_is_refused(identity, admin_ctx):
    cred, _, _ = identity.app_credentials.create(admin_ctx, admin_ctx.user_id, "ci")
    with pytest.raises(errors.Unauthorized):
        identity.tokens.authenticate({"identity": {
            "methods": ["application_credential"],
            "application_credential": {"id": cred.id, "secret": "wrong"}}})


def test_deleting_a_user_deletes_its_application_credentials(identity, admin_ctx, db):
    user, project = member_of_new_project(identity, admin_ctx)
    user_ctx = project_token(identity, user, project).context()
    identity.app_credentials.create(user_ctx, user.id, "ci")
    identity.users.delete_user(admin_ctx, user.id)
    assert count(db, ApplicationCredential, user_id=user.id) == 0


def test_deleted_application_credential_token_is_invalid(identity, admin_ctx):
    cred, secret, _ = identity.app_credentials.create(admin_ctx, admin_ctx.user_id, "ci")
    token = identity.tokens.authenticate({"identity": {
        "methods": ["application_credential"],
        "application_credential": {"id": cred.id, "secret": secret}}})
    identity.app_credentials.delete(admin_ctx, admin_ctx.user_id, cred.id)
    with pytest.raises(errors.Unauthorized):
        identity.tokens.validate(token.id)


# ---- datetimes -------------------------------------------------------------

def test_created_at_comes_back_timezone_aware_utc(identity, admin_ctx):
    p = identity.resources.create_project(admin_ctx, "web")
    created = identity.resources.get_project(admin_ctx, p.id).created_at
    assert created.utcoffset() == timedelta(0)
    assert abs(utcnow() - created) < timedelta(minutes=1)


def test_datetime_in_another_zone_is_stored_as_the_same_instant(identity, admin_ctx):
    india = timezone(timedelta(hours=5, minutes=30))
    expires = datetime.now(india).replace(microsecond=0) + timedelta(days=1)
    cred, _, _ = identity.app_credentials.create(admin_ctx, admin_ctx.user_id, "ci",
                                                 expires_at=expires)
    stored = identity.app_credentials.get(admin_ctx, admin_ctx.user_id, cred.id).expires_at
    assert stored == expires
    assert stored.utcoffset() == timedelta(0)


def test_revocation_times_come_back_timezone_aware(identity, admin_ctx, db):
    identity.tokens.revoke_user(admin_ctx.user_id)
    with db.session() as s:
        event = s.scalars(select(RevocationEvent)).one()
    assert event.issued_before.utcoffset() == timedelta(0)
    assert event.revoked_at.utcoffset() == timedelta(0)


def test_datetimes_keep_microseconds(identity, admin_ctx):
    expires = utcnow().replace(microsecond=123456) + timedelta(days=1)
    cred, _, _ = identity.app_credentials.create(admin_ctx, admin_ctx.user_id, "ci",
                                                 expires_at=expires)
    assert identity.app_credentials.get(admin_ctx, admin_ctx.user_id,
                                        cred.id).expires_at == expires


# ---- names: unicode and length ---------------------------------------------

def test_unicode_project_name_round_trips(identity, admin_ctx):
    p = identity.resources.create_project(admin_ctx, UNICODE_NAME, description="описание 説明",
                                          tags=["тег", "タグ"])
    stored = identity.resources.get_project(admin_ctx, p.id)
    assert (stored.name, stored.description, stored.tags) == (UNICODE_NAME, "описание 説明",
                                                              ["тег", "タグ"])
    assert [x.id for x in identity.resources.list_projects(admin_ctx, name=UNICODE_NAME)] \
        == [p.id]


def test_unicode_user_can_authenticate_by_name(identity, admin_ctx):
    project = identity.resources.create_project(admin_ctx, UNICODE_NAME)
    user = identity.users.create_user(admin_ctx, "пользователь-ユーザー", password="пароль")
    identity.assignments.create_grant(admin_ctx, role_id(identity, admin_ctx, "member"),
                                      user_id=user.id, project_id=project.id)
    token = identity.tokens.authenticate({
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "пользователь-ユーザー", "domain": {"id": "default"},
            "password": "пароль"}}},
        "scope": {"project": {"name": UNICODE_NAME, "domain": {"id": "default"}}}})
    assert (token.user.id, token.project.name) == (user.id, UNICODE_NAME)


def test_255_character_names_are_stored(identity, admin_ctx):
    name = "n" * 255
    p = identity.resources.create_project(admin_ctx, name)
    u = identity.users.create_user(admin_ctx, name, password=PASSWORD, email="e" * 255)
    g = identity.users.create_group(admin_ctx, name)
    r = identity.assignments.create_role(admin_ctx, name)
    assert identity.resources.get_project(admin_ctx, p.id).name == name
    assert identity.users.get_user(admin_ctx, u.id).name == name
    assert identity.users.get_group(admin_ctx, g.id).name == name
    assert identity.assignments.get_role(admin_ctx, r.id).name == name


def test_255_multibyte_character_name_is_stored_and_unique(identity, admin_ctx):
    name = "名" * 254 + "🚀"  # 255 characters, 766 bytes in UTF-8
    p = identity.resources.create_project(admin_ctx, name)
    assert identity.resources.get_project(admin_ctx, p.id).name == name
    with pytest.raises(errors.Conflict):
        identity.resources.create_project(admin_ctx, name)


def test_names_match_exactly_on_every_backend(identity, admin_ctx):
    """MariaDB's default collations ignore case and trailing spaces; ours do not."""
    upper = identity.resources.create_project(admin_ctx, "Web")
    lower = identity.resources.create_project(admin_ctx, "web")
    assert upper.id != lower.id
    assert [p.id for p in identity.resources.list_projects(admin_ctx, name="web")] == [lower.id]
    assert identity.resources.list_projects(admin_ctx, name="web ") == []
