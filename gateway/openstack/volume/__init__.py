"""Block Storage v3 (Cinder-compatible) handlers, keyed as the spec's operationIds.

Every handler calls one of the volume services (``core.volume``, the
``CoreServices.volumes`` bundle); microversions are parsed and echoed by
:mod:`.microversions`, the project id of ``/v3/{project_id}/...`` paths dropped
by :mod:`.project_urls`, and errors rendered in Cinder's envelope by
:class:`gateway.openstack.faults.FaultRenderer` (see :mod:`.faults`).
"""

from __future__ import annotations

from typing import Any

from gateway.openstack.volume.actions import VolumeActions
from gateway.openstack.volume.attachments import Attachments
from gateway.openstack.volume.base import Handler, VolumeDeps
from gateway.openstack.volume.info import Pools, Services, Versions, Zones
from gateway.openstack.volume.quotas import VolumeLimits, VolumeQuotas
from gateway.openstack.volume.snapshots import SnapshotActions, SnapshotMetadata, Snapshots
from gateway.openstack.volume.types import ExtraSpecs, VolumeTypes
from gateway.openstack.volume.volumes import VolumeMetadata, Volumes

HANDLERS: dict[str, type[Handler]] = {
    "volume_versions": Versions, "volumes": Volumes, "volume_metadata": VolumeMetadata,
    "volume_actions": VolumeActions, "snapshots": Snapshots,
    "snapshot_metadata": SnapshotMetadata, "snapshot_actions": SnapshotActions,
    "attachments": Attachments,
    "volume_types": VolumeTypes, "extra_specs": ExtraSpecs, "volume_quotas": VolumeQuotas,
    "volume_limits": VolumeLimits, "volume_zones": Zones, "volume_services": Services,
    "volume_pools": Pools}

__all__ = ["HANDLERS", "VolumeDeps", "build_handlers"]


def build_handlers(deps: VolumeDeps) -> dict[str, Any]:
    return {name: cls(deps) for name, cls in HANDLERS.items()}
