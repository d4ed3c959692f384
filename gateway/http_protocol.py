"""uvicorn's HTTP protocol, writing what one event loop step produces in one write.

uvicorn writes a response's status line and headers when the app sends
``http.response.start``, and its body in a second write. Between the two
system calls the event loop thread gives up the GIL, and another thread of the
node (a handler in the thread pool) may hold it for a switch interval (5 ms).
A node killed in that window has sent nginx the headers without the body:
nginx has begun answering its client, so it cannot retry the GET on another
node (``proxy_next_upstream`` only works before), and the client's connection
is cut. Under load that window was wide enough to be hit (issue 14's note:
``test_node_killed_under_load_loses_no_get``, 2 failures in 4 full runs).

Coalesced, a small response leaves the node in one ``send``: a node killed
before it has sent nothing (nginx retries the GET), one killed after has sent
it all. Large, streamed bodies go out one loop step at a time, as before.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """An asyncio transport whose writes within one event loop step are joined
    and handed to the real transport once, at the end of that step (or at
    ``close``); everything else is the real transport's."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """``http`` of the worker's uvicorn config (gateway/worker.py)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # uvloop's transports are not asyncio.Transport subclasses, hence no check.
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
