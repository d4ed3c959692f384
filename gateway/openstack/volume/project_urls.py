"""Paths with and without the project id: Cinder's router serves both
``/v3/{project_id}/volumes`` and ``/v3/volumes`` whatever the microversion
(3.67 only advertises it), and clients whose catalog URL ends in the project
id call the first form.

:class:`ProjectIdPaths` drops the project id segment before routing, so the
spec names each path once, and keeps it for :func:`url_project_id`: a handler
refuses a project id other than the caller's, as Cinder's WSGI layer does
("Malformed request url", 400).
"""

from __future__ import annotations

import contextvars

from starlette.types import ASGIApp, Receive, Scope, Send

# The first segment of every path the spec serves under /v3.
COLLECTIONS = frozenset({
    "volumes", "snapshots", "attachments", "types", "os-quota-sets", "limits",
    "os-availability-zone", "os-services", "scheduler-stats"})

_url_project: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "volume_url_project_id", default=None)


def url_project_id() -> str | None:
    """The project id the request's path named, if it named one."""
    return _url_project.get()


def split_project(path: str, prefix: str) -> tuple[str, str | None]:
    """``path`` without a project id segment after ``prefix``, and that id."""
    if not path.startswith(prefix + "/"):
        return path, None
    head, sep, rest = path[len(prefix) + 1:].partition("/")
    if not sep or not head or head in COLLECTIONS or rest.partition("/")[0] not in COLLECTIONS:
        return path, None
    return f"{prefix}/{rest}", head


class ProjectIdPaths:
    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, project_id = split_project(scope["path"], self.prefix)
        if project_id is None:
            await self.app(scope, receive, send)
            return
        scope = dict(scope, path=path, raw_path=path.encode())
        token = _url_project.set(project_id)
        try:
            await self.app(scope, receive, send)
        finally:
            _url_project.reset(token)
