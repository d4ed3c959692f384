"""Compute API microversions: one place that parses, checks and echoes them.

Clients ask for a version with ``OpenStack-API-Version: compute 2.19`` or the
legacy ``X-OpenStack-Nova-API-Version: 2.19`` (keystoneauth sends both; the
new header wins). No header means 2.1; ``latest`` means :data:`MAX_VERSION`.
A malformed version is a 400, one outside ``[MIN_VERSION, MAX_VERSION]`` a 406
with Nova's message, both as Nova fault bodies.

:class:`MicroversionMiddleware` wraps the application. For every request
under the versioned prefix (``/compute/v2.1``) it parses the headers, makes the
version the request's current one, and adds ``OpenStack-API-Version``,
``X-OpenStack-Nova-API-Version`` and ``Vary`` to the response, errors
included.

Handlers (flavors, key pairs, servers, ...) ask for the current request's
version and compare it with a tuple::

    from gateway.openstack.compute import microversions

    mv = microversions.current()          # an APIVersion, e.g. APIVersion(2, 19)
    if mv >= (2, 19):
        out["description"] = server.description

    microversions.require((2, 11))        # 404 below 2.11, as Nova answers for
                                          # a method the version does not have

:func:`current` works in async handlers and in sync handlers connexion runs in
its thread pool (the value lives in a context variable, which both inherit).
Outside a request it returns :data:`MIN_VERSION`.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import errors
from gateway.jsonutil import dumps
from gateway.openstack.faults import nova_fault_body

SERVICE_TYPE = "compute"
HEADER = "OpenStack-API-Version"
LEGACY_HEADER = "X-OpenStack-Nova-API-Version"
VARY = f"{HEADER}, {LEGACY_HEADER}"
_VERSION = re.compile(r"^([1-9][0-9]*)\.([1-9][0-9]*|0)$")
# A longer part names no version anyone serves; int() of 5,000 digits raised.
_MAX_PART_DIGITS = 9


class APIVersion(NamedTuple):
    """A microversion; compares with other versions and with ``(major, minor)``."""

    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    @classmethod
    def parse(cls, text: str) -> APIVersion:
        m = _VERSION.match(text.strip())
        if m is None:
            raise InvalidVersion(400, f"API Version String {text} is of invalid format. "
                                      "Must be of format MajorNum.MinorNum.")
        if max(len(m.group(1)), len(m.group(2))) > _MAX_PART_DIGITS:
            raise _unsupported(text if len(text) <= 40 else text[:40] + "...")
        return cls(int(m.group(1)), int(m.group(2)))


MIN_VERSION = APIVersion(2, 1)
# The newest microversion whose behaviour every compute handler follows. Raise
# it only when every change up to the new value is implemented.
MAX_VERSION = APIVersion(2, 26)

_current: contextvars.ContextVar[APIVersion] = contextvars.ContextVar(
    "compute_api_version", default=MIN_VERSION)


class InvalidVersion(Exception):
    """A requested version that is malformed (400) or not served (406)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _requested_text(headers: Mapping[str, str]) -> str | None:
    """The version string the headers ask for, if any (``microversion_parse`` rules)."""
    value = headers.get(HEADER.lower())
    if value:
        for item in value.split(","):
            service, _, version = item.strip().partition(" ")
            if service.lower() == SERVICE_TYPE and version.strip():
                return version.strip()
    legacy = headers.get(LEGACY_HEADER.lower())
    return legacy.strip() if legacy and legacy.strip() else None


def parse(headers: Mapping[str, str]) -> APIVersion:
    """The version a request asks for; raises :class:`InvalidVersion`.

    ``headers`` maps lower-case header names to values.
    """
    text = _requested_text(headers)
    if text is None:
        return MIN_VERSION
    if text.lower() == "latest":
        return MAX_VERSION
    version = APIVersion.parse(text)
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise _unsupported(str(version))
    return version


def _unsupported(version: str) -> InvalidVersion:
    return InvalidVersion(406, f"Version {version} is not supported by the API. "
                               f"Minimum is {MIN_VERSION} and maximum is {MAX_VERSION}.")


def current() -> APIVersion:
    """The microversion of the request being handled."""
    return _current.get()


def require(minimum: tuple[int, int], maximum: tuple[int, int] | None = None) -> None:
    """NotFound (404) unless the current version is within ``[minimum, maximum]``."""
    mv = current()
    if mv < minimum or (maximum is not None and mv > maximum):
        raise errors.NotFound("The resource could not be found.")


def response_headers(version: APIVersion | None) -> list[tuple[bytes, bytes]]:
    headers = [(b"vary", VARY.encode())]
    if version is not None:
        headers += [(HEADER.lower().encode(), f"{SERVICE_TYPE} {version}".encode()),
                    (LEGACY_HEADER.lower().encode(), str(version).encode())]
    return headers


class MicroversionMiddleware:
    """Parses, enforces and echoes the microversion of requests under ``prefixes``."""

    def __init__(self, app: ASGIApp, prefixes: Iterable[str]) -> None:
        self.app = app
        self.prefixes = tuple(p.rstrip("/") for p in prefixes)

    def _versioned(self, path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in self.prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._versioned(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers") or []}
        try:
            version = parse(headers)
        except InvalidVersion as exc:
            body = dumps(nova_fault_body(exc.status, exc.message))
            await send({"type": "http.response.start", "status": exc.status, "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()), *response_headers(None)]})
            await send({"type": "http.response.body", "body": body})
            return
        extra = response_headers(version)

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in extra}
                message["headers"] = [*(h for h in message.get("headers", [])
                                        if h[0].lower() not in names), *extra]
            await send(message)

        token = _current.set(version)
        try:
            await self.app(scope, receive, send_with_version)
        finally:
            _current.reset(token)
