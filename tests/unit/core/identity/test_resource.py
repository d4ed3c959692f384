"""core/identity/resource.py: domains and projects (create, read, update,
delete, hierarchy and their refusals in Keystone's words), and project_exists
as other domains ask it."""

from __future__ import annotations

import pytest

from core import errors
from core.identity.resource import ResourceService


@pytest.fixture
def resources(identity) -> ResourceService:
    return identity.resources


# ---------------------------------------------------------------- domains

def test_domain_lifecycle(resources, admin):
    made = resources.create_domain(admin, "acme", description="ACME")
    assert resources.get_domain(admin, made.id).name == "acme"
    assert [d.name for d in resources.list_domains(admin)] == ["Default", "acme"]
    assert [d.name for d in resources.list_domains(admin, name="acme")] == ["acme"]
    resources.update_domain(admin, made.id, {"description": "new", "enabled": False})
    assert [d.name for d in resources.list_domains(admin, enabled=False)] == ["acme"]
    resources.delete_domain(admin, made.id)
    with pytest.raises(errors.NotFound, match=f"^Could not find domain: {made.id}.$"):
        resources.get_domain(admin, made.id)


def test_domain_refusals(resources, admin, demo):
    resources.create_domain(admin, "acme", domain_id="acme")
    with pytest.raises(errors.Conflict, match="Duplicate entry found with name acme.$"):
        resources.create_domain(admin, "acme")
    with pytest.raises(errors.InvalidInput, match="^Cannot delete a domain that is enabled"):
        resources.delete_domain(admin, "acme")
    resources.update_domain(admin, "default", {"enabled": False})
    with pytest.raises(errors.Forbidden, match="^The default domain cannot be deleted.$"):
        resources.delete_domain(admin, "default")
    with pytest.raises(errors.Forbidden):
        resources.create_domain(demo, "mine")


def test_a_domain_with_projects_is_not_deleted(resources, admin):
    resources.create_domain(admin, "acme", domain_id="acme", enabled=False)
    resources.create_project(admin, "web", domain_id="acme")
    with pytest.raises(errors.Conflict, match="^Cannot delete domain acme: it still owns "
                                              "projects"):
        resources.delete_domain(admin, "acme")


def test_a_member_sees_its_own_projects_domain_only(resources, admin, demo):
    assert resources.get_domain(demo, "default").name == "Default"
    resources.create_domain(admin, "acme", domain_id="acme")
    with pytest.raises(errors.Forbidden):
        resources.get_domain(demo, "acme")


# ---------------------------------------------------------------- projects

def test_project_lifecycle(resources, admin):
    made = resources.create_project(admin, "web", description="d", tags=["a"],
                                    extra={"k": "v"})
    assert (made.domain_id, made.enabled, made.tags) == ("default", True, ["a"])
    assert resources.project_exists(made.id) and not resources.project_exists("nope")
    updated = resources.update_project(admin, made.id, {"name": "www", "enabled": False,
                                                        "extra": {"k2": "v2"}})
    assert (updated.name, updated.enabled, updated.extra) == \
        ("www", False, {"k": "v", "k2": "v2"})
    assert [p.name for p in resources.list_projects(admin, enabled=False)] == ["www"]
    resources.delete_project(admin, made.id)
    with pytest.raises(errors.NotFound, match=f"^Could not find project: {made.id}.$"):
        resources.get_project(admin, made.id)
    assert not resources.project_exists(made.id)


def test_project_names_are_unique_per_domain(resources, admin):
    resources.create_project(admin, "web")
    with pytest.raises(errors.Conflict, match="two projects with the same name in the same "
                                              "domain : web.$"):
        resources.create_project(admin, "web")
    resources.create_domain(admin, "acme", domain_id="acme")
    assert resources.create_project(admin, "web", domain_id="acme").domain_id == "acme"
    assert sorted(p.domain_id for p in resources.list_projects(admin, name="web")) == \
        ["acme", "default"]
    assert [p.name for p in resources.list_projects(admin, domain_id="acme")] == ["web"]
    with pytest.raises(errors.NotFound, match="^Could not find domain: ghost.$"):
        resources.create_project(admin, "x", domain_id="ghost")


def test_hierarchy(resources, admin):
    parent = resources.create_project(admin, "parent")
    child = resources.create_project(admin, "child", parent_id=parent.id)
    assert child.domain_id == "default"
    assert [p.name for p in resources.list_projects(admin, parent_id=parent.id)] == ["child"]
    resources.create_domain(admin, "acme", domain_id="acme")
    with pytest.raises(errors.InvalidInput, match="^The project's parent must be in the same "
                                                  "domain.$"):
        resources.create_project(admin, "stray", domain_id="acme", parent_id=parent.id)
    with pytest.raises(errors.Forbidden, match="since it is not a leaf in the hierarchy.$"):
        resources.delete_project(admin, parent.id)
    with pytest.raises(errors.Forbidden, match="^Update of `parent_id` is not allowed.$"):
        resources.update_project(admin, child.id, {"parent_id": None})
    with pytest.raises(errors.InvalidInput, match="^Update of `domain_id` is not allowed.$"):
        resources.update_project(admin, child.id, {"domain_id": "acme"})


def test_deleting_a_project_forgets_who_defaulted_to_it(identity, resources, admin):
    project = resources.create_project(admin, "web")
    user = identity.users.create_user(admin, "bob", default_project_id=project.id)
    role = identity.assignments.list_roles(admin, name="member")[0]
    identity.assignments.create_grant(admin, role.id, user_id=user.id, project_id=project.id)
    resources.delete_project(admin, project.id)
    assert identity.users.get_user(admin, user.id).default_project_id is None
    assert identity.role_assignments.list_assignments(admin, user_id=user.id) == []


def test_members_read_their_project_and_manage_none(resources, admin, demo):
    assert resources.get_project(demo, demo.project_id).name == "demo"
    admin_project = admin.project_id or ""
    with pytest.raises(errors.Forbidden):
        resources.get_project(demo, admin_project)
    with pytest.raises(errors.Forbidden):
        resources.list_projects(demo)
    with pytest.raises(errors.Forbidden):
        resources.create_project(demo, "mine")
    with pytest.raises(errors.Forbidden):
        resources.update_project(demo, demo.project_id or "", {"name": "renamed"})
