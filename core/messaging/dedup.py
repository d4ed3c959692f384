"""Remembering message ids so that an idempotent handler can drop duplicates.

The bus delivers at least once: a message is redelivered when its consumer
dies before acknowledging it, and a publish retried after a lost connection can
arrive twice. Every message carries a unique ``id`` for this. Handlers whose
effect lives in the database must be idempotent by themselves (compare-and-swap
on state); ``SeenMessages`` only catches duplicates that reach the same process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict


class SeenMessages:
    """A bounded, thread-safe set of recently seen message ids."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, message_id: str) -> bool:
        """True the first time ``message_id`` is seen, False for a duplicate."""
        with self._lock:
            if message_id in self._ids:
                self._ids.move_to_end(message_id)
                return False
            self._ids[message_id] = None
            if len(self._ids) > self._capacity:
                self._ids.popitem(last=False)
            return True
