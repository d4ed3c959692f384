"""Microversions as Nova and Cinder serve them, one implementation for both:
``OpenStack-API-Version: <service type> X.Y`` (and, for Nova, the legacy
``X-OpenStack-Nova-API-Version: X.Y``; the new header wins).

No header means the minimum; ``latest`` the maximum. A malformed version is a
400, one outside ``[minimum, maximum]`` a 406, both in the service's fault
body. :meth:`Microversions.middleware` makes the version the request's current
one (a context variable: async handlers and the sync ones connexion runs in
its thread pool both see it) and echoes it with ``Vary`` on every response,
errors included.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import errors
from gateway.jsonutil import dumps

HEADER = "OpenStack-API-Version"
_VERSION = re.compile(r"^([1-9][0-9]*)\.([1-9][0-9]*|0)$")
# A longer part names no version anyone serves; int() of 5,000 digits raised.
_MAX_PART_DIGITS = 9


class InvalidVersion(Exception):
    """A requested version that is malformed (400) or not served (406)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class APIVersion(NamedTuple):
    """A microversion; compares with other versions and with ``(major, minor)``."""

    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


class Microversions:
    """One service's microversions: parsing, the current request's version,
    the 404 of a method a version lacks, and the ASGI middleware."""

    def __init__(self, service_types: tuple[str, ...], minimum: APIVersion,
                 maximum: APIVersion, fault_body: Callable[[int, str], dict],
                 legacy_header: str | None = None) -> None:
        self.service_types = service_types
        self.minimum = minimum
        self.maximum = maximum
        self.fault_body = fault_body
        self.legacy_header = legacy_header
        self.vary = ", ".join(h for h in (HEADER, legacy_header) if h)
        self._current: contextvars.ContextVar[APIVersion] = contextvars.ContextVar(
            f"{service_types[0]}_api_version", default=minimum)

    # ---- parsing ----------------------------------------------------------------
    def requested_text(self, headers: Mapping[str, str]) -> str | None:
        """The version string the headers ask for, if any (``microversion_parse`` rules)."""
        value = headers.get(HEADER.lower())
        if value:
            for item in value.split(","):
                service, _, version = item.strip().partition(" ")
                if service.lower() in self.service_types and version.strip():
                    return version.strip()
        if self.legacy_header:
            legacy = headers.get(self.legacy_header.lower())
            if legacy and legacy.strip():
                return legacy.strip()
        return None

    def unsupported(self, version: str) -> InvalidVersion:
        return InvalidVersion(406, f"Version {version} is not supported by the API. "
                                   f"Minimum is {self.minimum} and maximum is {self.maximum}.")

    def version_of(self, text: str) -> APIVersion:
        """``X.Y`` as a version; InvalidVersion 400 when malformed, 406 when a
        part is longer than any version served."""
        m = _VERSION.match(text.strip())
        if m is None:
            raise InvalidVersion(400, f"API Version String {text[:40]} is of invalid format. "
                                      "Must be of format MajorNum.MinorNum.")
        if max(len(m.group(1)), len(m.group(2))) > _MAX_PART_DIGITS:
            raise self.unsupported(text if len(text) <= 40 else text[:40] + "...")
        return APIVersion(int(m.group(1)), int(m.group(2)))

    def parse(self, headers: Mapping[str, str]) -> APIVersion:
        """The version a request asks for (``headers`` by lower-case name);
        raises :class:`InvalidVersion`."""
        text = self.requested_text(headers)
        if text is None:
            return self.minimum
        if text.lower() == "latest":
            return self.maximum
        version = self.version_of(text)
        if not self.minimum <= version <= self.maximum:
            raise self.unsupported(str(version))
        return version

    # ---- the current request --------------------------------------------------------
    def current(self) -> APIVersion:
        """The microversion of the request being handled (the minimum outside one)."""
        return self._current.get()

    def require(self, minimum: tuple[int, int], maximum: tuple[int, int] | None = None
                ) -> None:
        """NotFound (404) unless the current version is within ``[minimum, maximum]``,
        as Nova and Cinder answer for a method the version does not have."""
        mv = self.current()
        if mv < minimum or (maximum is not None and mv > maximum):
            raise errors.NotFound("The resource could not be found.")

    def response_headers(self, version: APIVersion | None) -> list[tuple[bytes, bytes]]:
        headers = [(b"vary", self.vary.encode())]
        if version is not None:
            headers.append((HEADER.lower().encode(),
                            f"{self.service_types[0]} {version}".encode()))
            if self.legacy_header:
                headers.append((self.legacy_header.lower().encode(), str(version).encode()))
        return headers

    def middleware(self, app: ASGIApp, prefixes: Iterable[str]) -> ASGIApp:
        return _Middleware(self, app, tuple(p.rstrip("/") for p in prefixes))


class _Middleware:
    """Parses, enforces and echoes the microversion of requests under ``prefixes``."""

    def __init__(self, versions: Microversions, app: ASGIApp, prefixes: tuple[str, ...]
                 ) -> None:
        self.versions = versions
        self.app = app
        self.prefixes = prefixes

    def _versioned(self, path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in self.prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._versioned(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        versions = self.versions
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers") or []}
        try:
            version = versions.parse(headers)
        except InvalidVersion as exc:
            body = dumps(versions.fault_body(exc.status, exc.message))
            await send({"type": "http.response.start", "status": exc.status, "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *versions.response_headers(None)]})
            await send({"type": "http.response.body", "body": body})
            return
        extra = versions.response_headers(version)
        names = {name for name, _ in extra}

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*(h for h in message.get("headers", [])
                                        if h[0].lower() not in names), *extra]
            await send(message)

        token = versions._current.set(version)
        try:
            await self.app(scope, receive, send_with_version)
        finally:
            versions._current.reset(token)
