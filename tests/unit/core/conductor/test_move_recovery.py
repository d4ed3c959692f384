"""Moves whose flow is gone are settled: the server is left where an operator
can act on it, and its claims equal what it runs again; a move still in time
is left alone."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.compute import states
from core.compute.models import Migration
from core.compute.usage import migration_consumer
from core.conductor.move_recovery import MoveRecovery
from core.conductor.wiring import build_conductor
from core.image.listing import ImageQuery
from core.placement import claims
from core.placement.models import Allocation
from tests.support.core_services import (
    ADMIN,
    RecordingBus,
    add_compute_host,
    add_instance,
    make_core,
)

TINY = {"vcpus": 1, "memory_mb": 512, "disk_gb": 1}


@pytest.fixture
def setup(tmp_path):
    bus = RecordingBus()
    core = make_core(tmp_path, bus, fixed_range="10.9.0.0/28")
    conductor = build_conductor(core)
    nodes = {h: add_compute_host(core.db, h, vcpus_used=0, memory_mb_used=0,
                                 local_gb_used=0, running_vms=0)[1] for h in ("h1", "h2")}
    yield core, MoveRecovery(conductor.deps), nodes
    core.db.dispose()


def held(core, consumer: str) -> list[int]:
    with core.db.session() as s:
        return sorted(s.scalars(select(Allocation.node_id).where(
            Allocation.consumer_uuid == consumer)))


def claim(core, consumer: str, node: int) -> None:
    assert claims.claim_resources(core.db, consumer, node, TINY, "p1")


def test_an_interrupted_unshelve_is_offloaded_again(setup):
    core, recovery, nodes = setup
    uuid = add_instance(core.db, vm_state=states.SHELVED_OFFLOADED,
                        task_state=states.SPAWNING, host="h1")
    claim(core, uuid, nodes["h1"])
    assert recovery.recover_interrupted_moves(0) == [uuid]
    inst = core.instances.get(uuid)
    assert (inst.vm_state, inst.task_state, inst.host) == (states.SHELVED_OFFLOADED, None,
                                                           None)
    assert held(core, uuid) == []
    assert "interrupted" in core.instances.latest_faults([uuid])[uuid].message


def test_an_interrupted_live_migration_stays_on_its_source(setup):
    core, recovery, nodes = setup
    uuid = add_instance(core.db, task_state=states.MIGRATING, host="h1")
    claim(core, migration_consumer(uuid), nodes["h1"])  # parked
    claim(core, uuid, nodes["h2"])  # the destination's claim
    with core.db.session() as s:
        s.add(Migration(instance_uuid=uuid, migration_type="live-migration",
                        status="running", source_compute="h1", dest_compute="h2"))
    assert recovery.recover_interrupted_moves(0) == [uuid]
    inst = core.instances.get(uuid)
    assert (inst.vm_state, inst.task_state, inst.host) == (states.ACTIVE, None, "h1")
    assert held(core, uuid) == [nodes["h1"]]
    assert held(core, migration_consumer(uuid)) == []
    with core.db.session() as s:
        assert s.scalar(select(Migration.status)) == "error"


def test_a_live_migration_interrupted_before_parking_keeps_its_claim(setup):
    core, recovery, nodes = setup
    uuid = add_instance(core.db, task_state=states.MIGRATING, host="h1")
    claim(core, uuid, nodes["h1"])
    recovery.recover_interrupted_moves(0)
    assert held(core, uuid) == [nodes["h1"]]


def test_an_interrupted_evacuation_leaves_the_server_on_its_new_host_in_error(setup):
    core, recovery, nodes = setup
    uuid = add_instance(core.db, task_state=states.REBUILDING, host="h2")
    claim(core, migration_consumer(uuid), nodes["h1"])
    claim(core, uuid, nodes["h2"])
    with core.db.session() as s:
        s.add(Migration(instance_uuid=uuid, migration_type="evacuation",
                        status="migrating", source_compute="h1", dest_compute="h2"))
    recovery.recover_interrupted_moves(0)
    inst = core.instances.get(uuid)
    assert (inst.vm_state, inst.task_state) == (states.ERROR, None)
    assert held(core, uuid) == [nodes["h2"]]
    assert held(core, migration_consumer(uuid)) == []


def test_an_interrupted_shelve_is_cleared_and_its_queued_image_goes(setup):
    core, recovery, nodes = setup
    uuid = add_instance(core.db, task_state=states.SHELVING_IMAGE_UPLOADING, host="h1")
    image = core.images.create(ADMIN, {"name": "vm-shelved", "disk_format": "raw",
                                       "container_format": "bare"})
    core.instances.update(uuid, {"system_metadata": {"shelved_image_id": image.id}})
    recovery.recover_interrupted_moves(0)
    assert core.instances.get(uuid).task_state is None
    assert core.images.list_images(ADMIN, _by_name("vm-shelved"))[0] == []


def test_a_recent_move_is_left_alone(setup):
    core, recovery, nodes = setup
    uuid = add_instance(core.db, task_state=states.MIGRATING, host="h1")
    assert recovery.recover_interrupted_moves(600) == []
    assert core.instances.get(uuid).task_state == states.MIGRATING


def _by_name(name: str) -> ImageQuery:
    return ImageQuery(filters={"name": name})
