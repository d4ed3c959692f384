"""gateway/http_protocol.py: a small response leaves the node in one write, so a
node killed while answering has sent nginx all of it or nothing (then nginx
retries the GET on another node)."""

from __future__ import annotations

import asyncio
import socket

import pytest
import uvloop
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from gateway.http_protocol import CoalescingHttpToolsProtocol
from gateway.worker import NimbusWorker

BODY = b'{"projects": []}'


async def app(scope, receive, send):
    await receive()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(BODY)).encode())]})
    await send({"type": "http.response.body", "body": BODY})


async def stream(scope, receive, send):
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for _ in range(3):
        await send({"type": "http.response.body", "body": b"x" * 10, "more_body": True})
        await asyncio.sleep(0.01)  # a streamed body: each chunk its own loop step
    await send({"type": "http.response.body", "body": b""})


class Recording:
    """A transport recording each write handed to it (what the socket is sent)."""

    def __init__(self, transport, writes: list[bytes]) -> None:
        self._transport, self.writes = transport, writes

    def write(self, data) -> None:
        self.writes.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name):
        return getattr(self._transport, name)


async def serve_one(protocol_class, asgi_app, requests=1) -> tuple[list[bytes], bytes]:
    """Serve ``requests`` keep-alive GETs over a socket pair; the writes that reached
    the socket's transport, and what the client read."""
    loop = asyncio.get_running_loop()
    config = Config(app=asgi_app, log_config=None, lifespan="off")
    config.load()
    writes: list[bytes] = []

    class Protocol(protocol_class):
        def connection_made(self, transport):
            super().connection_made(Recording(transport, writes))

    protocol = Protocol(config=config, server_state=ServerState(), app_state={})
    server_sock, client_sock = socket.socketpair()
    transport, _ = await loop.connect_accepted_socket(lambda: protocol, server_sock)
    client_sock.setblocking(False)
    received = b""
    for _ in range(requests):
        await loop.sock_sendall(client_sock, b"GET / HTTP/1.1\r\nHost: node\r\n\r\n")
        start = len(received)
        while b"\r\n0\r\n\r\n" not in received[start:] and not received[start:].endswith(BODY):
            received += await asyncio.wait_for(loop.sock_recv(client_sock, 65536), 5)
    transport.close()
    client_sock.close()
    return writes, received


# The worker's loop is uvloop ("auto"), whose transports are its own classes.
LOOPS = [pytest.param(asyncio.new_event_loop, id="asyncio"),
         pytest.param(uvloop.new_event_loop, id="uvloop")]


def run(loop_factory, coro):
    loop = loop_factory()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


@pytest.mark.parametrize("loop_factory", LOOPS)
def test_headers_and_body_of_a_response_go_out_in_one_write(loop_factory):
    writes, received = run(loop_factory, serve_one(CoalescingHttpToolsProtocol, app, requests=2))
    assert received.count(b"HTTP/1.1 200 OK") == 2
    assert len(writes) == 2  # one per response
    for data in writes:
        assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(BODY)


def test_uvicorns_own_protocol_writes_them_apart():
    # What the coalescing protocol is for: without it the headers leave alone.
    writes, _ = asyncio.run(serve_one(HttpToolsProtocol, app))
    assert len(writes) == 2 and writes[1] == BODY


@pytest.mark.parametrize("loop_factory", LOOPS)
def test_a_streamed_body_still_goes_out_as_it_is_produced(loop_factory):
    writes, received = run(loop_factory, serve_one(CoalescingHttpToolsProtocol, stream))
    assert received.startswith(b"HTTP/1.1 200 OK") and received.endswith(b"0\r\n\r\n")
    # The headers leave with the first chunk, each later chunk on its own.
    assert len(writes) == 4
    assert writes[0].endswith(b"a\r\nxxxxxxxxxx\r\n")


def test_the_worker_serves_with_the_coalescing_protocol():
    assert NimbusWorker.CONFIG_KWARGS["http"] is CoalescingHttpToolsProtocol
