"""The move flows end to end in one process (SQLite, in-memory bus, three
simulated hosts): shelve with and without offload, unshelve, rebuild, cold
and live migration, evacuation, backups. After each move the instance's
allocations sit on exactly the host it runs on, matching its flavor, and
every node's usage equals what its instances hold."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select, update

from core import errors
from core.agent.virt import DriverError
from core.compute import states
from core.compute.migration_records import MigrationQuery
from core.compute.models import ComputeService, Instance, Migration
from core.compute.rebuild import RebuildRequest
from core.compute.usage import migration_consumer
from core.placement.models import Allocation, ComputeNode
from tests.support.core_services import ADMIN, MEMBER
from tests.unit.core.conductor.test_build_flows import CTX, Plane, active

TINY = {"vcpus": 1, "memory_mb": 512, "disk_gb": 1}


@pytest.fixture
def plane(tmp_path):
    p = Plane(tmp_path).start()
    yield p
    p.stop()


@pytest.fixture
def kept_plane(tmp_path):
    """Shelving keeps the guest on its host (no offload at once)."""
    p = Plane(tmp_path, shelved_offload_time=-1).start()
    yield p
    p.stop()


def allocations(plane: Plane, uuid: str) -> dict[str, dict[str, int]]:
    """The consumer's allocations by host."""
    with plane.db.session() as s:
        rows = s.execute(select(ComputeNode.host, Allocation.vcpus, Allocation.memory_mb,
                                Allocation.disk_gb).join(
            ComputeNode, ComputeNode.id == Allocation.node_id).where(
            Allocation.consumer_uuid == uuid)).all()
    return {r.host: {"vcpus": r.vcpus, "memory_mb": r.memory_mb, "disk_gb": r.disk_gb}
            for r in rows}


def assert_claims(plane: Plane, uuid: str) -> Instance:
    """The instance's claim is on its host only, for its flavor; nothing parked;
    each node's usage is the sum of its allocations."""
    inst = plane.core.instances.get(uuid)
    if inst.host is None:
        assert allocations(plane, uuid) == {}
    else:
        assert allocations(plane, uuid) == {inst.host: {
            "vcpus": inst.vcpus, "memory_mb": inst.memory_mb, "disk_gb": inst.root_gb}}
    assert allocations(plane, migration_consumer(uuid)) == {}
    with plane.db.session() as s:
        for node in s.scalars(select(ComputeNode)):
            held = s.execute(select(func.coalesce(func.sum(Allocation.memory_mb), 0),
                                    func.count()).where(Allocation.node_id == node.id)).one()
            assert (node.memory_mb_used, node.running_vms) == (held[0], held[1]), node.host
    return inst


def settled(status_vm: str):
    return lambda i: i.vm_state == status_vm and i.task_state is None


def migrations(plane: Plane, uuid: str) -> list[tuple[str, str]]:
    with plane.db.session() as s:
        return [(m.migration_type, m.status) for m in s.scalars(
            select(Migration).where(Migration.instance_uuid == uuid).order_by(Migration.id))]


def test_shelve_offloads_at_once_and_unshelve_schedules_again(plane):
    uuid = plane.boot()[0]
    plane.wait([uuid], active)
    moves = plane.core.move_actions
    moves.shelve(CTX, uuid)
    inst = plane.wait([uuid], settled(states.SHELVED_OFFLOADED))[0]
    assert inst.host is None and inst.node is None
    assert inst.power_state == states.SHUTDOWN
    image_id = inst.system_metadata["shelved_image_id"]
    image = plane.images.show(ADMIN, image_id).image
    assert image.name == "vm-shelved" and image.status == "active"
    assert_claims(plane, uuid)
    with pytest.raises(errors.Conflict):
        moves.shelve(CTX, uuid)
    moves.unshelve(CTX, uuid)
    inst = plane.wait([uuid], active)[0]
    assert inst.host and inst.power_state == states.RUNNING
    assert "shelved_image_id" not in (inst.system_metadata or {})
    assert_claims(plane, uuid)
    with pytest.raises(errors.NotFound):
        plane.images.show(ADMIN, image_id)
    events = [e for e, _ in plane.events]
    assert "compute.instance.shelve_offload.end" in events
    assert "compute.instance.unshelve.end" in events
    actions = [a.action for a in plane.servers.actions(CTX, uuid)]
    assert actions[:2] == ["unshelve", "shelve"]


def test_shelve_without_offload_keeps_the_host_until_shelve_offload(kept_plane):
    plane = kept_plane
    uuid = plane.boot()[0]
    host = plane.wait([uuid], active)[0].host
    moves = plane.core.move_actions
    moves.shelve(CTX, uuid)
    inst = plane.wait([uuid], settled(states.SHELVED))[0]
    assert inst.host == host
    assert_claims(plane, uuid)
    with pytest.raises(errors.Forbidden):
        moves.shelve_offload(MEMBER, uuid)
    moves.shelve_offload(ADMIN, uuid)
    inst = plane.wait([uuid], settled(states.SHELVED_OFFLOADED))[0]
    assert inst.host is None
    assert_claims(plane, uuid)
    assert plane.agent(host).driver.power_state(uuid) == states.NOSTATE


def test_unshelve_on_the_same_host_powers_on(kept_plane):
    plane = kept_plane
    uuid = plane.boot()[0]
    host = plane.wait([uuid], active)[0].host
    plane.core.move_actions.shelve(CTX, uuid)
    plane.wait([uuid], settled(states.SHELVED))
    plane.core.move_actions.unshelve(CTX, uuid)
    inst = plane.wait([uuid], active)[0]
    assert inst.host == host and inst.power_state == states.RUNNING
    assert_claims(plane, uuid)


def test_rebuild_keeps_the_host_and_takes_the_new_image(plane):
    uuid = plane.boot()[0]
    host = plane.wait([uuid], active)[0].host
    inst = plane.core.move_actions.rebuild(CTX, uuid, RebuildRequest(
        "11111111-1111-1111-1111-111111111111", name="renamed", metadata={"k": "v"}))
    assert inst.task_state == states.REBUILDING
    inst = plane.wait([uuid], active)[0]
    assert (inst.host, inst.display_name, inst.metadata_items) == (host, "renamed",
                                                                   {"k": "v"})
    assert_claims(plane, uuid)
    with pytest.raises(errors.InvalidInput):
        plane.core.move_actions.rebuild(CTX, uuid,
                                        RebuildRequest("22222222-2222-2222-2222-222222222222"))


def test_cold_migration_confirm_and_revert(plane):
    uuid = plane.boot()[0]
    source = plane.wait([uuid], active)[0].host
    moves, actions = plane.core.move_actions, plane.actions
    with pytest.raises(errors.Forbidden):
        moves.migrate(CTX, uuid)
    moves.migrate(ADMIN, uuid)
    inst = plane.wait([uuid], settled(states.RESIZED))[0]
    assert inst.host != source and inst.flavor["flavorid"] == "1"
    assert allocations(plane, uuid) == {inst.host: TINY}
    assert allocations(plane, migration_consumer(uuid)) == {source: TINY}
    actions.confirm_resize(ADMIN, uuid)
    assert_claims(plane, uuid)
    moved_to = plane.core.instances.get(uuid).host
    moves.migrate(ADMIN, uuid)
    plane.wait([uuid], settled(states.RESIZED))
    actions.revert_resize(ADMIN, uuid)
    inst = plane.wait([uuid], active)[0]
    assert inst.host == moved_to
    assert_claims(plane, uuid)
    assert migrations(plane, uuid) == [("migration", "confirmed"), ("migration", "reverted")]


def test_live_migration_moves_a_running_guest(plane):
    uuid = plane.boot()[0]
    source = plane.wait([uuid], active)[0].host
    plane.core.move_actions.live_migrate(ADMIN, uuid, None)
    inst = plane.wait([uuid], lambda i: active(i) and i.host != source)[0]
    assert inst.power_state == states.RUNNING
    assert_claims(plane, uuid)
    assert plane.agent(inst.host).driver.power_state(uuid) == states.RUNNING
    plane.wait([uuid], lambda i: plane.agent(source).driver.power_state(uuid) == 0)
    target = next(a.host for a in plane.plane.agents if a.host not in (source, inst.host))
    plane.core.move_actions.live_migrate(ADMIN, uuid, target)
    inst = plane.wait([uuid], lambda i: active(i) and i.host == target)[0]
    assert_claims(plane, uuid)
    with pytest.raises(errors.InvalidInput):
        plane.core.move_actions.live_migrate(ADMIN, uuid, target)
    with pytest.raises(errors.InvalidInput, match="could not be found"):
        plane.core.move_actions.live_migrate(ADMIN, uuid, "no-such-host")
    assert migrations(plane, uuid) == [("live-migration", "completed")] * 2


def test_evacuate_needs_the_host_down_and_rebuilds_elsewhere(plane):
    uuid = plane.boot()[0]
    source = plane.wait([uuid], active)[0].host
    moves = plane.core.move_actions
    with pytest.raises(errors.InvalidInput, match="still in use"):
        moves.evacuate(ADMIN, uuid, None)
    with plane.db.session() as s:
        s.execute(update(ComputeService).where(ComputeService.host == source)
                  .values(forced_down=True))
    with pytest.raises(errors.InvalidInput, match="same one"):
        moves.evacuate(ADMIN, uuid, source)
    with pytest.raises(errors.NotFound, match="could not be found"):
        moves.evacuate(ADMIN, uuid, "no-such-host")
    moves.evacuate(ADMIN, uuid, None)
    plane.wait([uuid], lambda i: active(i) and i.host != source)
    assert_claims(plane, uuid)
    assert migrations(plane, uuid) == [("evacuation", "done")]
    listed = plane.core.migrations.list_migrations(ADMIN, MigrationQuery(host=source))
    assert [m.migration_type for m in listed] == ["evacuation"]
    with pytest.raises(errors.Forbidden):
        plane.core.migrations.list_migrations(CTX, MigrationQuery())


def test_backups_rotate(plane):
    uuid = plane.boot()[0]
    plane.wait([uuid], active)
    made = []
    for i in range(3):
        made.append(plane.core.move_actions.create_backup(CTX, uuid, f"b{i}", "daily", 2))
        plane.wait([uuid], active)
    kept = [i for i in made if _exists(plane, i)]
    assert kept == made[1:]
    assert plane.core.move_actions.create_backup(CTX, uuid, "none", "daily", 0) is None
    assert not any(_exists(plane, i) for i in made)


def _exists(plane: Plane, image_id: str | None) -> bool:
    try:
        plane.images.show(ADMIN, image_id or "")
        return True
    except errors.NotFound:
        return False


def test_a_failed_shelve_leaves_the_server_as_it_was(plane, monkeypatch):
    uuid = plane.boot()[0]
    host = plane.wait([uuid], active)[0].host
    driver = plane.agent(host).driver

    def broken(instance):
        raise DriverError("disk unreadable")

    monkeypatch.setattr(driver, "snapshot", broken)
    plane.core.move_actions.shelve(CTX, uuid)
    inst = plane.wait([uuid], active)[0]
    assert inst.host == host and driver.power_state(uuid) == states.RUNNING
    image_id = inst.system_metadata["shelved_image_id"]
    plane.wait([uuid], lambda i: not _exists(plane, image_id))
    assert_claims(plane, uuid)
    assert plane.core.instances.latest_faults([uuid])[uuid].message == "disk unreadable"


def test_unshelve_without_a_host_stays_offloaded(plane):
    uuid = plane.boot()[0]
    plane.wait([uuid], active)
    plane.core.move_actions.shelve(CTX, uuid)
    plane.wait([uuid], settled(states.SHELVED_OFFLOADED))
    with plane.db.session() as s:
        s.execute(update(ComputeService).where(ComputeService.binary == "nova-compute")
                  .values(disabled=True))
    plane.core.move_actions.unshelve(CTX, uuid)
    inst = plane.wait([uuid], settled(states.SHELVED_OFFLOADED))[0]
    assert inst.host is None
    assert_claims(plane, uuid)
    assert "No valid host" in plane.core.instances.latest_faults([uuid])[uuid].message


def test_a_server_deleted_during_its_live_migration_leaves_no_claim(plane):
    uuid = plane.boot()[0]
    source = plane.wait([uuid], active)[0].host
    for agent in plane.plane.agents:
        if agent.host != source:
            agent.driver.operation_time = 0.3  # the delete overtakes the arrival
    plane.core.move_actions.live_migrate(ADMIN, uuid, None)
    plane.wait([uuid], lambda i: i.task_state == states.MIGRATING)
    plane.servers.delete(ADMIN, uuid)
    plane.wait([uuid], lambda i: i.deleted)
    deadline = 10.0
    start = time.monotonic()
    while (allocations(plane, uuid) or allocations(plane, migration_consumer(uuid))) \
            and time.monotonic() - start < deadline:
        time.sleep(0.05)
    assert allocations(plane, uuid) == {} == allocations(plane, migration_consumer(uuid))
    time.sleep(0.5)  # the arrival's report comes after the delete
    assert allocations(plane, uuid) == {}
    with plane.db.session() as s:
        for node in s.scalars(select(ComputeNode)):
            assert node.memory_mb_used == 0 and node.running_vms == 0, node.host
