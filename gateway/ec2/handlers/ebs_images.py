"""EBS-backed AMIs: RegisterImage with a ``BlockDeviceMapping`` whose root
device has an ``Ebs.SnapshotId``.

The AMI is an image with no data (``active``, size 0, as Nova records a
snapshot of a volume-backed server) whose ``block_device_mapping`` property
holds the mappings in Nova's format (``bdm_v2`` ``True``, JSON), with the
``root_device_name``. Booting it (RunInstances, ``openstack server create``)
makes a volume from the root snapshot and boots from it
(``core.compute.boot_volumes.image_defined``). DescribeImages shows such an
image as ``rootDeviceType`` ``ebs`` with its ``blockDeviceMapping``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from core.context import RequestContext
from core.idmap.ids import Kind
from core.image.models import Image
from gateway.ec2.errors import Ec2Error
from gateway.ec2.handlers.base import Handler
from gateway.ec2.handlers.run_block_devices import DEFAULT_ROOT, ebs_entries, short
from gateway.ec2.handlers.volume_views import cinder_type


def _invalid(message: str) -> Ec2Error:
    return Ec2Error("InvalidBlockDeviceMapping", message)


def mappings_of(image: Image) -> list[dict[str, Any]]:
    """The volume mappings an image defines (Nova's property), or []."""
    props = image.properties or {}
    raw = props.get("block_device_mapping")
    if not raw or str(props.get("bdm_v2", "")).lower() != "true":
        return []
    try:
        items = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return []
    return [m for m in items if isinstance(m, dict)] if isinstance(items, list) else []


def is_ebs(image: Image) -> bool:
    return any(m.get("boot_index") == 0 and m.get("destination_type") == "volume"
               for m in mappings_of(image))


def ebs_mappings(handler: Handler, ctx: RequestContext, mappings: Sequence[Mapping[str, Any]],
                 root_device: str | None) -> list[dict[str, Any]]:
    """Nova's mappings for RegisterImage's ``BlockDeviceMapping``: the root
    device's must name a snapshot (of the caller's, ``completed``)."""
    root = short(root_device or DEFAULT_ROOT)
    out = [_one(handler, ctx, name, ebs, short(name) == root)
           for name, ebs in ebs_entries(mappings)]
    if not any(m["boot_index"] == 0 for m in out):
        raise Ec2Error("InvalidParameterValue",
                       f"The root device {root_device or DEFAULT_ROOT} must be mapped to an "
                       "EBS snapshot (BlockDeviceMapping with Ebs.SnapshotId).")
    return out


def _one(handler: Handler, ctx: RequestContext, name: str, ebs: Mapping[str, Any],
         is_root: bool) -> dict[str, Any]:
    size = ebs.get("VolumeSize")
    ref = str(ebs.get("SnapshotId") or "")
    dot = ebs.get("DeleteOnTermination")
    out: dict[str, Any] = {
        "boot_index": 0 if is_root else -1, "destination_type": "volume",
        "delete_on_termination": True if dot is None else bool(dot), "device_name": name}
    vtype = cinder_type(handler.deps, ctx, ebs.get("VolumeType"))
    if vtype is not None:
        out["volume_type"] = vtype
    if ref:
        uuid = handler.os_id(Kind.SNAPSHOT, ref)
        snap = handler.deps.volumes.snapshots.get(ctx, uuid)
        if snap.status != "available":
            raise Ec2Error("IncorrectState", f"Snapshot '{ref}' is not completed.")
        if size is not None and size < snap.size:
            raise _invalid(f"Volume of size {size}GB is smaller than snapshot '{ref}', "
                           f"expect size >= {snap.size}GB")
        out.update(source_type="snapshot", snapshot_id=uuid, volume_size=size or snap.size)
    elif is_root:
        raise Ec2Error("InvalidParameterValue",
                       f"The root device {name} must be mapped to an EBS snapshot.")
    else:
        if size is None:
            raise _invalid(f"The mapping of {name} needs a VolumeSize or a SnapshotId.")
        out.update(source_type="blank", volume_size=size)
    return out


def register_properties(mappings: list[dict[str, Any]], root_device: str | None
                        ) -> dict[str, str]:
    """The image properties of an EBS-backed AMI (as Nova writes them)."""
    return {"block_device_mapping": json.dumps(mappings), "bdm_v2": "True",
            "root_device_name": root_device or DEFAULT_ROOT}


def describe(handler: Handler, ctx: RequestContext, image: Image, view: dict[str, Any]
             ) -> dict[str, Any]:
    """DescribeImages' view of an EBS-backed AMI: ``ebs`` with its mappings."""
    mappings = mappings_of(image)
    if not is_ebs(image):
        return view
    snaps = [m["snapshot_id"] for m in mappings if m.get("snapshot_id")]
    ids = handler.deps.ids.ec2_ids_for(Kind.SNAPSHOT,
                                       [(s, image.owner or "") for s in snaps]) if snaps else {}
    out = []
    for m in mappings:
        if m.get("destination_type") != "volume":
            continue
        ebs: dict[str, Any] = {"DeleteOnTermination": bool(m.get("delete_on_termination")),
                               "VolumeSize": m.get("volume_size"), "VolumeType": "standard",
                               "Encrypted": False}
        if m.get("snapshot_id"):
            ebs["SnapshotId"] = ids.get(m["snapshot_id"], m["snapshot_id"])
        out.append({"DeviceName": m.get("device_name"), "Ebs": ebs})
    return {**view, "RootDeviceType": "ebs", "BlockDeviceMappings": out}
