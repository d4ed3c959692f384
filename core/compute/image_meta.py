"""The image an instance was booted (or rebuilt) from, as Nova keeps it in the
instance's system metadata: each image property, and the image's min_ram,
min_disk, disk_format and container_format, under ``image_<name>`` with a string
value (nova/utils.py get_system_metadata_from_image), plus ``image_base_image_ref``.

The copy outlives the image (a deleted or edited image does not change what the
server was built from); the server view shows it from microversion 2.98."""

from __future__ import annotations

from typing import Any

PREFIX = "image_"
# Nova's SM_INHERITABLE_KEYS: image attributes (not properties) the copy keeps.
INHERITED = ("min_ram", "min_disk", "disk_format", "container_format")
# Nova's SM_SKIP_KEYS: structured properties too big for a system metadata value.
SKIPPED = ("mappings", "block_device_mapping", "img_mappings", "img_block_device_mapping")
MAX_VALUE = 255  # a system metadata value's length in Nova


def from_image(image: dict[str, Any], flavor: dict[str, Any] | None) -> dict[str, str]:
    """``image`` (BootChecks.image's dict) as ``image_*`` system metadata items.
    min_disk is at least the flavor's root disk, as Nova records it."""
    out: dict[str, str] = {}
    for key, value in (image.get("properties") or {}).items():
        if key not in SKIPPED and value is not None:
            out[PREFIX + key] = str(value)[:MAX_VALUE]
    for key in INHERITED:
        value = image.get(key)
        if key == "min_disk" and flavor is not None and image.get("disk_format") != "vhd":
            value = max(int(value or 0), int(flavor.get("root_gb") or 0))
        if value is not None:
            out[PREFIX + key] = str(value)
    if image.get("id"):
        out[PREFIX + "base_image_ref"] = str(image["id"])
    return out


def with_image(system_metadata: dict[str, Any] | None, image: dict[str, Any],
               flavor: dict[str, Any] | None) -> dict[str, Any]:
    """``system_metadata`` with its image items replaced by ``image``'s (rebuild)."""
    kept = {k: v for k, v in (system_metadata or {}).items() if not k.startswith(PREFIX)}
    return {**kept, **from_image(image, flavor)}


def properties(system_metadata: dict[str, Any] | None) -> dict[str, str]:
    """The image items without their prefix: Nova's 2.98 ``image.properties``."""
    return {k[len(PREFIX):]: str(v) for k, v in (system_metadata or {}).items()
            if k.startswith(PREFIX)}
