"""The HTTP side of ``/ec2/``: the operations of openapi/ec2.yaml."""

from __future__ import annotations

from connexion import request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from gateway.ec2.api import Ec2Api
from gateway.ec2.protocol import HttpRequest
from gateway.ec2.transport import raw_request_of
from gateway.middleware import request_record


def ec2_request_id() -> str:
    """The edge's request id (``req-<uuid>``) as EC2 writes them: the UUID."""
    record = request_record.get(None)
    request_id = str(record.get("request_id", "")) if record else ""
    return request_id.removeprefix("req-")


class Query:
    """``GET`` and ``POST /ec2/``: every action, dispatched by ``Action``."""

    def __init__(self, api: Ec2Api) -> None:
        self.api = api

    async def get(self) -> Response:
        return await self._serve()

    async def post(self) -> Response:
        return await self._serve()

    async def _serve(self) -> Response:
        raw = raw_request_of(request.scope)
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        query = request.scope.get("query_string", b"").decode("latin-1")
        http = HttpRequest(method=request.method.upper(), host=raw.headers.get("host", ""),
                           path=raw_path.decode("latin-1"), query=query, headers=raw.headers,
                           body=raw.body)
        reply = await run_in_threadpool(self.api.handle, http, ec2_request_id())
        return Response(reply.body, status_code=reply.status, media_type=reply.content_type,
                        headers=dict(reply.headers or {}))
