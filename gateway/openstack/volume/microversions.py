"""Block Storage microversions: ``OpenStack-API-Version: volume 3.X``.

No header means 3.0; ``latest`` means :data:`MAX_VERSION`. A malformed version
is a 400, one outside ``[MIN_VERSION, MAX_VERSION]`` a 406, both as Cinder
faults. Every response under ``/volume/v3`` echoes the version with ``Vary``,
errors included (Tempest asserts the echo equals the version it asked for).

Handlers compare the current version with a tuple::

    from gateway.openstack.volume import microversions

    if microversions.current() >= (3, 13):
        out["group_id"] = None
    microversions.require((3, 27))   # 404 below 3.27
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Mapping
from typing import NamedTuple

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import errors
from gateway.jsonutil import dumps
from gateway.openstack.volume.faults import cinder_fault_body

_VERSION = re.compile(r"^([1-9][0-9]{0,8})\.([1-9][0-9]{0,8}|0)$")


class APIVersion(NamedTuple):
    """A microversion; compares with other versions and with ``(major, minor)``."""

    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


class InvalidVersion(Exception):
    """A requested version that is malformed (400) or not served (406)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


SERVICE_TYPES = ("volume", "block-storage")  # Cinder's name; keystoneauth's type accepted too
HEADER = "OpenStack-API-Version"
MIN_VERSION = APIVersion(3, 0)
MAX_VERSION = APIVersion(3, 71)

_current: contextvars.ContextVar[APIVersion] = contextvars.ContextVar(
    "volume_api_version", default=MIN_VERSION)


def _requested_text(headers: Mapping[str, str]) -> str | None:
    value = headers.get(HEADER.lower())
    if not value:
        return None
    for item in value.split(","):
        service, _, version = item.strip().partition(" ")
        if service.lower() in SERVICE_TYPES and version.strip():
            return version.strip()
    return None


def _unsupported(version: str) -> InvalidVersion:
    return InvalidVersion(406, f"Version {version} is not supported by the API. "
                               f"Minimum is {MIN_VERSION} and maximum is {MAX_VERSION}.")


def parse(headers: Mapping[str, str]) -> APIVersion:
    """The version a request asks for (``headers`` by lower-case name);
    raises :class:`InvalidVersion`."""
    text = _requested_text(headers)
    if text is None:
        return MIN_VERSION
    if text.lower() == "latest":
        return MAX_VERSION
    m = _VERSION.match(text)
    if m is None:
        raise InvalidVersion(400, f"API Version String {text[:40]} is of invalid format. "
                                  "Must be of format MajorNum.MinorNum.")
    version = APIVersion(int(m.group(1)), int(m.group(2)))
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise _unsupported(str(version))
    return version


def current() -> APIVersion:
    """The microversion of the request being handled (3.0 outside one)."""
    return _current.get()


def require(minimum: tuple[int, int]) -> None:
    """NotFound (404) below ``minimum``, as Cinder answers for a method the
    version does not have."""
    if current() < minimum:
        raise errors.NotFound("The resource could not be found.")


def response_headers(version: APIVersion | None) -> list[tuple[bytes, bytes]]:
    headers = [(b"vary", HEADER.encode())]
    if version is not None:
        headers.append((HEADER.lower().encode(), f"volume {version}".encode()))
    return headers


class VolumeMicroversions:
    """Parses, enforces and echoes the microversion of requests under ``prefix``."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == self.prefix
                                           or path.startswith(self.prefix + "/")):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers") or []}
        try:
            version = parse(headers)
        except InvalidVersion as exc:
            body = dumps(cinder_fault_body(exc.status, exc.message))
            await send({"type": "http.response.start", "status": exc.status, "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()), *response_headers(None)]})
            await send({"type": "http.response.body", "body": body})
            return
        extra = response_headers(version)
        names = {name for name, _ in extra}

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*(h for h in message.get("headers", [])
                                        if h[0].lower() not in names), *extra]
            await send(message)

        token = _current.set(version)
        try:
            await self.app(scope, receive, send_with_version)
        finally:
            _current.reset(token)
