"""The agent's side of the state actions through a real conductor (no bus): the
simulated driver does the work, the conductor applies the end vm_state and the
guest's power state as a compare-and-swap on the task and sends the ``.end``
notification, or clears the task with a fault when the driver failed. Then the
periodic reclaim of soft-deleted servers (core/conductor/reclaim.py) and the
power-state sync of paused servers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.agent.manager import ComputeAgent, HostResources
from core.agent.virt import build_driver
from core.clock import utcnow
from core.compute import states
from core.compute.instance_store import instance_message
from core.compute.models import InstanceAction, InstanceActionEvent, InstanceFault
from core.compute.notifications import Notifier
from core.conductor.reclaim import Reclaim
from core.conductor.recovery import BuildWatch
from core.conductor.wiring import build_conductor, watch_builds
from tests.support.core_services import RecordingBus, add_compute_host, add_instance, make_core


@pytest.fixture
def core(tmp_path):
    core = make_core(tmp_path, RecordingBus(), fixed_range="10.9.0.0/28")
    add_compute_host(core.db, "h1")
    yield core
    core.db.dispose()


@pytest.fixture
def conductor(core):
    return build_conductor(core)


@pytest.fixture
def agent(core, conductor) -> ComputeAgent:
    return ComputeAgent(HostResources("h1", 8, 8192, 80), build_driver("simulated", host="h1"),
                        bus=core.bus, conductor=conductor,  # type: ignore[arg-type]
                        notifier=Notifier(core.bus, "compute.h1"))


def guest(core, agent, **fields) -> tuple[str, dict]:
    uuid = add_instance(core.db, **fields)
    message = instance_message(core.instances.get(uuid))
    agent.driver.spawn(message, {"name": "cirros"})
    return uuid, message


def now(core, uuid) -> tuple:
    inst = core.instances.get(uuid)
    return inst.vm_state, inst.task_state, inst.power_state


@pytest.mark.parametrize(("endpoint", "before", "task", "after", "power"), [
    ("pause_instance", states.ACTIVE, states.PAUSING, states.PAUSED_VM, states.PAUSED),
    ("suspend_instance", states.ACTIVE, states.SUSPENDING, states.SUSPENDED_VM,
     states.SUSPENDED),
    ("soft_delete_instance", states.ACTIVE, states.SOFT_DELETING, states.SOFT_DELETED,
     states.SHUTDOWN),
    ("unrescue_instance", states.RESCUED, states.UNRESCUING, states.ACTIVE, states.RUNNING),
])
def test_the_agent_ends_each_action_through_the_conductor(core, agent, endpoint, before,
                                                         task, after, power):
    uuid, message = guest(core, agent, vm_state=before, task_state=task)
    getattr(agent, endpoint)(message)
    assert now(core, uuid) == (after, None, power)
    action = endpoint.removesuffix("_instance")
    assert core.bus.events()[-2:] == [f"compute.instance.{action}.start",  # type: ignore
                                      f"compute.instance.{action}.end"]


def test_unpause_and_resume_and_restore_bring_the_guest_back(core, agent):
    uuid, message = guest(core, agent, task_state=states.PAUSING)
    agent.pause_instance(message)
    core.instances.update(uuid, {"task_state": states.UNPAUSING})
    agent.unpause_instance(message)
    assert now(core, uuid) == (states.ACTIVE, None, states.RUNNING)
    core.instances.update(uuid, {"task_state": states.SOFT_DELETING})
    agent.soft_delete_instance(message)
    core.instances.update(uuid, {"task_state": states.RESTORING})
    agent.restore_instance(message)
    assert now(core, uuid) == (states.ACTIVE, None, states.RUNNING)


def test_rescue_and_password_reach_the_driver(core, agent):
    uuid, message = guest(core, agent, task_state=states.RESCUING)
    agent.rescue_instance(message, {"id": "img", "name": "rescue"}, "pw")
    assert now(core, uuid) == (states.RESCUED, None, states.RUNNING)
    assert agent.driver.list_instances()[0].rescue_image == "img"
    core.instances.update(uuid, {"vm_state": states.ACTIVE,
                                 "task_state": states.UPDATING_PASSWORD})
    before = agent.driver.list_instances()[0].admin_password_sha256
    agent.set_admin_password(message, "new")
    assert now(core, uuid)[:2] == (states.ACTIVE, None)
    assert agent.driver.list_instances()[0].admin_password_sha256 not in (None, before)


def test_a_driver_failure_clears_the_task_with_a_fault(core, agent):
    uuid, message = guest(core, agent, vm_state=states.ACTIVE, task_state=states.SUSPENDING)
    agent.driver.pause(message)  # paused behind the database's back
    agent.suspend_instance(message)
    assert now(core, uuid)[:2] == (states.ACTIVE, None)
    with core.db.session() as s:
        faults = list(s.scalars(select(InstanceFault.message)
                                .where(InstanceFault.instance_uuid == uuid)))
    assert faults and "cannot go suspended" in faults[0]
    assert core.bus.events()[-1] == "compute.instance.suspend.error"  # type: ignore


def test_an_action_overtaken_by_another_changes_nothing(core, agent):
    uuid, message = guest(core, agent, task_state=states.PAUSING)
    core.instances.update(uuid, {"task_state": states.DELETING})  # a delete came first
    agent.pause_instance(message)
    assert now(core, uuid)[:2] == (states.ACTIVE, states.DELETING)


def events_of(core, uuid) -> list[tuple[str, str, str | None, str | None]]:
    with core.db.session() as s:
        return list(s.execute(select(InstanceActionEvent.event, InstanceActionEvent.result,
                                     InstanceActionEvent.host, InstanceAction.message)
                              .join(InstanceAction)
                              .where(InstanceAction.instance_uuid == uuid)))


def test_each_action_gets_its_hosts_event_once(core, agent, conductor):
    uuid, message = guest(core, agent, task_state=states.PAUSING)
    with core.db.session() as s:
        s.add(InstanceAction(instance_uuid=uuid, action="pause", request_id="req-1"))
    agent.pause_instance(message)
    assert events_of(core, uuid) == [("compute_pause_instance", "Success", "h1", None)]
    # the agent's report delivered again: applied already, no second event
    conductor.action_finished(uuid, "h1", "pause", {"vm_state": states.PAUSED_VM,
                              "power_state": states.PAUSED, "task_state": None},
                              [states.PAUSING])
    assert len(events_of(core, uuid)) == 1
    core.instances.update(uuid, {"task_state": states.SUSPENDING})
    with core.db.session() as s:
        s.add(InstanceAction(instance_uuid=uuid, action="suspend", request_id="req-2"))
    agent.suspend_instance(message)  # a paused guest cannot be suspended: the driver fails
    failed = [e for e in events_of(core, uuid) if e[0] == "compute_suspend_instance"]
    assert failed == [("compute_suspend_instance", "Error", "h1", "Error")]


# ---------------------------------------------------------------- reclaim

def soft_deleted(core, age: float, **fields) -> str:
    return add_instance(core.db, vm_state=states.SOFT_DELETED,
                        deleted_at=utcnow() - timedelta(seconds=age), **fields)


def test_reclaim_deletes_what_waited_long_enough(core, conductor):
    old = soft_deleted(core, 7200)
    young = soft_deleted(core, 60)
    busy = soft_deleted(core, 7200, task_state=states.RESTORING)
    assert Reclaim(conductor.deps).reclaim(3600) == [old]
    assert now(core, old)[1] == states.DELETING
    assert core.bus.last("terminate_instance")[1] == "h1"  # type: ignore[attr-defined]
    assert now(core, young)[:2] == (states.SOFT_DELETED, None)
    assert now(core, busy)[1] == states.RESTORING
    assert Reclaim(conductor.deps).reclaim(3600) == []  # each once


def test_reclaim_on_a_host_that_is_down_deletes_in_the_database(core, conductor):
    add_compute_host(core.db, "h-down", up=False)
    gone = soft_deleted(core, 7200, host="h-down")
    assert Reclaim(conductor.deps).reclaim(3600) == [gone]
    assert core.instances.get(gone, deleted=True).deleted


def test_the_periodic_check_reclaims_only_with_an_interval(core, conductor):
    old = soft_deleted(core, 7200)
    BuildWatch(conductor.recovery, 0, 60, reclaim=Reclaim(conductor.deps),
               reclaim_interval=0).check()
    assert now(core, old)[1] is None
    BuildWatch(conductor.recovery, 0, 60, reclaim=Reclaim(conductor.deps),
               reclaim_interval=3600).check()
    assert now(core, old)[1] == states.DELETING


# ---------------------------------------------------------------- power-state sync

def test_a_paused_server_whose_guest_powered_off_is_stopped(core, conductor):
    paused = add_instance(core.db, vm_state=states.PAUSED_VM, power_state=states.PAUSED)
    suspended = add_instance(core.db, vm_state=states.SUSPENDED_VM,
                             power_state=states.SUSPENDED)
    rescued = add_instance(core.db, vm_state=states.RESCUED, power_state=states.RUNNING)
    settled = conductor.recovery.settled_instances("h1")
    assert {paused, suspended, rescued} <= set(settled)
    result = conductor.recovery.sync_power_states(
        "h1", {paused: states.SHUTDOWN, suspended: states.SUSPENDED}, settled)
    assert result["stopped"] == [paused] and result["lost"] == [rescued]
    assert now(core, paused)[0] == states.STOPPED
    assert now(core, suspended)[0] == states.SUSPENDED_VM
    assert now(core, rescued)[0] == states.ERROR


def test_the_conductors_watch_reclaims_with_the_setting(tmp_path):
    services = make_core(tmp_path, RecordingBus(), fixed_range="10.9.0.0/28",
                         reclaim_instance_interval=5, build_timeout=0)
    try:
        watch = watch_builds(services)
        assert isinstance(watch.reclaim, Reclaim) and watch.reclaim_interval == 5
    finally:
        services.db.dispose()
