"""``GET /healthcheck``, as oslo.middleware's healthcheck answers it.

Shallow on purpose: it says whether this node should get requests — the
process answers, it is not draining after SIGTERM, and no disable file exists
(oslo's ``disable_by_file``) — not whether the database answers. A database
outage would otherwise take every node out of the load balancer's pool at
once and turn each API's own 503 (with Retry-After) into the balancer's 502.

- ``GET``: 200 ``OK`` (text/plain), or 503 with the reasons;
  ``Accept: application/json`` gives ``{"detailed": false, "reasons": [...]}``;
  ``text/html`` is offered as well;
- ``HEAD``: 204 when healthy, 503 when not, no body.

No authentication: it reveals nothing but the reasons above.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from starlette.types import Receive, Scope, Send

from gateway.asgi import NO_STORE, method_not_allowed, send_response

OK = "OK"
DISABLED_BY_FILE = "DISABLED BY FILE"
DRAINING = "SHUTTING DOWN"
OFFERS = ("text/plain", "application/json", "text/html")


class Health:
    """What the health check reports; ``start_draining`` is called on SIGTERM
    (gateway/worker.py), ``drain_delay`` is how long the node then goes on serving."""

    def __init__(self, disable_file: Path | None = None, drain_delay: float = 0.0) -> None:
        self.disable_file = disable_file
        self.drain_delay = drain_delay
        self.draining = False

    def start_draining(self) -> None:
        self.draining = True

    def reasons(self) -> list[str]:
        """Why this node should not get requests; empty when it should."""
        reasons = []
        if self.draining:
            reasons.append(DRAINING)
        if self.disable_file is not None and self.disable_file.exists():
            reasons.append(DISABLED_BY_FILE)
        return reasons


class HealthcheckEndpoint:
    def __init__(self, health: Health) -> None:
        self.health = health

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            await method_not_allowed(send)
            return
        reasons = self.health.reasons()
        status = 503 if reasons else (204 if method == "HEAD" else 200)
        content_type, body = render(reasons or [OK], _accept(scope))
        if method == "HEAD":
            await send_response(send, status, b"", content_type, [NO_STORE], length=0)
            return
        await send_response(send, status, body, content_type, [NO_STORE])


def render(reasons: list[str], accept: str) -> tuple[str, bytes]:
    offer = best_offer(accept)
    if offer == "application/json":
        return "application/json", json.dumps({"detailed": False, "reasons": reasons}).encode()
    if offer == "text/html":
        items = "".join(f"<li>{html.escape(r)}</li>" for r in reasons)
        return "text/html; charset=utf-8", (f"<html><body><h2>Result of health check</h2>"
                                            f"<ul>{items}</ul></body></html>").encode()
    return "text/plain; charset=utf-8", "\n".join(reasons).encode()


def best_offer(accept: str) -> str:
    """The offer the Accept header prefers (quality, then our order); text/plain
    when it names none of them."""
    best, best_q = OFFERS[0], 0.0
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        media = media.strip().lower()
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        for offer in OFFERS:
            if media in (offer, offer.split("/")[0] + "/*", "*/*") and q > best_q:
                best, best_q = offer, q
                break
    return best


def _accept(scope: Scope) -> str:
    for key, value in scope.get("headers") or []:
        if key.lower() == b"accept":
            return value.decode("latin-1")
    return ""
