"""Rendered pieces of list answers, kept by a key that names everything they
are made of (so an entry is never stale: a change makes a new key, and the old
entry is forgotten in time). Used by the Nova detail list (JSON per server)
and the EC2 XML writer (XML per instance)."""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class FragmentCache(Generic[V]):
    """Rendered views by their key, oldest forgotten first past ``limit`` entries.
    Reads take no lock (a dict read is atomic); writes, only made on a miss, do."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: dict[Hashable, V] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        return self._items.get(key)

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            items = self._items
            items[key] = value
            while len(items) > self.limit:
                del items[next(iter(items))]

    def __len__(self) -> int:
        return len(self._items)
