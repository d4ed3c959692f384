"""Takes the raw EC2 request before connexion sees it.

The EC2 edge reads requests itself: SigV4 signs the body's bytes and the
headers as sent, and an EC2 call may carry more fields than starlette's form
parser allows (1,000 — DescribeInstances with 1,000 IDs has more). So this
ASGI middleware keeps the request's headers and body in the scope (see
:func:`raw_request_of`) and hands connexion, which routes by the spec, an
empty form-encoded body: connexion never rejects or parses what the EC2
edge answers for. A body over :data:`~gateway.ec2.protocol.MAX_BODY` is
answered here with an EC2 error.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.ec2.errors import Ec2Error, error_body
from gateway.ec2.protocol import FORM, MAX_BODY

SCOPE_KEY = "nimbus.ec2.raw_request"
CONTENT_TYPE = b"text/xml;charset=UTF-8"


@dataclass(frozen=True)
class RawRequest:
    headers: dict[str, str]  # lower-case names, as sent
    body: bytes


def raw_request_of(scope: Scope) -> RawRequest:
    """The request as the client sent it (taken by :class:`Ec2Transport`)."""
    raw = scope.get("extensions", {}).get(SCOPE_KEY)
    if isinstance(raw, RawRequest):
        return raw
    headers = {k.decode("latin-1").lower(): v.decode("latin-1")
               for k, v in scope.get("headers", [])}
    return RawRequest(headers, b"")


class Ec2Transport:
    def __init__(self, app: ASGIApp, prefix: str = "/ec2") -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")

    def _applies(self, scope: Scope) -> bool:
        path = str(scope.get("path", ""))
        return scope["type"] == "http" and (path == self.prefix
                                            or path.startswith(self.prefix + "/"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._applies(scope):
            await self.app(scope, receive, send)
            return
        path, method = str(scope.get("path", "")), scope.get("method")
        if path not in (self.prefix, self.prefix + "/"):
            await self._refuse(scope, send, Ec2Error(
                "InvalidURI", f"There is no EC2 endpoint at {path}: send actions to "
                              f"{self.prefix}/."))
            return
        if method not in ("GET", "POST"):
            await self._refuse(scope, send, Ec2Error(
                "MethodNotAllowed", f"The method {method} is not allowed: send actions "
                                    f"with POST (or GET)."))
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                await self._too_large(scope, send)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        scope.setdefault("extensions", {})[SCOPE_KEY] = RawRequest(headers, b"".join(chunks))
        if scope.get("method") == "POST":
            kept = [(k, v) for k, v in scope.get("headers", [])
                    if k.lower() not in (b"content-type", b"content-length")]
            scope = dict(scope, headers=[*kept, (b"content-type", FORM.encode()),
                                         (b"content-length", b"0")])
        replayed = False

        async def empty_body() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return await receive()

        await self.app(scope, empty_body, send)

    @classmethod
    async def _too_large(cls, scope: Scope, send: Send) -> None:
        error = Ec2Error("RequestEntityTooLarge", f"The request body exceeds {MAX_BODY} bytes.")
        await cls._refuse(scope, send, error)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, error: Ec2Error) -> None:
        """Answer ``error`` without reading (the rest of) the request's body, and close."""
        request_id = str(scope.get("state", {}).get("request_id", "")).removeprefix("req-")
        body = error_body(error, request_id)
        await send({"type": "http.response.start", "status": error.status,
                    "headers": [(b"content-type", CONTENT_TYPE),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
