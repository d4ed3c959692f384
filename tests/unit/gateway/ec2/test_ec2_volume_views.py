"""gateway/ec2/handlers/volume_views.py: Cinder's volume, attachment and
snapshot states as AWS's, and the volume errors' EC2 codes."""

from __future__ import annotations

import pytest

from core import errors
from core.volume import errors as vol_errors
from core.volume.models import VolumeAttachment
from gateway.ec2.errors import from_core
from gateway.ec2.handlers.volume_views import attachment_state, snapshot_state, volume_state


@pytest.mark.parametrize(("status", "attached", "state"), [
    ("creating", False, "creating"), ("available", False, "available"),
    ("in-use", True, "in-use"), ("reserved", False, "in-use"), ("attaching", True, "in-use"),
    ("detaching", True, "in-use"), ("deleting", False, "deleting"),
    ("error", False, "error"), ("error_deleting", False, "error"),
    ("error_extending", True, "error"), ("extending", False, "available"),
    ("extending", True, "in-use"), ("retyping", False, "available"),
    ("maintenance", True, "in-use"),
])
def test_volume_states(status, attached, state):
    assert volume_state(status, attached) == state


@pytest.mark.parametrize(("att", "volume", "state"), [
    ("reserved", "reserved", "attaching"), ("attaching", "attaching", "attaching"),
    ("attached", "in-use", "attached"), ("attached", "detaching", "detaching"),
    ("detaching", "in-use", "detaching"), ("error_attaching", "error", "busy"),
])
def test_attachment_states(att, volume, state):
    assert attachment_state(VolumeAttachment(attach_status=att), volume) == state


@pytest.mark.parametrize(("status", "state"), [
    ("creating", "pending"), ("available", "completed"), ("deleting", "pending"),
    ("error", "error"), ("error_deleting", "error"),
])
def test_snapshot_states(status, state):
    assert snapshot_state(status) == state


@pytest.mark.parametrize(("exc", "code"), [
    (vol_errors.VolumeNotFound("u"), "InvalidVolume.NotFound"),
    (vol_errors.SnapshotNotFound("u"), "InvalidSnapshot.NotFound"),
    (vol_errors.VolumeInUse("attached", id="u", state="in-use"), "VolumeInUse"),
    (vol_errors.InvalidVolume("has snapshots", id="u", state="available"), "IncorrectState"),
    (vol_errors.InvalidSnapshot("busy", id="u", state="creating"), "IncorrectState"),
    (vol_errors.VolumeTypeNotFound("gold", by="name"), "InvalidParameterValue"),
    (vol_errors.InvalidAvailabilityZone("mars"), "InvalidParameterValue"),
    (errors.Conflict(kind="volume", id="u", state="error"), "IncorrectState"),
    (errors.QuotaExceeded(resources=["gigabytes"], requested={"gigabytes": 5},
                          used={"gigabytes": 999}, allowed={"gigabytes": 1000}),
     "VolumeLimitExceeded"),
    (errors.QuotaExceeded(resources=["volumes"], requested={"volumes": 1},
                          used={"volumes": 10}, allowed={"volumes": 10}),
     "VolumeLimitExceeded"),
    (errors.QuotaExceeded(resources=["snapshots"], requested={"snapshots": 1},
                          used={"snapshots": 10}, allowed={"snapshots": 10}),
     "SnapshotLimitExceeded"),
    (vol_errors.per_volume_exceeded(2000, 1000), "VolumeLimitExceeded"),
])
def test_volume_errors(exc, code):
    error = from_core(exc)
    assert (error.code, error.status) == (code, 400)
