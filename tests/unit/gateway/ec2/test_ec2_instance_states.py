"""EC2 instance states from Nova's vm_state and task_state."""

from __future__ import annotations

import pytest

from core.compute import states
from core.compute.models import Instance
from core.idmap.ids import derived_id
from gateway.ec2.handlers.instances import private_dns, state_of


@pytest.mark.parametrize(("vm", "task", "expected"), [
    (states.BUILDING, states.SCHEDULING, (0, "pending")),
    (states.BUILDING, states.SPAWNING, (0, "pending")),
    (states.ACTIVE, states.SPAWNING, (0, "pending")),
    (states.ACTIVE, None, (16, "running")),
    (states.ACTIVE, states.REBOOTING, (16, "running")),
    (states.ACTIVE, states.DELETING, (32, "shutting-down")),
    (states.STOPPED, states.DELETING, (32, "shutting-down")),
    (states.DELETED, None, (48, "terminated")),
    (states.ERROR, None, (48, "terminated")),
    (states.ACTIVE, states.POWERING_OFF, (64, "stopping")),
    (states.STOPPED, None, (80, "stopped")),
    (states.STOPPED, states.POWERING_ON, (0, "pending")),
    # shelved servers show as ec2-api shows them
    (states.ACTIVE, states.SHELVING, (64, "stopping")),
    (states.STOPPED, states.SHELVING_IMAGE_UPLOADING, (64, "stopping")),
    (states.SHELVED, None, (80, "stopped")),
    (states.SHELVED_OFFLOADED, None, (80, "stopped")),
    (states.SHELVED_OFFLOADED, states.UNSHELVING, (0, "pending")),
    (states.SHELVED_OFFLOADED, states.SPAWNING, (0, "pending")),
])
def test_state_of(vm, task, expected):
    assert state_of(Instance(vm_state=vm, task_state=task)) == expected


def test_derived_ids_are_stable_and_per_project():
    assert derived_id("vpc", "p1") == derived_id("vpc", "p1")
    assert derived_id("vpc", "p1") != derived_id("vpc", "p2")
    assert len(derived_id("vpc", "p1")) == len("vpc-") + 17


def test_private_dns():
    assert private_dns("10.0.0.5", "RegionOne") == "ip-10-0-0-5.RegionOne.compute.internal"
    assert private_dns(None, "RegionOne") == ""
