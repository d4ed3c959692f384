"""core/compute/servers.py: create (policy, quota with min/max count, security
groups, EC2 IDs, client-token replay), get, update, delete (the claimed task and
the cast to the conductor), metadata and tags."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from core import errors
from core.compute import states
from core.compute.models import Instance, InstanceAction
from core.compute.servers import (
    BootRequest,
    IdempotentMismatch,
    IdempotentTerminated,
    ServerService,
    hostname_for,
)
from core.idmap.ids import Kind
from core.network.models import SecurityGroup
from core.network.security_group_types import UnknownSecurityGroup
from core.services import CoreServices
from tests.support.core_services import (
    ADMIN,
    IMAGE_ID,
    MEMBER,
    OTHER,
    READER,
    TINY,
    RecordingBus,
    add_compute_host,
    add_instance,
)


def boot(core: CoreServices, ctx=MEMBER, **kw: Any) -> tuple[str, list[Instance]]:
    kw.setdefault("name", "web")
    kw.setdefault("image_ref", IMAGE_ID)
    kw.setdefault("flavor_ref", "1")
    return core.servers.create(ctx, BootRequest(**kw))


def reload(core: CoreServices, uuid: str) -> Instance:
    return core.instances.get(uuid, deleted=True)


# ---------------------------------------------------------------- create

def test_create_records_the_instance_and_casts_the_build(core, bus: RecordingBus):
    reservation, (inst,) = boot(core, description="d", tags=["a", "b", "a"])
    assert reservation.startswith("r-") and inst.reservation_id == reservation
    assert (inst.vm_state, inst.task_state) == (states.BUILDING, states.SCHEDULING)
    assert (inst.display_name, inst.hostname, inst.project_id, inst.user_id) == \
        ("web", "web", "p1", "u1")
    assert inst.flavor["flavorid"] == "1" and inst.security_groups == ["default"]
    assert core.servers.tags_of([inst.uuid]) == {inst.uuid: ["a", "b"]}
    payload, _ = bus.last("build_instances")
    assert payload["instance_uuids"] == [inst.uuid]
    spec = payload["request_spec"]
    assert (spec["project_id"], spec["image"]["id"], spec["flavor"]["memory_mb"]) == \
        ("p1", IMAGE_ID, 512)
    assert bus.methods() == ["build_instances"]
    usage = core.quotas.usage("p1")
    assert (usage["instances"], usage["cores"], usage["ram"]) == (1, 1, 512)
    assert [a.action for a in core.servers.actions(MEMBER, inst.uuid)] == ["create"]


def test_create_mints_ec2_ids_in_the_same_transaction(core):
    reservation, instances = boot(core, min_count=2, max_count=2)
    ids = core.ids.existing(Kind.INSTANCE, [i.uuid for i in instances])
    assert len(ids) == 2 and all(v.startswith("i-") for v in ids.values())
    assert core.ids.existing(Kind.RESERVATION, [reservation])[reservation].startswith("r-")


def test_unnamed_ec2_instance_is_named_by_its_id(core):
    _, (inst,) = boot(core, name="", ec2_names=True)
    ec2_id = core.ids.existing(Kind.INSTANCE, [inst.uuid])[inst.uuid]
    assert reload(core, inst.uuid).display_name == ec2_id


def test_create_needs_a_member(core, bus):
    with pytest.raises(errors.Forbidden):
        boot(core, READER)
    assert bus.casts == [] and core.quotas.usage("p1")["instances"] == 0


def test_several_instances_are_numbered(core):
    _, instances = boot(core, min_count=3, max_count=3)
    assert [(i.display_name, i.launch_index) for i in instances] == \
        [("web-1", 0), ("web-2", 1), ("web-3", 2)]
    assert len({i.reservation_id for i in instances}) == 1


def test_min_count_above_max_count(core):
    with pytest.raises(errors.InvalidInput, match="min_count must be <= max_count"):
        boot(core, min_count=3, max_count=2)


def test_quota_fills_what_fits_between_min_and_max(core, bus):
    core.quotas.set_limits("p1", {"instances": 3})
    _, instances = boot(core, min_count=1, max_count=5)
    assert len(instances) == 3
    assert core.quotas.usage("p1")["instances"] == 3
    with pytest.raises(errors.QuotaExceeded,
                       match="^Quota exceeded for instances: Requested 1, but already used 3 "
                             "of 3 instances$"):
        boot(core, min_count=1, max_count=2)
    assert bus.methods() == ["build_instances"]


def test_quota_for_a_fixed_count_is_all_or_nothing(core):
    core.quotas.set_limits("p1", {"cores": 2})
    with pytest.raises(errors.QuotaExceeded, match="cores"):
        boot(core, min_count=3, max_count=3)
    assert core.quotas.usage("p1")["cores"] == 0
    with core.db.session() as s:
        assert s.scalars(select(Instance)).all() == []


def test_security_groups_are_resolved_to_names_and_held(core):
    web = core.security_groups.create(MEMBER, "web", "")
    _, (inst,) = boot(core, security_groups=[web.uuid, "default", "web"])
    assert inst.security_groups == ["web", "default"]
    with core.db.session() as s:
        generations = dict(s.execute(select(SecurityGroup.name, SecurityGroup.generation)
                                     .where(SecurityGroup.project_id == "p1")).tuples().all())
    assert generations == {"web": 1, "default": 1}


def test_unknown_security_group(core, bus):
    with pytest.raises(UnknownSecurityGroup,
                       match="^Unable to find security_group with name or id nope$"):
        boot(core, security_groups=["nope"])
    with pytest.raises(errors.InvalidInput):  # another project's group is unknown too
        boot(core, OTHER, security_groups=[core.security_groups.create(MEMBER, "x", "").uuid])
    assert bus.casts == []


def test_client_token_replays_the_first_reservation(core, bus):
    first = boot(core, client_token="tok", request_hash="h1", min_count=2, max_count=2)
    again = boot(core, client_token="tok", request_hash="h1", min_count=2, max_count=2)
    assert again[0] == first[0]
    assert [i.uuid for i in again[1]] == [i.uuid for i in first[1]]
    assert bus.methods() == ["build_instances"]
    assert core.quotas.usage("p1")["instances"] == 2
    with pytest.raises(IdempotentMismatch):
        boot(core, client_token="tok", request_hash="h2")
    # The same token in another project is another request.
    assert boot(core, OTHER, client_token="tok", request_hash="h2")[0] != first[0]


def test_client_token_of_terminated_instances(core):
    _, instances = boot(core, client_token="tok", request_hash="h1")
    with core.db.session() as s:
        s.execute(update(Instance).values(deleted=True, vm_state=states.DELETED))
    with pytest.raises(IdempotentTerminated, match="associated with a terminated instance"):
        boot(core, client_token="tok", request_hash="h1")


# ---------------------------------------------------------------- read / update

def test_another_projects_server_is_not_found_but_an_admin_sees_it(core):
    uuid = add_instance(core.db)
    assert core.servers.get(MEMBER, uuid).uuid == uuid
    with pytest.raises(errors.NotFound, match=f"^Instance {uuid} could not be found.$"):
        core.servers.get(OTHER, uuid)
    assert core.servers.get(ADMIN, uuid).project_id == "p1"


def test_a_deleted_server_is_found_only_when_asked(core):
    uuid = add_instance(core.db, deleted=True, vm_state=states.DELETED)
    with pytest.raises(errors.NotFound):
        core.servers.get(MEMBER, uuid)
    assert core.servers.get(MEMBER, uuid, deleted=True).deleted


def test_update(core):
    uuid = add_instance(core.db, access_ip_v4="192.0.2.1")
    inst = core.servers.update(MEMBER, uuid, {"name": "db", "description": "primary",
                                              "accessIPv4": ""})
    assert (inst.display_name, inst.description, inst.access_ip_v4) == ("db", "primary", None)
    assert core.servers.update(MEMBER, uuid, {}).display_name == "db"
    with pytest.raises(errors.NotFound):
        core.servers.update(OTHER, uuid, {"name": "x"})


def test_host_states(core):
    add_compute_host(core.db, "up")
    add_compute_host(core.db, "down", up=False)
    add_compute_host(core.db, "off")
    core.hosts.update_service(ADMIN, "off", "nova-compute", disabled=True)
    assert core.servers.host_states({"up", "down", "off", "ghost"}) == {
        "up": "UP", "down": "DOWN", "off": "MAINTENANCE", "ghost": "UNKNOWN"}


@pytest.mark.parametrize(("name", "hostname"), [
    ("Web_Server 1", "web-server-1"), ("..a.b..", "a.b"), ("!!!", "server"),
    ("x" * 80, "x" * 63)])
def test_hostname_for(name, hostname):
    assert hostname_for(name) == hostname


# ---------------------------------------------------------------- delete

def test_delete_claims_the_task_and_casts(core, bus):
    uuid = add_instance(core.db)
    core.servers.delete(MEMBER, uuid)
    assert reload(core, uuid).task_state == states.DELETING
    assert bus.last("delete_instance") == ({"uuid": uuid}, None)
    assert bus.events() == ["compute.instance.delete.start"]
    core.servers.delete(MEMBER, uuid)  # again: cast again, no second claim
    assert bus.methods() == ["delete_instance", "delete_instance"]
    assert bus.events() == ["compute.instance.delete.start"]
    with core.db.session() as s:
        assert list(s.scalars(select(InstanceAction.action))) == ["delete"]


def test_delete_of_a_locked_server_needs_an_admin(core, bus):
    uuid = add_instance(core.db, locked=True, locked_by="owner")
    with pytest.raises(errors.Conflict, match=f"^Instance {uuid} is locked$"):
        core.servers.delete(MEMBER, uuid)
    assert bus.casts == []
    core.servers.delete(ADMIN, uuid)
    assert bus.methods() == ["delete_instance"]


def test_delete_during_a_resize_gives_back_what_the_resize_reserved(core):
    small = dict(TINY, flavorid="2", name="m1.small", memory_mb=2048)
    uuid = add_instance(core.db, task_state=states.RESIZE_PREP, new_flavor=small)
    with core.db.session() as s:  # the boot's quota and the resize's growth
        core.quotas.reserve(s, "p1", {"instances": 1, "cores": 1, "ram": 512 + 1536})
    core.servers.delete(MEMBER, uuid)
    inst = reload(core, uuid)
    assert inst.new_flavor is None and inst.task_state == states.DELETING
    assert core.quotas.usage("p1")["ram"] == 512


# ---------------------------------------------------------------- metadata

def test_metadata_set_merges_or_replaces(core):
    uuid = add_instance(core.db, metadata_items={"a": "1"})
    set_ = core.servers.set_metadata
    assert set_(MEMBER, uuid, {"b": "2"}, False, "os_compute_api:server-metadata:create") == \
        {"a": "1", "b": "2"}
    assert set_(MEMBER, uuid, {"c": "3"}, True, "os_compute_api:server-metadata:update_all") \
        == {"c": "3"}
    core.servers.delete_metadata(MEMBER, uuid, "c")
    assert reload(core, uuid).metadata_items == {}
    with pytest.raises(errors.NotFound, match="^Metadata item was not found$"):
        core.servers.delete_metadata(MEMBER, uuid, "c")


def test_metadata_quota(core):
    uuid = add_instance(core.db, metadata_items={f"k{i}": "v" for i in range(128)})
    with pytest.raises(errors.QuotaExceeded, match="^Quota exceeded for metadata_items: "
                                                   "Requested 129, but already used 0 of 128"):
        core.servers.set_metadata(MEMBER, uuid, {"one-more": "v"}, False,
                                  "os_compute_api:server-metadata:update")
    assert len(reload(core, uuid).metadata_items) == 128


@pytest.mark.parametrize("fields", [{"locked": True}, {"task_state": states.DELETING}])
def test_metadata_of_a_locked_or_deleting_server(core, fields):
    uuid = add_instance(core.db, **fields)
    with pytest.raises(errors.Conflict):
        core.servers.set_metadata(MEMBER, uuid, {"a": "1"}, False,
                                  "os_compute_api:server-metadata:create")
    assert reload(core, uuid).metadata_items == {}


# ---------------------------------------------------------------- tags

def test_tags_add_set_delete(core):
    uuid = add_instance(core.db)
    assert core.servers.add_tag(MEMBER, uuid, "x") is True
    assert core.servers.add_tag(MEMBER, uuid, "x") is False
    assert core.servers.set_tags(MEMBER, uuid, ["b", "a", "b"]) == ["a", "b"]
    assert core.servers.tags_of([uuid]) == {uuid: ["a", "b"]}
    core.servers.delete_tag(MEMBER, uuid, "a")
    with pytest.raises(errors.NotFound, match="^Tag a could not be found.$"):
        core.servers.delete_tag(MEMBER, uuid, "a")
    core.servers.delete_tag(MEMBER, uuid, None)
    assert core.servers.tags_of([uuid]) == {uuid: []}


@pytest.mark.parametrize("tag", ["a/b", "a,b", "", "x" * 61])
def test_invalid_tags(core, tag):
    uuid = add_instance(core.db)
    with pytest.raises(errors.InvalidInput, match="tags are 1-60 characters"):
        core.servers.set_tags(MEMBER, uuid, [tag])


def test_at_most_fifty_tags(core):
    uuid = add_instance(core.db)
    limit = f"^The number of tags exceeded the per-server limit {50}$"
    with pytest.raises(errors.InvalidInput, match=limit):
        core.servers.set_tags(MEMBER, uuid, [f"t{i}" for i in range(51)])
    core.servers.set_tags(MEMBER, uuid, [f"t{i}" for i in range(50)])
    with pytest.raises(errors.InvalidInput, match=limit):
        core.servers.add_tag(MEMBER, uuid, "t50")
    assert len(core.servers.tags_of([uuid])[uuid]) == 50


def test_request_spec_shape():
    spec = ServerService.request_spec("p", "u", TINY, {"id": "img"}, "nova", "h1",
                                      {"group": "g"}, ["a"])
    assert spec["flavor"] == {"vcpus": 1, "memory_mb": 512, "root_gb": 1, "ephemeral_gb": 0,
                              "swap": 0, "extra_specs": {}}
    assert (spec["availability_zone"], spec["force_host"], spec["ignore_hosts"]) == \
        ("nova", "h1", [])
