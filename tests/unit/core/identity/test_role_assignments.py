"""core/identity/role_assignments.py: ``GET /v3/role_assignments``: direct
assignments filtered by actor, scope and role; effective ones (groups expanded
to their members, implied roles added); names included on request."""

from __future__ import annotations

import pytest

from core import errors
from core.identity.assignment import RoleAssignment
from core.identity.role_assignments import RoleAssignmentLister


@pytest.fixture
def lister(identity) -> RoleAssignmentLister:
    return identity.role_assignments


@pytest.fixture
def setup(identity, admin) -> dict[str, str]:
    """bob in group ops; ops is member of project web; bob reader on domain default."""
    users, assignments = identity.users, identity.assignments
    roles = {r.name: r.id for r in assignments.list_roles(admin)}
    bob = users.create_user(admin, "bob")
    ops = users.create_group(admin, "ops")
    users.add_user_to_group(admin, ops.id, bob.id)
    web = identity.resources.create_project(admin, "web")
    assignments.create_grant(admin, roles["member"], group_id=ops.id, project_id=web.id)
    assignments.create_grant(admin, roles["reader"], user_id=bob.id, domain_id="default")
    return {"bob": bob.id, "ops": ops.id, "web": web.id, **roles}


def test_direct_assignments(lister, admin, setup):
    s = setup
    assert lister.list_assignments(admin, project_id=s["web"]) == [
        RoleAssignment(role_id=s["member"], group_id=s["ops"], project_id=s["web"])]
    assert lister.list_assignments(admin, user_id=s["bob"]) == [
        RoleAssignment(role_id=s["reader"], user_id=s["bob"], domain_id="default")]
    assert lister.list_assignments(admin, group_id=s["ops"], role_id=s["reader"]) == []
    everything = lister.list_assignments(admin)
    assert len(everything) == 4  # admin's and demo's from the bootstrap, and the two above


def test_effective_assignments_expand_groups_and_implied_roles(lister, admin, setup):
    s = setup
    rows = lister.list_assignments(admin, user_id=s["bob"], effective=True)
    assert set(rows) == {
        RoleAssignment(role_id=s["member"], user_id=s["bob"], project_id=s["web"],
                       via_group_id=s["ops"]),
        RoleAssignment(role_id=s["reader"], user_id=s["bob"], project_id=s["web"],
                       via_group_id=s["ops"], prior_role_id=s["member"]),
        RoleAssignment(role_id=s["reader"], user_id=s["bob"], domain_id="default")}
    assert len(rows) == 3


def test_effective_admin_role_implies_all_three(lister, admin, setup):
    rows = lister.list_assignments(admin, user_id=admin.user_id, effective=True)
    # The prior role named is the one assigned (admin), also for reader, which
    # admin implies through member.
    assert sorted((r.role_id, r.prior_role_id) for r in rows) == sorted([
        (setup["admin"], None), (setup["member"], setup["admin"]),
        (setup["reader"], setup["admin"])])


def test_names_on_request(lister, admin, setup):
    (row,) = lister.list_assignments(admin, project_id=setup["web"], include_names=True)
    assert row.names == {"role": {"name": "member"},
                         "group": {"name": "ops", "domain": {"id": "default",
                                                             "name": "Default"}},
                         "project": {"name": "web", "domain": {"id": "default",
                                                               "name": "Default"}}}
    (row,) = lister.list_assignments(admin, user_id=setup["bob"], include_names=True)
    assert row.names["domain"] == {"name": "Default"} and row.names["user"]["name"] == "bob"


def test_refused_filters(lister, admin, setup):
    with pytest.raises(errors.InvalidInput, match="^Combining effective and group filter"):
        lister.list_assignments(admin, group_id=setup["ops"], effective=True)
    with pytest.raises(errors.InvalidInput, match="^Specify a project or a domain scope"):
        lister.list_assignments(admin, project_id=setup["web"], domain_id="default")


def test_members_list_nothing(lister, demo):
    with pytest.raises(errors.Forbidden):
        lister.list_assignments(demo)
