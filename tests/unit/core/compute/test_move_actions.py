"""core/compute/move_actions.py: each move's state checks (a wrong state is a
Conflict in Nova's words), its policy (migrations and evacuation are an
admin's), the task it claims, the migration it records and the cast to the
conductor or the host's agent."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core import errors
from core.compute import states
from core.compute.migration_records import MigrationQuery
from core.compute.models import InstanceAction, Migration
from core.compute.rebuild import RebuildRequest
from core.services import CoreServices
from tests.support.core_services import (
    ADMIN,
    IMAGE_ID,
    MEMBER,
    OTHER,
    RecordingBus,
    add_compute_host,
    add_instance,
)


def state(core: CoreServices, uuid: str) -> tuple[str, str | None]:
    inst = core.instances.get(uuid)
    return inst.vm_state, inst.task_state


def recorded(core: CoreServices, uuid: str) -> list[str]:
    with core.db.session() as s:
        return list(s.scalars(select(InstanceAction.action)
                              .where(InstanceAction.instance_uuid == uuid)))


def moves_of(core: CoreServices, uuid: str) -> list[tuple[str, str, str | None]]:
    with core.db.session() as s:
        return [(m.migration_type, m.status, m.source_compute) for m in s.scalars(
            select(Migration).where(Migration.instance_uuid == uuid).order_by(Migration.id))]


# ---------------------------------------------------------------- shelve

def test_shelve_makes_the_shelved_image_and_casts_an_offload(core, bus: RecordingBus):
    uuid = add_instance(core.db, vm_state=states.STOPPED, host="h3")
    core.move_actions.shelve(MEMBER, uuid)
    assert state(core, uuid) == (states.STOPPED, states.SHELVING)
    payload, server = bus.last("shelve_instance")
    assert server == "h3" and payload["offload"] is True
    image = core.images.show(ADMIN, payload["image_id"]).image
    assert image.name == "vm-shelved" and image.status == "queued"
    assert core.instances.get(uuid).system_metadata["shelved_image_id"] == image.id
    assert recorded(core, uuid) == ["shelve"]
    assert "compute.instance.shelve.start" in bus.events()


def test_shelve_refusals(core, bus):
    building = add_instance(core.db, vm_state=states.BUILDING, task_state="spawning")
    with pytest.raises(errors.Conflict, match=f"^Cannot 'shelve' instance {building} while "
                                              "it is in vm_state building"):
        core.move_actions.shelve(MEMBER, building)
    locked = add_instance(core.db, locked=True, locked_by="admin")
    with pytest.raises(errors.Conflict, match="locked"):
        core.move_actions.shelve(MEMBER, locked)
    with pytest.raises(errors.NotFound):
        core.move_actions.shelve(OTHER, locked)
    assert "shelve_instance" not in bus.methods()


def test_shelve_offload_is_an_admins_and_needs_a_shelved_server(core, bus):
    shelved = add_instance(core.db, vm_state=states.SHELVED, host="h2")
    with pytest.raises(errors.Forbidden):
        core.move_actions.shelve_offload(MEMBER, shelved)
    core.move_actions.shelve_offload(ADMIN, shelved)
    assert state(core, shelved) == (states.SHELVED, states.SHELVING_OFFLOADING)
    assert bus.last("shelve_offload_instance")[1] == "h2"
    active = add_instance(core.db)
    with pytest.raises(errors.Conflict):
        core.move_actions.shelve_offload(ADMIN, active)


def test_unshelve_of_an_offloaded_server_goes_to_the_conductor(core, bus):
    uuid = add_instance(core.db, vm_state=states.SHELVED_OFFLOADED, host=None,
                        system_metadata={"shelved_image_id": IMAGE_ID})
    core.move_actions.unshelve(MEMBER, uuid)
    assert state(core, uuid) == (states.SHELVED_OFFLOADED, states.UNSHELVING)
    payload, _ = bus.last("unshelve_instance")
    assert payload["uuid"] == uuid
    assert payload["request_spec"]["image"]["id"] == IMAGE_ID
    assert payload["request_spec"]["flavor"]["memory_mb"] == 512
    with pytest.raises(errors.Conflict):
        core.move_actions.unshelve(MEMBER, add_instance(core.db))


def test_unshelve_of_a_shelved_server_powers_it_on_where_it_is(core, bus):
    uuid = add_instance(core.db, vm_state=states.SHELVED, host="h4")
    core.move_actions.unshelve(MEMBER, uuid)
    assert bus.last("unshelve_instance")[1] == "h4"


# ---------------------------------------------------------------- rebuild

def test_rebuild_claims_rebuilding_and_changes_name_and_metadata(core, bus):
    uuid = add_instance(core.db, vm_state=states.ERROR, host="h1")
    inst = core.move_actions.rebuild(MEMBER, uuid, RebuildRequest(IMAGE_ID, name="new",
                                                                  metadata={"a": "b"}))
    assert (inst.vm_state, inst.task_state) == (states.ERROR, states.REBUILDING)
    assert (inst.display_name, inst.metadata_items) == ("new", {"a": "b"})
    assert bus.last("rebuild_instance")[0]["image"]["id"] == IMAGE_ID
    assert recorded(core, uuid) == ["rebuild"]
    with pytest.raises(errors.NotFound):
        core.move_actions.rebuild(MEMBER, "00000000-0000-4000-8000-000000000000",
                                  RebuildRequest(IMAGE_ID))
    with pytest.raises(errors.InvalidInput):
        core.move_actions.rebuild(MEMBER, add_instance(core.db), RebuildRequest("no-such-image"))
    shelved = add_instance(core.db, vm_state=states.SHELVED_OFFLOADED, host=None)
    with pytest.raises(errors.Conflict):
        core.move_actions.rebuild(MEMBER, shelved, RebuildRequest(IMAGE_ID))


# ---------------------------------------------------------------- migrations

def test_migrate_is_an_admins_resize_to_the_same_flavor_elsewhere(core, bus):
    uuid = add_instance(core.db, vm_state=states.STOPPED, host="h5")
    with pytest.raises(errors.Forbidden):
        core.move_actions.migrate(MEMBER, uuid)
    core.move_actions.migrate(ADMIN, uuid)
    inst = core.instances.get(uuid)
    assert inst.task_state == states.RESIZE_PREP and inst.new_flavor == inst.flavor
    spec = bus.last("resize_instance")[0]["request_spec"]
    assert spec["ignore_hosts"] == ["h5"]
    assert moves_of(core, uuid) == [("migration", "pre-migrating", "h5")]
    assert recorded(core, uuid) == ["migrate"]


def test_resize_records_a_resize_migration(core, bus):
    uuid = add_instance(core.db, host="h6")
    core.server_actions.resize(MEMBER, uuid, "2")
    assert moves_of(core, uuid) == [("resize", "pre-migrating", "h6")]
    with core.db.session() as s:
        row = s.scalar(select(Migration).where(Migration.instance_uuid == uuid))
        assert row.old_instance_type_id != row.new_instance_type_id


def test_live_migration_checks_its_destination(core, bus):
    add_compute_host(core.db, "h1")
    add_compute_host(core.db, "h2")
    add_compute_host(core.db, "dead", up=False)
    uuid = add_instance(core.db, host="h1")
    for host, message in (("h1", "current host"), ("nowhere", "could not be found"),
                          ("dead", "unavailable")):
        with pytest.raises(errors.InvalidInput, match=message):
            core.move_actions.live_migrate(ADMIN, uuid, host)
    core.move_actions.live_migrate(ADMIN, uuid, "h2")
    assert state(core, uuid) == (states.ACTIVE, states.MIGRATING)
    assert bus.last("live_migrate_instance")[0]["request_spec"]["force_host"] == "h2"
    assert moves_of(core, uuid) == [("live-migration", "accepted", "h1")]
    stopped = add_instance(core.db, vm_state=states.STOPPED)
    with pytest.raises(errors.Conflict):
        core.move_actions.live_migrate(ADMIN, stopped, None)


def test_evacuate_only_from_a_host_that_is_down(core, bus):
    add_compute_host(core.db, "h1")
    add_compute_host(core.db, "gone", up=False)
    alive = add_instance(core.db, host="h1")
    with pytest.raises(errors.InvalidInput, match="still in use"):
        core.move_actions.evacuate(ADMIN, alive, None)
    uuid = add_instance(core.db, vm_state=states.STOPPED, host="gone")
    with pytest.raises(errors.Forbidden):
        core.move_actions.evacuate(MEMBER, uuid, None)
    core.move_actions.evacuate(ADMIN, uuid, None)
    assert state(core, uuid) == (states.STOPPED, states.REBUILDING)
    assert bus.last("evacuate_instance")[0]["uuid"] == uuid
    assert moves_of(core, uuid) == [("evacuation", "accepted", "gone")]
    listed = core.migrations.list_migrations(ADMIN, MigrationQuery(migration_type="evacuation"))
    assert [m.instance_uuid for m in listed] == [uuid]


# ---------------------------------------------------------------- backups, multinic

def test_backup_needs_an_image_backed_server(core, bus):
    volume_backed = add_instance(core.db, image_ref=None)
    with pytest.raises(errors.InvalidInput):
        core.move_actions.create_backup(MEMBER, volume_backed, "b", "daily", 1)
    uuid = add_instance(core.db)
    image_id = core.move_actions.create_backup(MEMBER, uuid, "b", "daily", 1)
    props = core.images.show(ADMIN, image_id or "").image.properties
    assert (props["image_type"], props["backup_type"]) == ("backup", "daily")
    assert bus.last("snapshot_instance")[0]["image_id"] == image_id

