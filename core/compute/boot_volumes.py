"""Block device mappings (Nova's ``block_device_mapping_v2``) of a boot request:
volumes given (``source_type=volume``) or made for the server from an image, a
snapshot or nothing (``image`` / ``snapshot`` / ``blank`` with
``destination_type=volume``), one of them the root disk when its
``boot_index`` is 0 (boot from volume).

The API checks the mappings here; the conductor makes the volumes, waits for
them and reserves their attachments before the build (``core.conductor.
boot_volumes``); the agent connects them once the guest is spawned. Mappings
to local disks (the image itself, swap, ephemerals) need nothing of this."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from core import errors
from core.compute import block_devices
from core.context import RequestContext

SOURCES = ("volume", "image", "snapshot", "blank")


@dataclass(frozen=True)
class BlockDevice:
    """One mapping of a boot request, checked."""

    source_type: str
    destination_type: str
    uuid: str | None = None
    volume_size: int | None = None
    boot_index: int | None = None
    delete_on_termination: bool = False
    device_name: str | None = None
    tag: str | None = None
    volume_type: str | None = None
    ec2_device: str | None = None

    @property
    def is_volume(self) -> bool:
        return self.destination_type == "volume"

    @property
    def is_root(self) -> bool:
        return self.boot_index == 0

    def message(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_message(cls, values: dict[str, Any]) -> BlockDevice:
        return cls(**{k: values.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]


def _bool(raw: Any, name: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "t", "true", "on", "y", "yes"):
        return True
    if text in ("0", "f", "false", "off", "n", "no", "none", ""):
        return False
    raise errors.InvalidInput(f"Invalid value '{raw}' for {name}: it must be a boolean.",
                              param="block_device_mapping_v2")


def _int(raw: Any, name: str, minimum: int | None = None) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise errors.InvalidInput(f"Invalid input for field/attribute {name}. Value: {raw}. "
                                  f"'{raw}' is not an integer",
                                  param="block_device_mapping_v2") from None
    if minimum is not None and value < minimum:
        raise errors.InvalidInput(f"Invalid input for field/attribute {name}. Value: {raw}. "
                                  f"{raw} is less than the minimum of {minimum}",
                                  param="block_device_mapping_v2")
    return value


def parse(mappings: list[dict[str, Any]] | None) -> list[BlockDevice]:
    """The mappings of a request as Nova checks them (``nova/block_device.py``):
    a bad one is Nova's 400."""
    out: list[BlockDevice] = []
    for raw in mappings or []:
        source = raw.get("source_type") or "volume"
        dest = raw.get("destination_type") or ("volume" if source in ("volume", "snapshot")
                                               else "local")
        if source not in SOURCES or dest not in ("local", "volume"):
            raise errors.InvalidInput("Block Device Mapping is Invalid: Invalid source or "
                                      "destination type.", param="block_device_mapping_v2")
        device = BlockDevice(
            source_type=source, destination_type=dest, uuid=raw.get("uuid") or None,
            volume_size=_int(raw.get("volume_size"), "volume_size", 0),
            boot_index=_int(raw.get("boot_index"), "boot_index"),
            delete_on_termination=_bool(raw.get("delete_on_termination", False),
                                        "delete_on_termination"),
            device_name=raw.get("device_name") or None, tag=raw.get("tag") or None,
            volume_type=raw.get("volume_type") or None,
            ec2_device=raw.get("ec2_device") or None)
        if device.device_name and not device.device_name.startswith("/dev/"):
            device = BlockDevice(**{**asdict(device),
                                    "device_name": f"/dev/{device.device_name}"})
        block_devices.check_requested(device.device_name)
        if device.volume_type and dest == "local":
            raise errors.InvalidInput("Block Device Mapping is Invalid: Specifying a volume_type "
                                      "with destination_type=local is not supported.",
                                      param="block_device_mapping_v2")
        if source in ("volume", "image", "snapshot") and not device.uuid:
            raise errors.InvalidInput("Block Device Mapping is Invalid: a uuid is needed for "
                                      f"source_type {source}.",
                                      param="block_device_mapping_v2")
        if dest == "volume" and source in ("image", "blank") and not device.volume_size:
            raise errors.InvalidInput(
                "Block Device Mapping is Invalid: " + (
                    "Images with destination_type 'volume' need to have a non-zero size "
                    "specified" if source == "image" else "Blank volumes (source: 'blank', "
                    "dest: 'volume') need to have non-zero size"),
                param="block_device_mapping_v2")
        out.append(device)
    roots = [d for d in out if d.is_root]
    if len(roots) > 1:
        raise errors.InvalidInput("Block Device Mapping is Invalid: Boot sequence for the "
                                  "instance and image/block device mapping combination is "
                                  "not valid.", param="block_device_mapping_v2")
    return out


def image_defined(properties: dict[str, Any], requested: list[BlockDevice]
                  ) -> list[BlockDevice]:
    """The volume mappings an image defines (Nova's ``block_device_mapping``
    property with ``bdm_v2``: a snapshot of a volume-backed server, an EBS-backed
    AMI), less those the request maps itself (its root, or the same device)."""
    raw = properties.get("block_device_mapping")
    if not raw or str(properties.get("bdm_v2", "")).lower() != "true":
        return []
    try:
        items = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return []
    if not isinstance(items, list):
        return []
    taken = {d.device_name for d in requested if d.device_name}
    has_root = root_volume(requested) is not None
    mappings = []
    for item in items:
        if not isinstance(item, dict) or item.get("destination_type") != "volume":
            continue
        item = {**item, "uuid": item.get("uuid") or item.get("snapshot_id")
                or item.get("volume_id") or item.get("image_id")}
        if item.get("device_name") in taken or (has_root and item.get("boot_index") == 0):
            continue
        mappings.append({k: item.get(k) for k in BlockDevice.__dataclass_fields__})
    return parse(mappings)


def root_volume(devices: list[BlockDevice]) -> BlockDevice | None:
    """The mapping the server boots from when it is a volume (boot from volume)."""
    return next((d for d in devices if d.is_root and d.is_volume), None)


class BootVolumes:
    """The API's checks of a boot request's volumes."""

    def __init__(self, volumes: Any) -> None:
        self.volumes = volumes  # core.volume's VolumeServices bundle, or None

    def check(self, ctx: RequestContext, devices: list[BlockDevice], max_count: int) -> None:
        """Each volume given exists and is available; snapshots exist."""
        wanted = [d for d in devices if d.is_volume]
        if not wanted:
            return
        if self.volumes is None:
            raise errors.InvalidInput("Block storage is not available: volumes cannot be "
                                      "mapped.", param="block_device_mapping_v2")
        for device in wanted:
            self._check_volume_type(ctx, device)
            if device.source_type == "volume":
                if max_count > 1:
                    raise errors.InvalidInput("Cannot attach one or more volumes to multiple "
                                              "instances", param="block_device_mapping_v2")
                volume = self._volume(ctx, str(device.uuid))
                if volume.status != "available":
                    raise errors.InvalidInput(
                        f"Invalid volume: volume '{volume.id}' status must be 'available'. "
                        f"Currently in '{volume.status}'", kind="volume", id=volume.id)
            elif device.source_type == "snapshot":
                try:
                    self.volumes.snapshots.get(ctx, str(device.uuid))
                except errors.NotFound:
                    raise errors.InvalidInput(f"Invalid snapshot: Snapshot {device.uuid} "
                                              "could not be found.", kind="snapshot",
                                              id=device.uuid) from None

    def _check_volume_type(self, ctx: RequestContext, device: BlockDevice) -> None:
        """Nova 2.67: a volume made for the server may name its volume type, which
        must exist (for the caller); a volume given already has one."""
        if not device.volume_type:
            return
        if device.source_type == "volume":
            raise errors.InvalidInput("Block Device Mapping is Invalid: Specifying volume type "
                                      "to existing volume is not supported.",
                                      param="block_device_mapping_v2")
        types = self.volumes.types
        try:
            with types.db.session() as s:
                types.find(s, ctx, device.volume_type)
        except errors.NotFound:
            raise errors.InvalidInput(f"Volume type {device.volume_type} could not be found.",
                                      id=device.volume_type,
                                      param="block_device_mapping_v2") from None

    def _volume(self, ctx: RequestContext, volume_id: str) -> Any:
        try:
            return self.volumes.volumes.get(ctx, volume_id)
        except errors.NotFound:
            raise errors.InvalidInput(f"Invalid volume: Volume {volume_id} could not be "
                                      "found.", kind="volume", id=volume_id) from None

    def image_of_volume(self, ctx: RequestContext, volume_id: str) -> dict[str, Any]:
        """What the scheduler and the agent know of the image of a root volume
        given (its ``volume_image_metadata``); the server shows no image."""
        volume = self._volume(ctx, volume_id)
        meta = {k: v for k, v in (volume.image_metadata or {}).items() if isinstance(v, str)}
        return {"id": "", "name": meta.get("image_name"), "properties": meta, "min_ram": 0,
                "min_disk": 0, "size": 0}

    def boot_image(self, ctx: RequestContext, devices: list[BlockDevice],
                   image_ref: str | None, flavor: Any, checks: Any, max_count: int
                   ) -> dict[str, Any]:
        """The image of a boot request (``checks.image``'s dict), its volumes
        checked. A server booted from a volume shows no image (its id is ""),
        unless the image itself maps its root to a volume (``image_defined``:
        added to ``devices``), which then boots from a volume made for it."""
        root = root_volume(devices)
        if root is None and image_ref:
            image = checks.image(ctx, image_ref, flavor)
            devices.extend(image_defined(image.get("properties") or {}, devices))
            self.check(ctx, devices, max_count)
            return image  # type: ignore[no-any-return]
        self.check(ctx, devices, max_count)
        if root is None:
            return checks.image(ctx, image_ref, flavor)
        if root.source_type == "image":
            return dict(checks.image(ctx, root.uuid, flavor), id="")
        if root.source_type == "volume":
            return self.image_of_volume(ctx, str(root.uuid))
        return {"id": "", "name": None, "properties": {}, "min_ram": 0, "min_disk": 0,
                "size": 0}
