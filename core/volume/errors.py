"""The block storage domain's errors, named as Cinder's exceptions and worded as
Cinder words them, so the Block Storage API's edge shows the message as is
(``Invalid*`` → 400 ``badRequest``, ``*NotFound`` → 404 ``itemNotFound``,
quota → 413 ``overLimit``); the EC2 edge maps them by class and ``kind``.

Quota errors stay :class:`core.errors.QuotaExceeded` (``resources`` names
``volumes``, ``gigabytes``, ``snapshots`` or ``per_volume_gigabytes``), with
Cinder's wording (:func:`quota_exceeded`).
"""

from __future__ import annotations

from core import errors


# ---- 404 ------------------------------------------------------------------------------
class VolumeNotFound(errors.NotFound):
    def __init__(self, id: str) -> None:
        super().__init__(f"Volume {id} could not be found.", kind="volume", id=id)


class SnapshotNotFound(errors.NotFound):
    def __init__(self, id: str) -> None:
        super().__init__(f"Snapshot {id} could not be found.", kind="snapshot", id=id)


class VolumeTypeNotFound(errors.NotFound):
    """An unknown type, by id or (``by="name"``) by name: 404 even when named
    in a volume create, as Cinder answers."""

    def __init__(self, id: str, by: str | None = None) -> None:
        message = (f"Volume type with name {id} could not be found." if by == "name"
                   else f"Volume type {id} could not be found.")
        super().__init__(message, id=id, by=by)


class AttachmentNotFound(errors.NotFound):
    def __init__(self, id: str) -> None:
        super().__init__("Volume attachment could not be found with filter: "
                         f"attachment_id = {id}.", kind="volume", id=id)


class VolumeMetadataNotFound(errors.NotFound):
    def __init__(self, volume_id: str, key: str) -> None:
        super().__init__(f"Volume {volume_id} has no metadata with key {key}.",
                         kind="volume", id=volume_id)


class SnapshotMetadataNotFound(errors.NotFound):
    def __init__(self, snapshot_id: str, key: str) -> None:
        super().__init__(f"Snapshot {snapshot_id} has no metadata with key {key}.",
                         kind="snapshot", id=snapshot_id)


class VolumeTypeExtraSpecsNotFound(errors.NotFound):
    def __init__(self, type_id: str, key: str) -> None:
        super().__init__(f"Volume Type {type_id} has no extra specs with key {key}.",
                         id=type_id)


class MarkerNotFound(errors.NotFound):
    def __init__(self, marker: str) -> None:
        super().__init__(f"Marker {marker} could not be found.", id=marker)


# ---- 400 ------------------------------------------------------------------------------
class InvalidInput(errors.InvalidInput):
    """Cinder's ``InvalidInput``: ``Invalid input received: <reason>``."""

    def __init__(self, reason: str, param: str | None = None) -> None:
        super().__init__(f"Invalid input received: {reason}", param=param)
        self.reason = reason


class InvalidVolume(errors.InvalidInput):
    """``Invalid volume: <reason>``; ``state`` the volume's status in the way."""

    def __init__(self, reason: str, id: str | None = None, state: str | None = None) -> None:
        super().__init__(f"Invalid volume: {reason}", kind="volume", id=id)
        self.reason = reason
        self.state = state


class VolumeInUse(errors.InvalidInput):
    """The volume is attached, or reserved by an attach (a second attach of a
    volume that is not multiattach)."""

    def __init__(self, reason: str, id: str | None = None, state: str | None = None) -> None:
        super().__init__(f"Invalid volume: {reason}", kind="volume", id=id)
        self.reason = reason
        self.state = state


class InvalidSnapshot(errors.InvalidInput):
    def __init__(self, reason: str, id: str | None = None, state: str | None = None) -> None:
        super().__init__(f"Invalid snapshot: {reason}", kind="snapshot", id=id)
        self.reason = reason
        self.state = state


class InvalidVolumeType(errors.InvalidInput):
    def __init__(self, reason: str, id: str | None = None) -> None:
        super().__init__(f"Invalid volume type: {reason}", id=id)
        self.reason = reason


class InvalidAvailabilityZone(errors.InvalidInput):
    def __init__(self, zone: str) -> None:
        super().__init__(f"Availability zone '{zone}' is invalid.", param="availability_zone",
                         kind="availability_zone", id=zone)


class InvalidAttachment(errors.InvalidInput):
    def __init__(self, reason: str, id: str | None = None) -> None:
        super().__init__(f"Invalid attachment: {reason}", kind="volume", id=id)
        self.reason = reason


# ---- 409 ------------------------------------------------------------------------------
class VolumeTypeExists(errors.Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"Volume Type {name} already exists.", id=name, state="exists")


# ---- 413 ------------------------------------------------------------------------------
def quota_exceeded(exc: errors.QuotaExceeded) -> errors.QuotaExceeded:
    """``exc`` (from QuotaService.reserve) worded as Cinder's VolumeLimitExceeded,
    SnapshotLimitExceeded or VolumeSizeExceedsAvailableQuota."""
    resources = exc.resources
    if "gigabytes" in resources:
        message = ("Requested volume or snapshot exceeds allowed gigabytes quota. Requested "
                   f"{exc.requested.get('gigabytes', 0)}G, quota is "
                   f"{exc.allowed.get('gigabytes', 0)}G and {exc.used.get('gigabytes', 0)}G "
                   "has been consumed.")
    elif "volumes" in resources:
        message = (f"VolumeLimitExceeded: Maximum number of volumes allowed "
                   f"({exc.allowed.get('volumes', 0)}) exceeded for quota 'volumes'.")
    elif "snapshots" in resources:
        message = (f"Maximum number of snapshots allowed ({exc.allowed.get('snapshots', 0)}) "
                   "exceeded for quota 'snapshots'.")
    else:
        message = exc.message
    return errors.QuotaExceeded(message, resources=resources, requested=exc.requested,
                                used=exc.used, allowed=exc.allowed)


def per_volume_exceeded(size: int, limit: int) -> errors.QuotaExceeded:
    """Cinder's VolumeSizeExceedsLimit (413)."""
    return errors.QuotaExceeded(
        f"Requested volume size {size}G is larger than maximum allowed limit {limit}G.",
        resources=["per_volume_gigabytes"], requested={"per_volume_gigabytes": size},
        used={"per_volume_gigabytes": 0}, allowed={"per_volume_gigabytes": limit})
