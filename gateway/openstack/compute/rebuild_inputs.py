"""The body of the ``rebuild`` server action as Nova's schemas take it at each
microversion: which keys exist (2.19 description, 2.54 key_name, 2.57
user_data instead of personality, 2.63 trusted_image_certificates, 2.90
hostname; any other key is a 400), and 2.93's re-image of a volume-backed
server's root volume."""

from __future__ import annotations

import re
from typing import Any

from core import errors
from core.compute.rebuild import RebuildRequest
from gateway.openstack.compute.base import parse_bool
from gateway.openstack.microversion import APIVersion

BASE_KEYS = ("imageRef", "name", "adminPass", "metadata", "preserve_ephemeral",
             "OS-DCF:diskConfig", "accessIPv4", "accessIPv6")
_LABEL = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")
_FQDN = re.compile(r"^(?=.{1,255}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
                   r"(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$")


def allowed_keys(mv: APIVersion) -> set[str]:
    keys = set(BASE_KEYS)
    if mv < (2, 57):
        keys.add("personality")
    else:
        keys.add("user_data")
    for key, since in (("description", (2, 19)), ("key_name", (2, 54)),
                       ("trusted_image_certificates", (2, 63)), ("hostname", (2, 90))):
        if mv >= since:
            keys.add(key)
    return keys


def _invalid(name: str, value: Any, why: str) -> errors.InvalidInput:
    return errors.InvalidInput(f"Invalid input for field/attribute {name}. Value: {value}. "
                               f"{why}", param=name)


def _key_name(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= 255):
        raise _invalid("key_name", value, "It must be null or a name of 1 to 255 characters.")
    return value


def _user_data(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) > 65535):
        raise _invalid("user_data", value, "It must be null or base64 text of at most 65535 "
                       "characters.")
    return value


def _trusted_certs(value: Any) -> list[str] | None:
    """Nova's parameter_types.trusted_certs: null, or 1-50 distinct non-empty ids."""
    if value is None:
        return None
    if (not isinstance(value, list) or not 1 <= len(value) <= 50
            or not all(isinstance(v, str) and v for v in value)
            or len(set(value)) != len(value)):
        raise _invalid("trusted_image_certificates", value,
                       "It must be null or a list of 1 to 50 distinct certificate ids.")
    return list(value)


def _hostname(value: Any, mv: APIVersion) -> str:
    fqdn = mv >= (2, 94)
    text = value if isinstance(value, str) else ""
    if not (_FQDN if fqdn else _LABEL).match(text):
        kind = "an FQDN (at most 255 characters)" if fqdn else \
            "a hostname label of at most 63 characters"
        raise _invalid("hostname", value, f"It must be {kind}.")
    return text


def parse(body: dict[str, Any], mv: APIVersion) -> RebuildRequest:
    """The rebuild request Nova's schema for ``mv`` accepts (400 otherwise)."""
    extra = sorted(set(body) - allowed_keys(mv))
    if extra:
        raise errors.InvalidInput("Invalid input for field/attribute rebuild. Additional "
                                  f"properties are not allowed ({', '.join(map(repr, extra))}"
                                  f" {'was' if len(extra) == 1 else 'were'} unexpected)")
    image_ref = body.get("imageRef")
    if not isinstance(image_ref, str) or not image_ref.strip():
        raise errors.InvalidInput("Invalid input for field/attribute imageRef.",
                                  param="imageRef")
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise errors.InvalidInput("Invalid input for field/attribute name.", param="name")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise errors.InvalidInput("Invalid input for field/attribute metadata.",
                                  param="metadata")
    req = RebuildRequest(image_ref=image_ref.rstrip("/").rsplit("/", 1)[-1], name=name,
                         metadata=metadata,
                         preserve_ephemeral=parse_bool(body.get("preserve_ephemeral", False),
                                                       "preserve_ephemeral"),
                         reimage_boot_volume=mv >= (2, 93))
    if "key_name" in body:
        req.key_name = _key_name(body["key_name"])
    if "user_data" in body:
        req.user_data = _user_data(body["user_data"])
    if "trusted_image_certificates" in body:
        req.trusted_certs = _trusted_certs(body["trusted_image_certificates"])
    if "hostname" in body:
        req.hostname = _hostname(body["hostname"], mv)
    return req
