"""Counting and hashing image data on its way into a store.

Every store wraps the caller's chunks in a :class:`HashingReader`, so the size
limit and the MD5 / SHA-512 checksums are computed in one place, in one pass.
:func:`check_range` validates the byte ranges ``get`` accepts.

The two digests run side by side: chunks are gathered into batches of
:data:`BATCH` bytes, and each batch's MD5 runs on a pool thread while the
reader's own thread does its SHA-512 (hashlib releases the GIL on buffers that
large), so hashing costs the slower digest rather than the sum of both, and the
per-call overhead of the small chunks clients send (16 KiB) is paid once a
batch. A reader holds at most two batches besides the chunk it yields.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from core import errors
from core.image.stores.base import StoredData

BATCH = 512 * 1024
# Shared by every reader of the process: one MD5 in flight per reader at a time.
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="image-md5")


class HashingReader:
    """Iterates over ``chunks``, counting bytes and hashing them on the way.

    Raises ``errors.PayloadTooLarge`` as soon as more than ``max_size`` bytes
    have arrived (the offending chunk is never yielded). Empty chunks are
    dropped, so consumers never see ``b""`` before the end.
    """

    def __init__(self, chunks: Iterable[bytes], max_size: int | None = None) -> None:
        self._chunks = iter(chunks)
        self.max_size = max_size
        self.size = 0
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha512 = hashlib.sha512()
        self._pending = bytearray()
        self._md5_running: Future | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        while True:
            chunk = next(self._chunks)
            if chunk:
                break
        size = self.size + len(chunk)
        if self.max_size is not None and size > self.max_size:
            raise errors.PayloadTooLarge(
                f"The image data exceeds the limit of {self.max_size} bytes.",
                max_size=self.max_size)
        self.size = size
        chunk = bytes(chunk)
        if not self._pending and len(chunk) >= BATCH:
            self._hash(chunk)
        else:
            self._pending += chunk
            if len(self._pending) >= BATCH:
                self._hash(self._take_pending())
        return chunk

    def _take_pending(self) -> bytearray:
        """The pending batch, handed over whole (a new one starts): the pool
        thread reads it while the next chunks gather elsewhere."""
        batch, self._pending = self._pending, bytearray()
        return batch

    def _hash(self, batch: bytes | bytearray) -> None:
        """MD5 of ``batch`` on a pool thread (after the previous batch's), its
        SHA-512 here meanwhile."""
        self._wait_md5()
        self._md5_running = _POOL.submit(self._md5.update, batch)
        self._sha512.update(batch)

    def _wait_md5(self) -> None:
        if self._md5_running is not None:
            self._md5_running.result()
            self._md5_running = None

    def _flush(self) -> None:
        """Hash what is pending and wait for the MD5 in flight."""
        if self._pending:
            self._hash(self._take_pending())
        self._wait_md5()

    @property
    def checksum(self) -> str:
        """MD5 of the bytes read so far, hex."""
        self._flush()
        return self._md5.hexdigest()

    @property
    def hash_value(self) -> str:
        """SHA-512 of the bytes read so far, hex."""
        self._flush()
        return self._sha512.hexdigest()

    def stored_at(self, location: str) -> StoredData:
        """The :class:`StoredData` describing everything read, written at ``location``."""
        return StoredData(location=location, size=self.size, checksum=self.checksum,
                          hash_value=self.hash_value, hash_algo="sha512")


def check_range(offset: int, length: int | None) -> None:
    """Rejects negative offsets and lengths (``errors.InvalidInput``)."""
    if offset < 0 or (length is not None and length < 0):
        raise errors.InvalidInput("Byte ranges must not be negative.", offset=offset,
                                  length=length)
