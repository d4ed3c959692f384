"""core/conductor/recovery.py: builds whose flow is gone end in ERROR with what
they held given back; a host's power-state report stops, loses or removes what
the database and the hypervisor disagree on (issue 10, defect 2)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.clock import utcnow
from core.compute import states
from core.compute.models import Instance, InstanceFault
from core.compute.usage import quota_deltas
from core.conductor.build import fail_build
from core.conductor.wiring import build_conductor
from core.placement import claims
from core.placement.models import Allocation, ComputeNode
from tests.support.core_services import RecordingBus, add_compute_host, make_core

FLAVOR = {"flavorid": "1", "name": "m1.tiny", "vcpus": 1, "memory_mb": 512, "root_gb": 1,
          "ephemeral_gb": 0, "swap": 0}
RESOURCES = {"vcpus": 1, "memory_mb": 512, "disk_gb": 1}


@pytest.fixture
def core(tmp_path):
    core = make_core(tmp_path, RecordingBus(), fixed_range="10.9.0.0/28")
    add_compute_host(core.db, "h1", vcpus=8, memory_mb=8192, local_gb=80, vcpus_used=0,
                     memory_mb_used=0, local_gb_used=0, running_vms=0)
    yield core
    core.db.dispose()


def instance(core, vm_state=states.BUILDING, task_state=states.SCHEDULING, host=None,
             age: float = 0.0, claim=False) -> str:
    with core.db.session() as s:
        core.quotas.reserve(s, "p", quota_deltas(FLAVOR))
        inst = Instance(display_name="vm", project_id="p", user_id="u", flavor=FLAVOR,
                        flavorid="1", vcpus=1, memory_mb=512, root_gb=1, reservation_id="r",
                        vm_state=vm_state, task_state=task_state, host=host, node=host,
                        quota_held=True, power_state=states.RUNNING
                        if vm_state == states.ACTIVE else states.NOSTATE)
        s.add(inst)
        s.flush()
        uuid = inst.uuid
        s.execute(update(Instance).where(Instance.uuid == uuid).values(
            task_state=task_state, updated_at=utcnow() - timedelta(seconds=age)))
    if claim:
        with core.db.session() as s:
            node = s.scalar(select(ComputeNode.id).where(ComputeNode.host == "h1"))
        assert claims.claim_resources(core.db, uuid, node, RESOURCES, "p")
        core.ipam.allocate(uuid, "p", None, (), "h1")
    return uuid


def state(core, uuid) -> tuple:
    inst = core.instances.get(uuid)
    return inst.vm_state, inst.task_state, inst.power_state


def fault(core, uuid) -> str | None:
    with core.db.session() as s:
        return s.scalar(select(InstanceFault.message).where(InstanceFault.instance_uuid == uuid))


def test_every_build_in_flight_fails_at_start_and_gives_everything_back(core):
    recovery = build_conductor(core).recovery
    waiting = instance(core)
    handed = instance(core, task_state=states.NETWORKING, host="h1", claim=True)
    spawning = instance(core, task_state=states.SPAWNING, host="h1", claim=True)
    running = instance(core, states.ACTIVE, None, host="h1", claim=True)
    assert sorted(recovery.fail_interrupted_builds(0)) == sorted([waiting, handed, spawning])
    for uuid in (waiting, handed, spawning):
        assert state(core, uuid)[:2] == (states.ERROR, None)
        assert "was interrupted" in fault(core, uuid)
        assert core.ipam.addresses_for([uuid]).get(uuid, []) == []
    assert state(core, running)[0] == states.ACTIVE
    with core.db.session() as s:
        assert list(s.scalars(select(Allocation.consumer_uuid))) == [running]
        assert s.scalar(select(ComputeNode.vcpus_used)) == 1
    assert core.quotas.usage("p")["instances"] == 1
    assert recovery.fail_interrupted_builds(0) == []  # and only once


def test_the_periodic_check_fails_only_builds_older_than_the_timeout(core):
    recovery = build_conductor(core).recovery
    fresh = instance(core, age=10)
    stale = instance(core, task_state=states.SPAWNING, host="h1", age=700, claim=True)
    assert recovery.fail_interrupted_builds(600) == [stale]
    assert state(core, fresh)[0] == states.BUILDING


def test_a_build_that_moved_since_it_was_read_is_not_failed(core):
    uuid = instance(core, age=700)
    generation = core.instances.get(uuid).generation
    core.instances.update(uuid, {"task_state": states.SCHEDULING})  # a live flow touched it
    assert not fail_build(build_conductor(core).deps, uuid, "x", None, generation=generation)
    assert state(core, uuid)[0] == states.BUILDING


def test_power_state_sync(core):
    recovery = build_conductor(core).recovery
    powered_off = instance(core, states.ACTIVE, None, host="h1")
    lost = instance(core, states.ACTIVE, None, host="h1")
    fine = instance(core, states.ACTIVE, None, host="h1")
    busy = instance(core, states.ACTIVE, states.REBOOTING, host="h1")
    failed_build = instance(core, states.ERROR, None)
    settled = recovery.settled_instances("h1")
    assert set(settled) == {powered_off, lost, fine}
    result = recovery.sync_power_states("h1", {
        powered_off: states.SHUTDOWN, fine: states.RUNNING, failed_build: states.RUNNING,
        "no-such-instance": states.RUNNING}, settled)
    assert result["stopped"] == [powered_off] and result["lost"] == [lost]
    assert sorted(result["strays"]) == sorted([failed_build, "no-such-instance"])
    assert state(core, powered_off) == (states.STOPPED, None, states.SHUTDOWN)
    assert state(core, lost) == (states.ERROR, None, states.NOSTATE)
    assert "was lost" in fault(core, lost)
    assert state(core, fine) == (states.ACTIVE, None, states.RUNNING)
    assert state(core, busy)[:2] == (states.ACTIVE, states.REBOOTING)  # mid-action: left


def test_a_build_landing_between_the_two_reads_is_not_lost(core):
    """The host lists its guests after the settled instances are read: a build that
    spawned after the listing and went ACTIVE before the sync is not in either,
    and an instance an action moved after the first read is left alone."""
    recovery = build_conductor(core).recovery
    moved = instance(core, states.ACTIVE, None, host="h1")
    settled = recovery.settled_instances("h1")
    landed = instance(core, states.ACTIVE, None, host="h1")  # not in the guest list
    core.instances.update(moved, {"power_state": states.RUNNING})  # a change meanwhile
    result = recovery.sync_power_states("h1", {}, settled)
    assert result["lost"] == []
    assert state(core, landed)[0] == states.ACTIVE
    assert state(core, moved)[0] == states.ACTIVE
