"""core/identity/assignment.py: roles, implied roles (no loops), grants to
users and groups on projects and domains, and the effective roles a token
gets (direct, through groups, and everything implied)."""

from __future__ import annotations

import pytest

from core import errors
from core.identity.assignment import AssignmentService


@pytest.fixture
def assignments(identity) -> AssignmentService:
    return identity.assignments


def role_id(assignments: AssignmentService, admin, name: str) -> str:
    return assignments.list_roles(admin, name=name)[0].id


def test_role_lifecycle(assignments, admin):
    made = assignments.create_role(admin, "auditor", description="reads logs")
    assert assignments.get_role(admin, made.id).name == "auditor"
    with pytest.raises(errors.Conflict, match="Duplicate entry found with name auditor.$"):
        assignments.create_role(admin, "auditor")
    assignments.update_role(admin, made.id, {"name": "observer"})
    assert [r.name for r in assignments.list_roles(admin)] == \
        ["admin", "member", "observer", "reader"]
    assignments.delete_role(admin, made.id)
    with pytest.raises(errors.NotFound, match=f"^Could not find role: {made.id}.$"):
        assignments.get_role(admin, made.id)


def test_members_neither_list_nor_manage_roles(assignments, demo):
    with pytest.raises(errors.Forbidden):
        assignments.list_roles(demo)
    with pytest.raises(errors.Forbidden):
        assignments.create_role(demo, "mine")


def test_bootstrap_implications(assignments, admin):
    admin_id, member_id, reader_id = (role_id(assignments, admin, n)
                                      for n in ("admin", "member", "reader"))
    prior, implied = assignments.list_implied_roles(admin, admin_id)
    assert (prior.name, [r.name for r in implied]) == ("admin", ["member"])
    rules = {p.name: [r.name for r in rs]
             for p, rs in assignments.list_role_inference_rules(admin)}
    assert rules == {"admin": ["member"], "member": ["reader"]}
    assert assignments.get_implied_role(admin, member_id, reader_id)[1].name == "reader"
    with pytest.raises(errors.NotFound, match=f"^{reader_id} does not imply {member_id}.$"):
        assignments.get_implied_role(admin, reader_id, member_id)


def test_implications_never_loop(assignments, admin):
    admin_id, reader_id = role_id(assignments, admin, "admin"), role_id(assignments, admin,
                                                                         "reader")
    for prior, implied in ((reader_id, admin_id), (reader_id, reader_id)):
        with pytest.raises(errors.InvalidInput, match="would create a loop"):
            assignments.create_implied_role(admin, prior, implied)
    extra = assignments.create_role(admin, "viewer")
    assignments.create_implied_role(admin, reader_id, extra.id)
    assignments.create_implied_role(admin, reader_id, extra.id)  # again: no change
    with pytest.raises(errors.InvalidInput):
        assignments.create_implied_role(admin, extra.id, admin_id)
    assignments.delete_implied_role(admin, reader_id, extra.id)
    with pytest.raises(errors.NotFound):
        assignments.delete_implied_role(admin, reader_id, extra.id)


def test_grants_to_a_user(identity, assignments, admin):
    bob = identity.users.create_user(admin, "bob")
    web = identity.resources.create_project(admin, "web")
    reader = role_id(assignments, admin, "reader")
    with pytest.raises(errors.NotFound, match="^Could not find role assignment with role"):
        assignments.check_grant(admin, reader, user_id=bob.id, project_id=web.id)
    assignments.create_grant(admin, reader, user_id=bob.id, project_id=web.id)
    assignments.create_grant(admin, reader, user_id=bob.id, project_id=web.id)  # idempotent
    assignments.check_grant(admin, reader, user_id=bob.id, project_id=web.id)
    assert [r.name for r in assignments.list_grants(admin, user_id=bob.id,
                                                    project_id=web.id)] == ["reader"]
    assert [p.name for p in assignments.list_user_projects(admin, bob.id)] == ["web"]
    assignments.revoke_grant(admin, reader, user_id=bob.id, project_id=web.id)
    with pytest.raises(errors.NotFound):
        assignments.revoke_grant(admin, reader, user_id=bob.id, project_id=web.id)
    with pytest.raises(errors.NotFound, match="^Could not find project: ghost.$"):
        assignments.create_grant(admin, reader, user_id=bob.id, project_id="ghost")


def test_effective_roles_come_through_groups_and_implications(identity, assignments, admin,
                                                              db):
    bob = identity.users.create_user(admin, "bob")
    web = identity.resources.create_project(admin, "web")
    group = identity.users.create_group(admin, "ops")
    identity.users.add_user_to_group(admin, group.id, bob.id)
    assignments.create_grant(admin, role_id(assignments, admin, "member"), group_id=group.id,
                             project_id=web.id)
    with db.session() as s:
        ids = assignments.effective_role_ids(s, bob.id, web.id)
        assert ids == [role_id(assignments, admin, n) for n in ("member", "reader")]
        assert [p.name for p in assignments.projects_for_user(s, bob.id)] == ["web"]
        assert assignments.effective_role_ids(s, bob.id, "default") == []
    assignments.create_grant(admin, role_id(assignments, admin, "reader"), user_id=bob.id,
                             domain_id="default")
    with db.session() as s:
        assert [d.id for d in assignments.domains_for_user(s, bob.id)] == ["default"]


def test_deleting_a_role_removes_its_grants_and_implications(identity, assignments, admin):
    viewer = assignments.create_role(admin, "viewer")
    bob = identity.users.create_user(admin, "bob")
    assignments.create_grant(admin, viewer.id, user_id=bob.id, domain_id="default")
    assignments.create_implied_role(admin, viewer.id, role_id(assignments, admin, "reader"))
    assignments.delete_role(admin, viewer.id)
    assert assignments.list_grants(admin, user_id=bob.id, domain_id="default") == []
    assert "viewer" not in {p.name for p, _ in assignments.list_role_inference_rules(admin)}


def test_members_grant_nothing(identity, assignments, admin, demo):
    bob = identity.users.create_user(admin, "bob")
    with pytest.raises(errors.Forbidden):
        assignments.create_grant(demo, role_id(assignments, admin, "admin"), user_id=bob.id,
                                 project_id=demo.project_id)
