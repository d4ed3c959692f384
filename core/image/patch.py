"""Glance's rules for image attributes: create bodies and JSON-patch updates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core import errors
from core.image.models import Image
from core.numbers import INT32_MAX

READ_ONLY = ("created_at", "updated_at", "status", "checksum", "size", "virtual_size",
             "direct_url", "self", "file", "schema", "os_hash_algo", "os_hash_value", "id",
             "stores")
RESERVED = ("location", "deleted", "deleted_at")
BASE = ("name", "visibility", "protected", "os_hidden", "min_disk", "min_ram", "disk_format",
        "container_format", "tags", "owner")
FORMAT_FIELDS = ("disk_format", "container_format")
DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
                "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")


@dataclass
class PatchResult:
    locations: list[dict] | None = None  # new locations asked for (admin, queued image)


def _check_key(key: str, creating: bool = False) -> None:
    if key in READ_ONLY and not (creating and key == "id"):
        raise errors.Forbidden(f"Attribute '{key}' is read-only.")
    if key in RESERVED or key.startswith("os_glance"):
        raise errors.Forbidden(f"Attribute '{key}' is reserved.")


def _coerce(key: str, value: Any) -> Any:
    """Validate one attribute's value (400 on a wrong type or value)."""
    def bad(why: str) -> errors.InvalidInput:
        return errors.InvalidInput(f"Invalid value for '{key}': {why}")

    if key in ("min_disk", "min_ram"):  # INTEGER columns: 32 bits in PostgreSQL and MySQL
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT32_MAX:
            raise bad(f"must be an integer from 0 to {INT32_MAX}")
    elif key in ("protected", "os_hidden"):
        if not isinstance(value, bool):
            raise bad("must be a boolean")
    elif key == "visibility":
        if value not in VISIBILITIES:
            raise bad(f"must be one of {', '.join(VISIBILITIES)}")
    elif key == "disk_format":
        if value is not None and value not in DISK_FORMATS:
            raise bad(f"must be one of {', '.join(DISK_FORMATS)}")
    elif key == "container_format":
        if value is not None and value not in CONTAINER_FORMATS:
            raise bad(f"must be one of {', '.join(CONTAINER_FORMATS)}")
    elif key == "tags":
        if not isinstance(value, list) or not all(
                isinstance(t, str) and 0 < len(t) <= 255 for t in value):
            raise bad("must be a list of strings of 1 to 255 characters")
        if len(value) > 128:
            raise errors.PayloadTooLarge("Maximum number of tags exceeded (128).")
        value = list(dict.fromkeys(value))
    elif key in ("name", "owner"):
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise bad("must be a string of at most 255 characters")
    else:  # an extra property
        if not isinstance(value, str) or len(value) > 65535:
            raise bad("extra properties are strings")
        if len(key) > 255:
            raise bad("property names are at most 255 characters")
    return value


def _set(image: Image, key: str, value: Any) -> None:
    if key in BASE:
        setattr(image, key, _coerce(key, value))
    else:
        image.properties = {**(image.properties or {}), key: _coerce(key, value)}


def apply_create(image: Image, values: dict[str, Any]) -> None:
    for key, value in values.items():
        _check_key(key, creating=True)
        _set(image, key, value)


def apply_patch(image: Image, ops: list[dict[str, Any]], is_admin: bool) -> PatchResult:
    """Apply Glance's JSON-patch subset (add / replace / remove) to ``image``."""
    result = PatchResult()
    for op in ops:
        kind, path = op.get("op"), op.get("path")
        if kind not in ("add", "replace", "remove") or not isinstance(path, str) \
                or not path.startswith("/"):
            raise errors.InvalidInput("Invalid JSON pointer for this resource: "
                                      f"'{path}' ({kind}).")
        parts = path[1:].split("/")
        key = parts[0].replace("~1", "/").replace("~0", "~")
        if key == "locations":
            if not is_admin:
                raise errors.Forbidden("Setting locations is limited to admins.")
            if kind == "remove":
                raise errors.Forbidden("Cannot remove the last location of an image.")
            value = op.get("value")
            locations = [value] if len(parts) > 1 else value
            if not isinstance(locations, list) or not all(
                    isinstance(v, dict) and isinstance(v.get("url"), str) for v in locations):
                raise errors.InvalidInput("Locations are objects with a 'url'.")
            result.locations = locations
            continue
        if len(parts) != 1 or not key:
            raise errors.InvalidInput(f"Invalid JSON pointer for this resource: '{path}'.")
        _check_key(key)
        if key == "owner" and not is_admin:
            raise errors.Forbidden("Owner can be changed only by an admin.")
        if key in FORMAT_FIELDS and image.status != "queued":
            raise errors.Forbidden(f"Attribute {key} can be only replaced for a queued image.")
        exists = key in BASE or key in (image.properties or {})
        if kind == "remove":
            if key in BASE:
                raise errors.Forbidden(f"Attribute '{key}' is a base property and cannot be "
                                       "removed.")
            if not exists:
                raise errors.Conflict(f"Property {key} does not exist.")
            image.properties = {k: v for k, v in image.properties.items() if k != key}
            continue
        if "value" not in op:
            raise errors.InvalidInput(f"Operation {kind} on '{path}' needs a value.")
        if kind == "replace" and not exists:
            raise errors.Conflict(f"Property {key} does not exist.")
        _set(image, key, op["value"])
    return result
