"""RunInstances' ``BlockDeviceMapping.N`` as Nova's ``block_device_mapping_v2``
(as ``openstack/ec2-api`` translated it).

An ``Ebs`` mapping becomes a volume made for the instance: from a snapshot
(``SnapshotId`` ``snap-``), from an existing volume (``vol-``, an OpenStack
extension), from the image when it maps the image's root device (boot from
volume), else blank. ``DeleteOnTermination`` defaults to true, as in AWS.
The mapping of the image's root device (compared without ``/dev/``) boots the
instance. ``NoDevice`` and instance-store (``VirtualName``) mappings map
nothing here. The device name asked for is kept for the EC2 views; Nova
names the devices ``/dev/vdX``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from core.compute.boot_volumes import BlockDevice
from core.context import RequestContext
from core.idmap.ids import Kind
from gateway.ec2.errors import Ec2Error
from gateway.ec2.handlers.base import Handler
from gateway.ec2.handlers.volume_views import cinder_type

GIB = 1024 ** 3
DEFAULT_ROOT = "/dev/sda1"


def short(device: str) -> str:
    return device[5:] if device.startswith("/dev/") else device


def _invalid(message: str) -> Ec2Error:
    return Ec2Error("InvalidBlockDeviceMapping", message)


def ebs_entries(mappings: Sequence[Mapping[str, Any]]
                ) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(device name, Ebs)`` of each mapping of an EBS volume (NoDevice and
    instance-store mappings map nothing here), with what every EBS mapping must
    hold checked: a device name used once, no encryption, a size of at least 1."""
    seen: set[str] = set()
    for m in mappings:
        name = m.get("DeviceName")
        if not name:
            raise Ec2Error("MissingParameter", "The request must contain the parameter "
                                               "BlockDeviceMapping.DeviceName")
        if short(name) in seen:
            raise _invalid(f"The device '{name}' is used more than once.")
        seen.add(short(name))
        ebs = m.get("Ebs")
        if m.get("NoDevice") is not None or m.get("VirtualName"):
            continue
        if not ebs:
            raise _invalid(f"The mapping of {name} needs an Ebs volume, a VirtualName or "
                           "NoDevice.")
        if ebs.get("Encrypted") or ebs.get("KmsKeyId"):
            raise Ec2Error("InvalidParameterValue", "Encrypted volumes are not supported by "
                                                    "this cloud.")
        size = ebs.get("VolumeSize")
        if size is not None and size < 1:
            raise _invalid(f"Invalid volume size {size} for {name}.")
        yield name, ebs


def block_devices(handler: Handler, ctx: RequestContext,
                  mappings: Sequence[Mapping[str, Any]], image_uuid: str
                  ) -> list[BlockDevice]:
    """The boot request's block devices for ``mappings`` (none: [])."""
    if not mappings:
        return []
    image = handler.deps.images.show(ctx, image_uuid).image
    props = image.properties or {}
    root = short(str(props.get("root_device_name") or DEFAULT_ROOT))
    image_gib = max(1, -(-int(image.size or 0) // GIB), int(image.min_disk or 0))
    return [_ebs(handler, ctx, name, ebs, short(name) == root, image_uuid, image_gib)
            for name, ebs in ebs_entries(mappings)]


def _ebs(handler: Handler, ctx: RequestContext, name: str, ebs: Mapping[str, Any],
         is_root: bool, image_uuid: str, image_gib: int) -> BlockDevice:
    size = ebs.get("VolumeSize")
    source: str
    uuid: str | None
    ref = str(ebs.get("SnapshotId") or "")
    if ref.lower().startswith("vol-"):
        source, uuid = "volume", handler.os_id(Kind.VOLUME, ref)
        size = None
    elif ref:
        uuid = handler.os_id(Kind.SNAPSHOT, ref)
        snap = handler.deps.volumes.snapshots.get(ctx, uuid)
        if size is not None and size < snap.size:
            raise _invalid(f"The volume size {size} GiB of {name} is smaller than its "
                           f"snapshot's, {snap.size} GiB.")
        source, size = "snapshot", size or snap.size
    elif is_root:
        if size is not None and size < image_gib:
            raise _invalid(f"The root volume size {size} GiB is smaller than the image, "
                           f"{image_gib} GiB.")
        source, uuid, size = "image", image_uuid, size or image_gib
    else:
        if size is None:
            raise _invalid(f"The mapping of {name} needs a VolumeSize or a SnapshotId.")
        source, uuid = "blank", None
    dot = ebs.get("DeleteOnTermination")
    return BlockDevice(source_type=source, destination_type="volume", uuid=uuid,
                       volume_size=size, boot_index=0 if is_root else None,
                       delete_on_termination=True if dot is None else bool(dot),
                       volume_type=cinder_type(handler.deps, ctx, ebs.get("VolumeType")),
                       ec2_device=name)

