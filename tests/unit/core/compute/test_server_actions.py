"""core/compute/server_actions.py: each action's state checks (a wrong state is
a Conflict in Nova's words), the task it claims, and the cast to the agent of
the server's host or to the conductor; lock and unlock rules; resize quota."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core import errors
from core.compute import states
from core.compute.models import InstanceAction
from core.compute.server_actions import ServerActions
from core.image.models import Image
from core.messaging.errors import MessagingTimeout, RemoteError
from core.services import CoreServices
from tests.support.core_services import (
    ADMIN,
    IMAGE_ID,
    MEMBER,
    OTHER,
    TINY,
    RecordingBus,
    add_instance,
)

SMALL = dict(TINY, flavorid="2", name="m1.small", memory_mb=2048, root_gb=20)


@pytest.fixture
def actions(core: CoreServices) -> ServerActions:
    return core.server_actions


def state(core: CoreServices, uuid: str) -> tuple[str, str | None]:
    inst = core.instances.get(uuid)
    return inst.vm_state, inst.task_state


def recorded(core: CoreServices, uuid: str) -> list[str]:
    with core.db.session() as s:
        return list(s.scalars(select(InstanceAction.action)
                              .where(InstanceAction.instance_uuid == uuid)))


# ---------------------------------------------------------------- power

def test_stop_claims_the_task_and_casts_to_the_host(core, actions, bus: RecordingBus):
    uuid = add_instance(core.db, host="h7")
    actions.stop(MEMBER, uuid)
    assert state(core, uuid) == (states.ACTIVE, states.POWERING_OFF)
    payload, server = bus.last("stop_instance")
    assert server == "h7" and payload["instance"]["uuid"] == uuid
    assert payload["instance"]["task_state"] == states.POWERING_OFF
    assert recorded(core, uuid) == ["stop"]


def test_start_of_an_active_server_is_a_conflict(core, actions, bus):
    uuid = add_instance(core.db)
    with pytest.raises(errors.Conflict, match=f"^Cannot 'start' instance {uuid} while it is "
                                              "in vm_state active$"):
        actions.start(MEMBER, uuid)
    assert bus.casts == [] and recorded(core, uuid) == []


def test_start_a_stopped_server(core, actions, bus):
    uuid = add_instance(core.db, vm_state=states.STOPPED)
    actions.start(MEMBER, uuid)
    assert state(core, uuid) == (states.STOPPED, states.POWERING_ON)
    assert bus.methods() == ["start_instance"]


def test_an_action_waits_for_the_task_in_progress(core, actions):
    uuid = add_instance(core.db, vm_state=states.STOPPED, task_state=states.POWERING_ON)
    with pytest.raises(errors.Conflict, match=f"^Cannot 'start' instance {uuid} while it is "
                                              "in task_state powering-on$"):
        actions.start(MEMBER, uuid)


@pytest.mark.parametrize("fields", [{"vm_state": states.STOPPED}, {"host": None},
                                    {"vm_state": states.BUILDING}])
def test_stop_needs_a_running_server_on_a_host(core, actions, fields):
    uuid = add_instance(core.db, **fields)
    with pytest.raises(errors.Conflict, match="^Cannot 'stop' instance"):
        actions.stop(MEMBER, uuid)


def test_reboot_soft_and_hard(core, actions, bus):
    uuid = add_instance(core.db)
    actions.reboot(MEMBER, uuid, hard=False)
    assert state(core, uuid) == (states.ACTIVE, states.REBOOTING)
    # A hard reboot may interrupt a soft one; a soft one waits.
    with pytest.raises(errors.Conflict, match="task_state rebooting$"):
        actions.reboot(MEMBER, uuid, hard=False)
    actions.reboot(MEMBER, uuid, hard=True)
    assert state(core, uuid) == (states.ACTIVE, states.REBOOTING_HARD)
    assert [p["hard"] for _, m, p, _ in bus.casts if m == "reboot_instance"] == [False, True]


def test_only_a_hard_reboot_starts_a_stopped_server(core, actions):
    uuid = add_instance(core.db, vm_state=states.STOPPED)
    with pytest.raises(errors.Conflict, match="in vm_state stopped$"):
        actions.reboot(MEMBER, uuid, hard=False)
    actions.reboot(MEMBER, uuid, hard=True)
    assert state(core, uuid) == (states.STOPPED, states.REBOOTING_HARD)


def test_another_projects_server_is_not_found(core, actions, bus):
    uuid = add_instance(core.db)
    with pytest.raises(errors.NotFound):
        actions.stop(OTHER, uuid)
    assert bus.casts == []


# ---------------------------------------------------------------- lock

def test_the_owner_locks_and_unlocks(core, actions, bus):
    uuid = add_instance(core.db)
    actions.lock(MEMBER, uuid, "careful")
    inst = core.instances.get(uuid)
    assert (inst.locked, inst.locked_by, inst.locked_reason) == (True, "owner", "careful")
    with pytest.raises(errors.Conflict, match=f"^Instance {uuid} is locked$"):
        actions.stop(MEMBER, uuid)
    actions.stop(ADMIN, uuid)  # an admin is not held by the lock
    assert bus.methods() == ["stop_instance"]
    actions.unlock(MEMBER, uuid)
    assert (core.instances.get(uuid).locked, core.instances.get(uuid).locked_by) == \
        (False, None)
    assert recorded(core, uuid) == ["lock", "stop", "unlock"]


def test_an_admins_lock_stays_until_an_admin_unlocks(core, actions):
    uuid = add_instance(core.db)
    actions.lock(ADMIN, uuid, None)
    assert core.instances.get(uuid).locked_by == "admin"
    actions.lock(MEMBER, uuid, "mine now?")  # the owner locking again changes nothing
    assert core.instances.get(uuid).locked_by == "admin"
    with pytest.raises(errors.Forbidden):
        actions.unlock(MEMBER, uuid)
    assert core.instances.get(uuid).locked
    actions.unlock(ADMIN, uuid)
    assert not core.instances.get(uuid).locked


# ---------------------------------------------------------------- resize

def test_resize_reserves_the_growth_and_casts_to_the_conductor(core, actions, bus):
    uuid = add_instance(core.db)
    actions.resize(MEMBER, uuid, "2")
    inst = core.instances.get(uuid)
    assert inst.task_state == states.RESIZE_PREP and inst.new_flavor["flavorid"] == "2"
    assert (core.quotas.usage("p1")["cores"], core.quotas.usage("p1")["ram"]) == (0, 1536)
    payload, _ = bus.last("resize_instance")
    assert payload["uuid"] == uuid
    assert payload["request_spec"]["flavor"]["memory_mb"] == 2048
    assert payload["request_spec"]["image"]["id"] == IMAGE_ID
    assert recorded(core, uuid) == ["resize"]


def test_resize_over_quota_changes_nothing(core, actions, bus):
    uuid = add_instance(core.db)
    core.quotas.set_limits("p1", {"ram": 1024})
    with pytest.raises(errors.QuotaExceeded, match="ram"):
        actions.resize(MEMBER, uuid, "2")
    assert state(core, uuid) == (states.ACTIVE, None) and bus.casts == []
    assert core.quotas.usage("p1")["ram"] == 0


@pytest.mark.parametrize(("flavor", "message"), [
    ("1", "^When resizing, instances must change flavor!$"),
    ("t3.nano", "^Resize error: Unable to resize disk down.$"),  # 1 GiB root, from 20
    ("99", "^Flavor 99 could not be found.$")])
def test_resize_refusals(core, actions, flavor, message):
    uuid = add_instance(core.db, flavor=SMALL if flavor != "1" else None)
    with pytest.raises(errors.InvalidInput, match=message):
        actions.resize(MEMBER, uuid, flavor)


def test_confirm_a_downsize_releases_the_difference(core, actions, bus):
    uuid = add_instance(core.db, vm_state=states.RESIZED, power_state=states.RUNNING,
                        old_flavor=SMALL, source_host="h0")
    with core.db.session() as s:
        core.quotas.reserve(s, "p1", {"instances": 1, "cores": 1, "ram": 2048})
    actions.confirm_resize(MEMBER, uuid)
    inst = core.instances.get(uuid)
    assert (inst.vm_state, inst.old_flavor, inst.source_host) == (states.ACTIVE, None, None)
    assert core.quotas.usage("p1")["ram"] == 512
    assert bus.last("destroy_copy")[1] == "h0"
    assert "compute.instance.resize.confirm.end" in bus.events()


def test_revert_resize(core, actions, bus):
    uuid = add_instance(core.db, vm_state=states.RESIZED)
    actions.revert_resize(MEMBER, uuid)
    assert state(core, uuid) == (states.RESIZED, states.RESIZE_REVERTING)
    assert bus.last("revert_resize") == ({"uuid": uuid}, None)
    with pytest.raises(errors.Conflict, match="^Cannot 'confirmResize' instance"):
        actions.confirm_resize(MEMBER, add_instance(core.db))


# ---------------------------------------------------------------- snapshot, console, dump

def test_create_image_makes_a_private_snapshot_image(core, actions, bus):
    uuid = add_instance(core.db)
    image_id = actions.create_image(MEMBER, uuid, "snap", {"purpose": "backup"})
    with core.db.session() as s:
        image = s.get(Image, image_id)
    assert (image.name, image.owner, image.visibility, image.status) == \
        ("snap", "p1", "private", "queued")
    assert image.properties["image_type"] == "snapshot"
    assert image.properties["instance_uuid"] == uuid and image.properties["purpose"] == "backup"
    assert state(core, uuid) == (states.ACTIVE, states.IMAGE_SNAPSHOT)
    payload, server = bus.last("snapshot_instance")
    assert (payload["image_id"], server) == (image_id, "h1")


def test_console_output(core, actions, bus):
    uuid = add_instance(core.db)
    bus.replies["get_console_output"] = "login:"
    assert actions.console_output(MEMBER, uuid, 10) == "login:"
    bus.replies["get_console_output"] = MessagingTimeout()
    with pytest.raises(errors.ServiceUnavailable, match="did not answer"):
        actions.console_output(MEMBER, uuid, None)
    bus.replies["get_console_output"] = RemoteError("OSError", "no console")
    with pytest.raises(errors.Conflict, match="no console$"):
        actions.console_output(MEMBER, uuid, None)
    building = add_instance(core.db, vm_state=states.BUILDING, host=None)
    with pytest.raises(errors.Conflict, match=f"^Instance {building} is not ready$"):
        actions.console_output(MEMBER, building, None)


def test_crash_dump_needs_a_running_guest(core, actions, bus):
    uuid = add_instance(core.db)
    actions.trigger_crash_dump(MEMBER, uuid)
    assert bus.last("trigger_crash_dump")[1] == "h1"
    off = add_instance(core.db, power_state=states.SHUTDOWN)
    with pytest.raises(errors.Conflict, match=f"^Instance {off} is not running.$"):
        actions.trigger_crash_dump(MEMBER, off)
