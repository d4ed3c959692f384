"""Counting and hashing image data on its way into a store.

Every store wraps the caller's chunks in a :class:`HashingReader`, so the size
limit and the MD5 / SHA-512 checksums are computed in one place, in one pass,
without holding more than one chunk. :func:`check_range` validates the byte
ranges ``get`` accepts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from core import errors
from core.image.stores.base import StoredData


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
        self._md5.update(chunk)
        self._sha512.update(chunk)
        return bytes(chunk)

    @property
    def checksum(self) -> str:
        """MD5 of the bytes read so far, hex."""
        return self._md5.hexdigest()

    @property
    def hash_value(self) -> str:
        """SHA-512 of the bytes read so far, hex."""
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
