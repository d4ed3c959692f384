"""Validated tokens, cached per process behind one small interface.

An entry (``CachedToken``) is what the token carries, parsed under a given set
of Fernet keys, and what the database said it stands for
(``core.identity.validated.Validation``: the user and its domain, the scope and
its domain, the effective roles, the application credential) at an identity
revision (core.identity.revision); it is kept under a hash of the token: the
token itself is never kept, so never logged or dumped. Plain values, no ORM
objects: a shared cache such as memcached can hold an entry as JSON
(``CachedToken.as_dict``). The token service serves an entry only while its
revision is the current one and the keys are the same, and checks the token's
expiry, and its application credential's, on every use.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol

from core.identity.fernet import TokenPayload
from core.identity.validated import Validation


@dataclass(frozen=True, slots=True)
class CachedToken:
    """A validated token without the token: its payload, parsed under the keys
    whose fingerprint is ``keys``, and its validation."""

    keys: str
    payload: TokenPayload
    validation: Validation

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: strings, numbers, booleans, lists and ISO 8601 times."""
        payload = asdict(self.payload)
        for name in ("expires_at", "issued_at"):
            if payload[name] is not None:
                payload[name] = payload[name].isoformat()
        return {"keys": self.keys, "payload": payload,
                "validation": self.validation.as_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CachedToken:
        p = d["payload"]
        payload = TokenPayload(**{
            **p, "methods": tuple(p["methods"]), "audit_ids": tuple(p["audit_ids"]),
            "expires_at": datetime.fromisoformat(p["expires_at"]),
            "issued_at": datetime.fromisoformat(p["issued_at"]) if p.get("issued_at") else None})
        return cls(d["keys"], payload, Validation.from_dict(d["validation"]))


def cache_key(token_id: str) -> str:
    """The key a token's validation is kept under: a hash, never the token."""
    return hashlib.sha256(token_id.encode()).hexdigest()


class TokenCache(Protocol):
    """Where validations are kept between requests (this process's memory now;
    memcached, shared by the nodes, later). Entries may vanish at any time."""

    def get(self, key: str) -> CachedToken | None: ...

    def put(self, key: str, value: CachedToken) -> None: ...

    def clear(self) -> None: ...


class LruTokenCache:
    """At most ``size`` validations in this process's memory, the least
    recently used dropped first; safe to share between threads. Size 0 keeps
    nothing."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, CachedToken] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> CachedToken | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: str, value: CachedToken) -> None:
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
