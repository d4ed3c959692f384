"""core/compute/server_groups.py: groups per project (another project's is not
found), their quota, and members added by a boot naming the group (the
server_group_members quota)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core import errors
from core.compute.models import Instance
from core.compute.server_groups import ServerGroupService
from core.compute.servers import BootRequest
from core.context import RequestContext
from core.services import CoreServices
from tests.support.core_services import ADMIN, IMAGE_ID, MEMBER, OTHER, add_instance


@pytest.fixture
def groups(core: CoreServices) -> ServerGroupService:
    return core.server_groups


def boot_into(core: CoreServices, group: str, count: int = 1) -> list[Instance]:
    req = BootRequest(name="vm", image_ref=IMAGE_ID, flavor_ref="1", min_count=count,
                      max_count=count, scheduler_hints={"group": group})
    return core.servers.create(MEMBER, req)[1]


def test_create_get_and_list(groups):
    made = groups.create(MEMBER, "web", "anti-affinity", {"max_server_per_host": 2})
    assert made.members == ()
    got = groups.get(MEMBER, made.group.uuid)
    assert (got.group.name, got.group.policy, got.group.rules, got.group.project_id,
            got.group.user_id) == ("web", "anti-affinity", {"max_server_per_host": 2}, "p1",
                                   "u1")
    groups.create(OTHER, "db", "affinity")
    assert [v.group.name for v in groups.list_groups(MEMBER)] == ["web"]
    assert [v.group.name for v in groups.list_groups(ADMIN, all_projects=True)] == ["web", "db"]
    assert [v.group.name for v in groups.list_groups(ADMIN, all_projects=True, limit=1,
                                                     offset=1)] == ["db"]


def test_another_projects_group_is_not_found(groups):
    uuid = groups.create(MEMBER, "web", "affinity").group.uuid
    for call in (groups.get, groups.delete):
        with pytest.raises(errors.NotFound, match=f"^Instance group {uuid} could not be found.$"):
            call(OTHER, uuid)
    assert groups.get(ADMIN, uuid).group.name == "web"


def test_listing_every_project_needs_an_admin(groups):
    with pytest.raises(errors.Forbidden):
        groups.list_groups(MEMBER, all_projects=True)


def test_invalid_policy_and_scope(groups):
    with pytest.raises(errors.InvalidInput, match="^Invalid server group policy spread.$"):
        groups.create(MEMBER, "web", "spread")
    unscoped = RequestContext(user_id="u-admin", roles=("admin",))
    with pytest.raises(errors.Forbidden, match="project-scoped token"):
        groups.create(unscoped, "web", "affinity")


def test_quota_of_groups(core, groups):
    core.quotas.set_limits("p1", {"server_groups": 1})
    first = groups.create(MEMBER, "a", "affinity")
    with pytest.raises(errors.QuotaExceeded, match="^Quota exceeded, too many server groups.$"):
        groups.create(MEMBER, "b", "affinity")
    groups.delete(MEMBER, first.group.uuid)
    assert core.quotas.usage("p1")["server_groups"] == 0
    groups.create(MEMBER, "b", "affinity")


def test_a_boot_naming_the_group_adds_its_members(core, groups):
    uuid = groups.create(MEMBER, "web", "anti-affinity").group.uuid
    instances = boot_into(core, uuid, count=2)
    assert groups.get(MEMBER, uuid).members == tuple(sorted(i.uuid for i in instances))
    with core.db.session() as s:
        assert groups.group_of(s, instances[0].uuid).uuid == uuid
        groups.remove_member(s, instances[0].uuid)
        assert groups.group_of(s, instances[0].uuid) is None
    assert groups.get(MEMBER, uuid).members == (instances[1].uuid,)


def test_a_full_group_refuses_the_boot(core, groups, bus):
    core.quotas.set_limits("p1", {"server_group_members": 1})
    uuid = groups.create(MEMBER, "web", "affinity").group.uuid
    boot_into(core, uuid)
    with pytest.raises(errors.QuotaExceeded,
                       match="^Quota exceeded, too many servers in group$"):
        boot_into(core, uuid)
    assert len(groups.get(MEMBER, uuid).members) == 1
    assert core.quotas.usage("p1")["instances"] == 1  # the refused boot reserved nothing
    assert bus.methods() == ["build_instances"]


def test_a_boot_naming_another_projects_group(core, groups):
    uuid = groups.create(OTHER, "theirs", "affinity").group.uuid
    with pytest.raises(errors.InvalidInput,
                       match=f"^Invalid server group {uuid}: it could not be found.$"):
        boot_into(core, uuid)
    with core.db.session() as s:
        assert s.scalars(select(Instance)).all() == []


def test_delete_removes_the_members(core, groups):
    uuid = groups.create(MEMBER, "web", "affinity").group.uuid
    inst = add_instance(core.db)
    with core.db.session() as s:
        groups.add_member(s, uuid, inst, "p1")
    groups.delete(MEMBER, uuid)
    with core.db.session() as s:
        assert groups.group_of(s, inst) is None
        with pytest.raises(errors.NotFound):
            groups.add_member(s, uuid, inst, "p1")
