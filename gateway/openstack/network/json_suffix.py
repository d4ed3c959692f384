"""Neutron accepts a ``.json`` suffix on every path (``/v2.0/networks.json``,
``/v2.0/networks/<id>.json``), as older clients send: strip it before routing."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

SUFFIX = ".json"


class JsonSuffix:
    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/") + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith(self.prefix) and path.endswith(SUFFIX) and len(path) > len(
                self.prefix) + len(SUFFIX):
            raw = scope.get("raw_path") or path.encode()
            scope = dict(scope, path=path[:-len(SUFFIX)],
                         raw_path=raw[:-len(SUFFIX)] if raw.endswith(b".json") else raw)
        await self.app(scope, receive, send)
