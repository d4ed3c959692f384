"""What every Block Storage handler needs: the volume services, the
authenticator the other OpenStack APIs use, the endpoint's public URL, and
Cinder's ways of reading request bodies and booleans."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connexion import NoContent

from core import errors
from core.context import RequestContext
from core.services import CoreServices
from core.settings import Settings
from core.volume.backends import VolumeBackends
from core.volume.services import VolumeServices
from gateway.openstack.auth import Authenticator
from gateway.openstack.volume.project_urls import url_project_id

ACCEPTED = (NoContent, 202)
NO_CONTENT = (NoContent, 204)
_TRUE = frozenset({"1", "t", "true", "on", "y", "yes"})
_FALSE = frozenset({"0", "f", "false", "off", "n", "no"})


@dataclass(frozen=True)
class VolumeDeps:
    """Built once by the app factory."""

    settings: Settings
    auth: Authenticator
    base: str  # public URL of the API, without version: http://h/volume
    volume: VolumeServices
    backends: VolumeBackends

    @classmethod
    def from_core(cls, core: CoreServices, auth: Authenticator, base: str) -> VolumeDeps:
        return cls(settings=core.settings, auth=auth, base=base,
                   volume=core.volumes,
                   backends=VolumeBackends(core.db, core.policy, core.settings))


class Handler:
    def __init__(self, deps: VolumeDeps) -> None:
        self.deps = deps
        self.auth = deps.auth

    @property
    def services(self) -> VolumeServices:
        return self.deps.volume

    def context(self) -> RequestContext:
        """The caller's context; a project id in the path must be the caller's."""
        ctx = self.auth.context()
        in_url = url_project_id()
        if in_url is not None and in_url != ctx.project_id:
            raise errors.InvalidInput("Malformed request url")
        return ctx


def member_body(body: Any, key: str) -> dict[str, Any]:
    """``body[key]`` as a dict; Cinder's 400 when it is missing or not an object."""
    if not isinstance(body, dict) or key not in body:
        raise errors.InvalidInput(f"Missing required element '{key}' in request body.")
    value = body[key]
    if not isinstance(value, dict):
        raise errors.InvalidInput(f"Invalid input for field/attribute {key}. Value: "
                                  f"{value!r}. {value!r} is not of type 'object'")
    return value


def given(values: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The ``keys`` of ``values`` that are present and not null (OSC sends every
    key of a create, unset ones as explicit nulls)."""
    return {k: values[k] for k in keys if values.get(k) is not None}


def parse_bool(value: Any, name: str, default: bool = False) -> bool:
    """A boolean given as JSON or a query string, case-insensitively
    (``oslo_utils.strutils.bool_from_string(strict=True)``)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise errors.InvalidInput(f"Invalid value '{value}' for {name}: it must be a boolean.",
                              param=name)


def parse_size(value: Any, name: str = "size") -> int:
    """A size in GiB: a positive integer, or a string of one."""
    if isinstance(value, bool):
        value = None
    try:
        size = int(value) if not isinstance(value, float) or value.is_integer() else None
    except (TypeError, ValueError):
        size = None
    if size is None or size <= 0 or str(value).strip() not in (str(size), f"{size}.0"):
        raise errors.InvalidInput(f"Invalid input received: {name} must be an integer "
                                  f"and greater than 0 (got {value!r}).", param=name)
    return size


def parse_metadata(value: Any, name: str = "metadata") -> dict[str, str]:
    if not isinstance(value, dict):
        raise errors.InvalidInput(f"Invalid input for field/attribute {name}: "
                                  f"{value!r} is not of type 'object'", param=name)
    for key, item in value.items():
        if not key or len(key) > 255 or not isinstance(item, str) or len(item) > 255:
            raise errors.InvalidInput(f"Invalid input for field/attribute {name}: "
                                      "keys and values are strings of 1 to 255 "
                                      "characters", param=name)
    return dict(value)
