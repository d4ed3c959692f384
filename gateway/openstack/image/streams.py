"""Feeding an ASGI request body to a blocking consumer (a store upload running
in a worker thread) chunk by chunk, with back-pressure: memory stays at a few
chunks whatever the size of the body."""

from __future__ import annotations

import asyncio
import queue
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

from core import errors

T = TypeVar("T")
_END = object()
QUEUE_CHUNKS = 8


class UploadInterrupted(errors.InvalidInput):
    default_message = "The upload was interrupted before all the data arrived."


async def feed(body: AsyncIterator[bytes], consume: Callable[[Iterator[bytes]], T]) -> T:
    """Run ``consume(chunks)`` in a thread while the body streams into it.

    If the consumer stops early (an error such as a size limit), the rest of
    the body is not read; if the body breaks off, the consumer's iterator
    raises ``UploadInterrupted``.
    """
    chunks: queue.Queue = queue.Queue(maxsize=QUEUE_CHUNKS)

    def iterate() -> Iterator[bytes]:
        while True:
            item = chunks.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    loop = asyncio.get_running_loop()
    task = loop.run_in_executor(None, consume, iterate())

    def put(item: object) -> bool:
        """Block until the consumer takes ``item``; False if it has finished."""
        while not task.done():
            try:
                chunks.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    try:
        async for chunk in body:
            if chunk and not await loop.run_in_executor(None, put, chunk):
                break
        else:
            await loop.run_in_executor(None, put, _END)
    except Exception:  # the client went away: starlette's ClientDisconnect, or a reset
        await loop.run_in_executor(None, put, UploadInterrupted())
    return await task
