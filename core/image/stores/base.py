"""The contract every image store back end meets.

A store keeps image data under a *location* (a URL of its own scheme) and
knows nothing about image metadata. Data goes in and comes out as streams of
``bytes`` chunks, never whole in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from core import errors


@dataclass(frozen=True)
class StoredData:
    """What ``add`` wrote: where, how much, and its hashes (computed on the way)."""

    location: str
    size: int
    checksum: str  # MD5, hex
    hash_value: str  # SHA-512, hex
    hash_algo: str = "sha512"


class StoreError(errors.CoreError):
    default_message = "The image store failed."


class ObjectMissing(errors.NotFound):
    """The data a location names is gone from the store."""

    default_message = "The image data is missing from its store."


class ReadOnlyStore(errors.CoreError):
    """Writing or deleting through a read-only store (Glance answers 410 Gone)."""

    default_message = "Adding images to this store is disabled."


class ImageStore(Protocol):
    id: str  # the store's name in settings and in /v2/info/stores ("file", "s3", ...)
    description: str
    read_only: bool

    def add(self, image_id: str, chunks: Iterable[bytes], *,
            max_size: int | None = None) -> StoredData:
        """Write the chunks as the data of ``image_id``.

        Streams: holds one chunk (or one multipart part) at a time. Raises
        ``errors.PayloadTooLarge`` as soon as more than ``max_size`` bytes
        arrived. On any failure — including an exception raised by the chunk
        iterator itself (an interrupted upload) — nothing stays in the store.
        """
        ...

    def get(self, location: str, offset: int = 0,
            length: int | None = None) -> Iterator[bytes]:
        """The data (or the byte range ``offset``..``offset+length``) as chunks.
        Raises ``ObjectMissing`` if the object is gone (before yielding)."""
        ...

    def size(self, location: str) -> int:
        """The stored object's size; ``ObjectMissing`` if it is gone."""
        ...

    def delete(self, location: str) -> None:
        """Remove the data; a location already gone is not an error."""
        ...

    def owns(self, location: str) -> bool:
        """Whether this store serves ``location`` (by scheme and prefix)."""
        ...
