"""vm_state + task_state → API status, as nova/api/openstack/common.py maps them."""

import pytest

from core.compute import states
from core.compute.states import states_for_status, status_from_state


@pytest.mark.parametrize(("vm", "task", "status"), [
    ("active", None, "ACTIVE"),
    ("active", "rebooting", "REBOOT"),
    ("active", "rebooting_hard", "HARD_REBOOT"),
    ("active", "resize_prep", "RESIZE"),
    ("active", "powering-off", "ACTIVE"),
    ("active", "image_snapshot", "ACTIVE"),
    ("building", "scheduling", "BUILD"),
    ("building", "spawning", "BUILD"),
    ("stopped", None, "SHUTOFF"),
    ("stopped", "powering-on", "SHUTOFF"),
    ("stopped", "resize_migrating", "RESIZE"),
    ("resized", None, "VERIFY_RESIZE"),
    ("resized", "resize_reverting", "REVERT_RESIZE"),
    ("error", None, "ERROR"),
    ("deleted", None, "DELETED"),
    ("nonsense", None, "UNKNOWN"),
])
def test_status(vm, task, status):
    assert status_from_state(vm, task) == status


def test_states_for_status_round_trip():
    for status in ("ACTIVE", "BUILD", "SHUTOFF", "VERIFY_RESIZE", "REBOOT", "ERROR"):
        pairs = states_for_status(status)
        assert pairs
        for vm, task in pairs:
            assert status_from_state(vm, task) == status
    assert states_for_status("NOPE") is None
    assert states.POWER_STATE_NAMES[states.SHUTDOWN] == "shutdown"
