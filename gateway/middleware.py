"""ASGI middleware around the whole application: request ids, canonical
paths, structured access logs (never headers or bodies: no secrets), and the
request metrics (gateway/metrics.py)."""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.metrics import ApiMetrics, routed_operation

log = logging.getLogger("nimbus.access")

# A mutable per-request record: handlers running in worker threads write the
# caller's identity into it, and the access log reads it afterwards.
request_record: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar(
    "request_record")

_REQ_ID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
EMPTY_ID = "-"  # what an empty path id is routed as: no object has it


def _request_id(headers: dict[bytes, bytes]) -> str:
    """Reuse a well-formed incoming id (from a client or nginx), else make one."""
    given = headers.get(b"x-openstack-request-id", b"").decode("latin-1").lower()
    if _REQ_ID.match(given):
        return given
    forwarded = headers.get(b"x-request-id", b"").decode("latin-1").lower()
    if _HEX32.match(forwarded):
        return f"req-{uuid.UUID(forwarded)}"
    return f"req-{uuid.uuid4()}"


class EdgeMiddleware:
    """Outermost layer of every API node.

    - ``/identity`` → ``/identity/`` and ``/identity/v3/`` → ``/identity/v3``: the
      clients call version roots both ways and expect no redirects.
    - every response carries ``x-openstack-request-id``; the compute API's also
      ``x-compute-request-id`` (Nova sends both, with the same value).
    - one structured log line per request, and its metrics (``metrics``).
    """

    def __init__(self, app: ASGIApp, api_prefixes: tuple[str, ...],
                 metrics: ApiMetrics | None = None, compute_prefix: str = "/compute",
                 empty_id_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.roots = {p.rstrip("/") for p in api_prefixes}
        self.metrics = metrics
        self.compute_prefix = compute_prefix.rstrip("/")
        # Collections where a trailing slash names an empty id (Glance: GET and
        # DELETE /v2/images/ are 404s, not the collection)
        self.empty_id_paths = empty_id_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in self.roots:
            path = path + "/"
        elif path in self.empty_id_paths:
            # routed as an id no object has (the router would redirect the bare
            # slash to the collection), so the API answers its own 404
            routed = path + EMPTY_ID
            scope = dict(scope, path=routed, raw_path=routed.encode())
        elif len(path) > 1 and path.endswith("/") and path.rstrip("/") not in self.roots:
            path = path.rstrip("/")
        if path != scope["path"] and path not in self.empty_id_paths:
            scope = dict(scope, path=path, raw_path=path.encode())
        headers = dict(scope.get("headers") or [])
        req_id = _request_id(headers)
        record: dict[str, Any] = {"request_id": req_id}
        token = request_record.set(record)
        scope.setdefault("state", {})["request_id"] = req_id
        scope.setdefault("extensions", {})  # shared with the copies below: the routing
        api = self.metrics.api_of(path) if self.metrics is not None else None
        if api is not None and self.metrics is not None:
            self.metrics.started(api)
        start = time.perf_counter()
        status = 0

        id_headers = [(b"x-openstack-request-id", req_id.encode())]
        if path == self.compute_prefix or path.startswith(self.compute_prefix + "/"):
            # Nova's own name for it, as its clients log it
            id_headers.append((b"x-compute-request-id", req_id.encode()))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), *id_headers]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_record.reset(token)
            seconds = time.perf_counter() - start
            if api is not None and self.metrics is not None:
                self.metrics.finished(api, record.get("operation") or routed_operation(scope),
                                      status, seconds)
            log.info("request", extra={"fields": {
                "request_id": req_id, "method": scope["method"], "path": path,
                "status": status, "ms": round(seconds * 1000, 2),
                "user_id": record.get("user_id"), "project_id": record.get("project_id"),
                "remote": (headers.get(b"x-forwarded-for", b"").decode("latin-1")
                           or (scope.get("client") or ("",))[0])}})
