"""Validated tokens, cached per process behind one small interface.

What a validation read from the database (``core.identity.validated.Validation``:
the user and its domain, the scope and its domain, the effective roles, the
application credential) is kept as plain values with the identity revision it
was read at (core.identity.revision), under a hash of the token: the token
itself is never kept, so never logged or dumped. No ORM objects: a shared
cache such as memcached can hold an entry as JSON (``Validation.as_dict``).
The token service serves an entry only while its revision is the current one,
and checks the token's expiry, and its application credential's, on every use.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Protocol

from core.identity.validated import Validation


def cache_key(token_id: str) -> str:
    """The key a token's validation is kept under: a hash, never the token."""
    return hashlib.sha256(token_id.encode()).hexdigest()


class TokenCache(Protocol):
    """Where validations are kept between requests (this process's memory now;
    memcached, shared by the nodes, later). Entries may vanish at any time."""

    def get(self, key: str) -> Validation | None: ...

    def put(self, key: str, value: Validation) -> None: ...

    def clear(self) -> None: ...


class LruTokenCache:
    """At most ``size`` validations in this process's memory, the least
    recently used dropped first; safe to share between threads. Size 0 keeps
    nothing."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, Validation] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Validation | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: str, value: Validation) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
