"""core/compute/state_actions.py: each state action's allowed vm_states (a wrong
one is Nova's Conflict message), the task it claims, the instance action it
records and the cast to the agent of the server's host; resetState for admins;
soft delete, restore and forceDelete with ``reclaim_instance_interval``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from core import errors
from core.clock import utcnow
from core.compute import states
from core.compute.models import InstanceAction
from core.compute.state_actions import StateActions
from core.services import CoreServices
from core.settings import load_settings
from tests.support.core_services import (
    ADMIN,
    IMAGE_ID,
    MEMBER,
    OTHER,
    READER,
    RecordingBus,
    add_compute_host,
    add_image,
    add_instance,
    make_core,
)

LAUNCHED = {"launched_at": utcnow()}


@pytest.fixture
def actions(core: CoreServices) -> StateActions:
    return core.state_actions


def state(core: CoreServices, uuid: str) -> tuple[str, str | None]:
    inst = core.instances.get(uuid)
    return inst.vm_state, inst.task_state


def recorded(core: CoreServices, uuid: str) -> list[str]:
    with core.db.session() as s:
        return list(s.scalars(select(InstanceAction.action)
                              .where(InstanceAction.instance_uuid == uuid)
                              .order_by(InstanceAction.id)))


# action, method, allowed vm_state, task claimed, cast
TRANSITIONS = [
    ("pause", "pause", states.ACTIVE, states.PAUSING, "pause_instance"),
    ("unpause", "unpause", states.PAUSED_VM, states.UNPAUSING, "unpause_instance"),
    ("suspend", "suspend", states.ACTIVE, states.SUSPENDING, "suspend_instance"),
    ("resume", "resume", states.SUSPENDED_VM, states.RESUMING, "resume_instance"),
    ("unrescue", "unrescue", states.RESCUED, states.UNRESCUING, "unrescue_instance"),
]


@pytest.mark.parametrize(("action", "method", "vm_state", "task", "cast"), TRANSITIONS)
def test_each_action_claims_its_task_and_casts_to_the_host(core, actions, bus: RecordingBus,
                                                           action, method, vm_state, task,
                                                           cast):
    uuid = add_instance(core.db, vm_state=vm_state, host="h7")
    getattr(actions, method)(MEMBER, uuid)
    assert state(core, uuid) == (vm_state, task)
    payload, server = bus.last(cast)
    assert server == "h7" and payload["instance"]["task_state"] == task
    assert recorded(core, uuid) == [action]


@pytest.mark.parametrize(("action", "method", "vm_state", "task", "cast"), TRANSITIONS)
def test_each_action_in_a_wrong_state_is_a_conflict(core, actions, bus, action, method,
                                                    vm_state, task, cast):
    wrong = states.STOPPED
    uuid = add_instance(core.db, vm_state=wrong)
    with pytest.raises(errors.Conflict, match=f"^Cannot '{action}' instance {uuid} while it "
                                              f"is in vm_state {wrong}$"):
        getattr(actions, method)(MEMBER, uuid)
    assert bus.casts == [] and recorded(core, uuid) == []


def test_a_task_in_progress_is_a_conflict(core, actions):
    uuid = add_instance(core.db, task_state=states.REBOOTING)
    with pytest.raises(errors.Conflict, match="while it is in task_state rebooting$"):
        actions.pause(MEMBER, uuid)


def test_a_locked_server_refuses_its_member_not_an_admin(core, actions):
    uuid = add_instance(core.db, locked=True, locked_by="admin")
    with pytest.raises(errors.Conflict, match=f"^Instance {uuid} is locked$"):
        actions.suspend(MEMBER, uuid)
    actions.suspend(ADMIN, uuid)
    assert state(core, uuid) == (states.ACTIVE, states.SUSPENDING)


def test_policy_and_visibility(core, actions):
    uuid = add_instance(core.db)
    with pytest.raises(errors.Forbidden):
        actions.pause(READER, uuid)
    with pytest.raises(errors.NotFound):
        actions.pause(OTHER, uuid)


# ---------------------------------------------------------------- rescue

def test_rescue_an_active_or_stopped_server(core, actions, bus):
    active = add_instance(core.db)
    password = actions.rescue(MEMBER, active)
    assert len(password) == 12 and password.isalnum()
    assert state(core, active) == (states.ACTIVE, states.RESCUING)
    payload, _ = bus.last("rescue_instance")
    assert payload["password"] == password and payload["image"]["id"] == IMAGE_ID
    stopped = add_instance(core.db, vm_state=states.STOPPED)
    assert actions.rescue(MEMBER, stopped, "given", IMAGE_ID) == "given"
    assert recorded(core, stopped) == ["rescue"]


def test_rescue_checks_the_image_and_the_root_disk(core, actions, bus):
    uuid = add_instance(core.db)
    missing = "22222222-2222-2222-2222-222222222222"
    with pytest.raises(errors.InvalidInput, match=f"Image {missing} could not be found."):
        actions.rescue(MEMBER, uuid, None, missing)
    volume_backed = add_instance(core.db, image_ref="")
    with pytest.raises(errors.InvalidInput, match="Cannot rescue a volume-backed instance"):
        actions.rescue(MEMBER, volume_backed)
    assert bus.casts == []
    rescued = add_instance(core.db, vm_state=states.RESCUED)
    with pytest.raises(errors.Conflict, match="in vm_state rescued$"):
        actions.rescue(MEMBER, rescued)


# ---------------------------------------------------------------- changePassword, resetState

def test_change_password_of_an_active_server(core, actions, bus):
    uuid = add_instance(core.db)
    actions.change_password(MEMBER, uuid, "n3w")
    assert state(core, uuid) == (states.ACTIVE, states.UPDATING_PASSWORD)
    assert bus.last("set_admin_password")[0]["password"] == "n3w"
    assert recorded(core, uuid) == ["changePassword"]
    stopped = add_instance(core.db, vm_state=states.STOPPED)
    with pytest.raises(errors.Conflict, match="^Cannot 'changePassword' instance"):
        actions.change_password(MEMBER, stopped, "x")


def test_reset_state_is_an_admins_and_clears_the_task(core, actions, bus):
    uuid = add_instance(core.db, vm_state=states.STOPPED, task_state=states.POWERING_ON,
                        locked=True, locked_by="owner")
    with pytest.raises(errors.Forbidden):
        actions.reset_state(MEMBER, uuid, "active")
    actions.reset_state(ADMIN, uuid, "error")
    assert state(core, uuid) == (states.ERROR, None)
    actions.reset_state(ADMIN, uuid, "active")
    assert state(core, uuid) == (states.ACTIVE, None)
    assert recorded(core, uuid) == ["resetState", "resetState"]
    assert bus.events()[-1] == "compute.instance.update"
    with pytest.raises(errors.InvalidInput, match="is not one of"):
        actions.reset_state(ADMIN, uuid, "paused")


# ---------------------------------------------------------------- soft delete

@pytest.fixture
def soft(tmp_path) -> Iterator[CoreServices]:
    services = make_core(tmp_path, RecordingBus(), fixed_range="10.9.0.0/28",
                         reclaim_instance_interval=3600)
    add_image(services.db)
    add_compute_host(services.db, "h1")
    yield services
    services.db.dispose()


def test_without_the_interval_a_delete_deletes(core, actions, bus):
    uuid = add_instance(core.db, **LAUNCHED)
    actions.delete(MEMBER, uuid)
    assert state(core, uuid) == (states.ACTIVE, states.DELETING)
    assert bus.methods() == ["delete_instance"]


def test_a_soft_delete_powers_off_and_keeps_the_server(soft):
    bus: RecordingBus = soft.bus  # type: ignore[assignment]
    uuid = add_instance(soft.db, **LAUNCHED)
    soft.state_actions.delete(MEMBER, uuid)
    inst = soft.instances.get(uuid)
    assert (inst.vm_state, inst.task_state) == (states.ACTIVE, states.SOFT_DELETING)
    assert inst.deleted_at is not None and not inst.deleted
    assert bus.methods() == ["soft_delete_instance"]
    assert recorded(soft, uuid) == ["delete"]


def test_what_cannot_be_soft_deleted_is_deleted(soft):
    bus: RecordingBus = soft.bus  # type: ignore[assignment]
    never_ran = add_instance(soft.db, vm_state=states.ERROR, host=None)
    resized = add_instance(soft.db, vm_state=states.RESIZED, **LAUNCHED)
    down = add_instance(soft.db, host="h-down", **LAUNCHED)
    add_compute_host(soft.db, "h-down", up=False)
    for uuid in (never_ran, resized, down):
        soft.state_actions.delete(MEMBER, uuid)
        assert state(soft, uuid)[1] == states.DELETING
    assert bus.methods() == ["delete_instance"] * 3


def test_restore_and_force_delete(soft):
    bus: RecordingBus = soft.bus  # type: ignore[assignment]
    uuid = add_instance(soft.db, vm_state=states.SOFT_DELETED, deleted_at=utcnow(),
                        **LAUNCHED)
    soft.state_actions.restore(MEMBER, uuid)
    inst = soft.instances.get(uuid)
    assert (inst.vm_state, inst.task_state) == (states.SOFT_DELETED, states.RESTORING)
    assert inst.deleted_at is None and bus.methods() == ["restore_instance"]
    with pytest.raises(errors.Conflict, match="while it is in task_state restoring$"):
        soft.state_actions.force_delete(MEMBER, uuid)
    active = add_instance(soft.db, **LAUNCHED)
    with pytest.raises(errors.Conflict, match=f"^Cannot 'restore' instance {active} while "
                                              "it is in vm_state active$"):
        soft.state_actions.restore(MEMBER, active)
    soft.state_actions.force_delete(MEMBER, active)  # any vm_state
    assert state(soft, active) == (states.ACTIVE, states.DELETING)
    assert recorded(soft, active) == ["delete"]
    with pytest.raises(errors.Forbidden):
        soft.state_actions.force_delete(READER, uuid)


def test_the_reclaim_interval_is_read_and_checked():
    assert load_settings({}).reclaim_instance_interval == 0
    read = load_settings({"NIMBUS_RECLAIM_INSTANCE_INTERVAL": "3600"})
    assert read.reclaim_instance_interval == 3600
    with pytest.raises(ValueError, match="reclaim_instance_interval"):
        load_settings({"NIMBUS_RECLAIM_INSTANCE_INTERVAL": "-1"})
