"""The body of ``POST /servers`` and ``PUT /servers/{id}`` as Nova's schema of
each microversion admits it: a key the requested version does not have is
Nova's 400 "Additional properties are not allowed"; the rest becomes a
:class:`~core.compute.boot_request.BootRequest` (or the update's changes).

The OpenAPI spec lists every key any version accepts; which version accepts
which is decided here:

=====================================  ==========================================
``description``                        2.19+
``networks[].tag``                     2.32-2.36 and 2.42+
``block_device_mapping_v2[].tag``      2.32 only, then 2.42+ (Nova's 2.32 mistake)
``networks``                           required from 2.37 (``boot_networks``)
``tags``                               2.52+
``personality``                        up to 2.56
``trusted_image_certificates``         2.63+
``block_device_mapping_v2[].volume_type``  2.67+
``host`` / ``hypervisor_hostname``     2.74+
``hostname``                           2.90+ (an RFC 1123 label; an FQDN from 2.94)
=====================================  ==========================================
"""

from __future__ import annotations

import re
from typing import Any

from core import errors
from core.compute import boot_volumes
from core.compute.boot_request import BootRequest
from core.numbers import BadInteger, as_int
from gateway.openstack.compute.base import MAX_INT
from gateway.openstack.compute.interfaces import boot_networks
from gateway.openstack.compute.microversions import APIVersion

# (key of "server", first version that has it, last version that has it)
_CREATE_KEYS: tuple[tuple[str, tuple[int, int], tuple[int, int] | None], ...] = (
    ("description", (2, 19), None),
    ("tags", (2, 52), None),
    ("personality", (2, 0), (2, 56)),
    ("trusted_image_certificates", (2, 63), None),
    ("host", (2, 74), None),
    ("hypervisor_hostname", (2, 74), None),
    ("hostname", (2, 90), None),
)
_UPDATE_KEYS: tuple[tuple[str, tuple[int, int], tuple[int, int] | None], ...] = (
    ("description", (2, 19), None),
    ("hostname", (2, 90), None),
)
# A device tag (Nova's parameter_types.tag): 1-60 characters, no "," or "/".
_TAG = re.compile(r"^[^,/]{1,60}$")
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
_HOSTNAME = re.compile(rf"^{_LABEL}$")
_FQDN = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")


def unexpected(key: str, where: str = "server") -> errors.InvalidInput:
    """Nova's schema error for a key the requested version does not have."""
    return errors.InvalidInput(f"Invalid input for field/attribute {where}. Additional "
                               f"properties are not allowed ('{key}' was unexpected)",
                               param=key)


def _within(mv: APIVersion, first: tuple[int, int], last: tuple[int, int] | None) -> bool:
    return mv >= first and (last is None or mv <= last)


def _check_keys(given: dict[str, Any], mv: APIVersion, keys: tuple) -> None:
    for key, first, last in keys:
        if key in given and not _within(mv, first, last):
            raise unexpected(key)


def _count(server: dict[str, Any], name: str, default: Any) -> int:
    """``min_count`` or ``max_count``: 1 to what an INTEGER column holds."""
    raw = server.get(name, default)
    try:
        return as_int(raw, 1, MAX_INT)
    except BadInteger as exc:
        raise errors.InvalidInput(f"Invalid input for field/attribute {name}. Value: "
                                  f"{raw}. {exc}", param=name) from None


def _device_tag(item: dict[str, Any], where: str, allowed: bool) -> None:
    if "tag" not in item:
        return
    if not allowed:
        raise unexpected("tag", where)
    tag = item["tag"]
    if not isinstance(tag, str) or not _TAG.match(tag):
        raise errors.InvalidInput(f"Invalid input for field/attribute tag. Value: {tag}. "
                                  "A tag is 1-60 characters without ',' or '/'.",
                                  param=where)


def check_hostname(value: Any, mv: APIVersion) -> str:
    """A hostname asked for (2.90+): one RFC 1123 label of at most 63 characters,
    or from 2.94 a fully qualified name of such labels, at most 255 characters."""
    fqdn = mv >= (2, 94)
    text = value if isinstance(value, str) else ""
    ok = (_FQDN.match(text) and len(text) <= 255) if fqdn else _HOSTNAME.match(text)
    if not ok:
        kind = "an FQDN of RFC 1123 labels (at most 255 characters)" if fqdn \
            else "an RFC 1123 hostname label (at most 63 characters)"
        raise errors.InvalidInput(f"Invalid input for field/attribute hostname. Value: "
                                  f"{value}. It must be {kind}.", param="hostname")
    return text


def _trusted_certs(value: Any) -> list[str] | None:
    """Nova's parameter_types.trusted_certs: null, or 1-50 distinct non-empty ids."""
    if value is None:
        return None
    if (not isinstance(value, list) or not 1 <= len(value) <= 50
            or len(set(map(str, value))) != len(value)
            or not all(isinstance(v, str) and v for v in value)):
        raise errors.InvalidInput("Invalid input for field/attribute "
                                  f"trusted_image_certificates. Value: {value}. It must be "
                                  "a list of 1 to 50 distinct certificate ids.",
                                  param="trusted_image_certificates")
    return list(value)


def _block_devices(raw: Any, mv: APIVersion) -> list[boot_volumes.BlockDevice]:
    for item in raw or []:
        if isinstance(item, dict):
            _device_tag(item, "block_device_mapping_v2",
                        mv == (2, 32) or mv >= (2, 42))
            if "volume_type" in item and mv < (2, 67):
                raise unexpected("volume_type", "block_device_mapping_v2")
    return boot_volumes.parse(raw)


def _networks(raw: Any, mv: APIVersion) -> Any:
    if isinstance(raw, list):
        for item in raw:
            if isinstance(item, dict):
                _device_tag(item, "networks", _within(mv, (2, 32), (2, 36)) or mv >= (2, 42))
    return boot_networks(raw, mv)


def boot_request(body: dict[str, Any], mv: APIVersion) -> BootRequest:
    """The create body of microversion ``mv`` as core's BootRequest (the edge's
    400s raised)."""
    s = body["server"]
    _check_keys(s, mv, _CREATE_KEYS)
    devices = _block_devices(s.get("block_device_mapping_v2"), mv)
    image_ref = s.get("imageRef") or None
    if not image_ref:
        image_ref = next((d.uuid for d in devices if d.source_type == "image"
                          and d.is_root and not d.is_volume), None)
    hints = dict(body.get("OS-SCH-HNT:scheduler_hints") or
                 body.get("os:scheduler_hints") or {})
    hostname = s.get("hostname")
    return BootRequest(
        name=s["name"], image_ref=image_ref, flavor_ref=str(s["flavorRef"]),
        key_name=s.get("key_name"), metadata=s.get("metadata") or {},
        user_data=s.get("user_data"), availability_zone=s.get("availability_zone"),
        min_count=_count(s, "min_count", 1),
        max_count=_count(s, "max_count", s.get("min_count", 1)),
        description=s.get("description"),
        access_ip_v4=s.get("accessIPv4") or None, access_ip_v6=s.get("accessIPv6") or None,
        security_groups=[g["name"] for g in s.get("security_groups") or
                         [{"name": "default"}]],
        scheduler_hints=hints, config_drive=bool(s.get("config_drive")),
        networks=_networks(s.get("networks"), mv), block_devices=devices,
        tags=list(s.get("tags") or []),
        hostname=check_hostname(hostname, mv) if hostname is not None else None,
        trusted_certs=_trusted_certs(s.get("trusted_image_certificates")),
        requested_host=s.get("host") or None,
        requested_node=s.get("hypervisor_hostname") or None)


def update_changes(body: dict[str, Any], mv: APIVersion) -> dict[str, Any]:
    """The changes of ``PUT /servers/{id}`` at microversion ``mv``."""
    changes = dict(body["server"])
    _check_keys(changes, mv, _UPDATE_KEYS)
    if "hostname" in changes:
        changes["hostname"] = check_hostname(changes["hostname"], mv)
    return changes
