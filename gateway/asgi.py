"""A plain ASGI answer, for the endpoints that live outside connexion."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

NO_STORE = (b"cache-control", b"no-store")


async def send_response(send: Send, status: int, body: bytes, content_type: str,
                        headers: list[tuple[bytes, bytes]] | None = None,
                        length: int | None = None) -> None:
    """Send ``body`` whole; ``length`` overrides Content-Length (a HEAD answer
    announces the length its GET would have)."""
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type.encode()),
                            (b"content-length", str(len(body) if length is None
                                                    else length).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


async def method_not_allowed(send: Send) -> None:
    await send_response(send, 405, b"Method Not Allowed\n", "text/plain; charset=utf-8",
                        [(b"allow", b"GET, HEAD")])


class PathRoutes:
    """Answers the exact paths of ``routes`` with their apps; passes on the rest."""

    def __init__(self, app: ASGIApp, routes: Mapping[str, ASGIApp]) -> None:
        self.app = app
        self.routes = dict(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        await (route or self.app)(scope, receive, send)
