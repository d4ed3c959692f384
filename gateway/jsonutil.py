"""Compact, fast JSON for responses (connexion's default pretty-prints)."""

from __future__ import annotations

import datetime
import json as _json
from typing import Any

import orjson
from connexion.jsonifier import Jsonifier


def _default(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


class _OrjsonModule:
    """The two functions connexion's Jsonifier needs, backed by orjson."""

    @staticmethod
    def dumps(data: Any, **_: Any) -> str:
        return orjson.dumps(data, default=_default).decode()

    @staticmethod
    def loads(data: str | bytes) -> Any:
        return _json.loads(data) if isinstance(data, str) and not data else orjson.loads(data)


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, default=_default)


def jsonifier() -> Jsonifier:
    return Jsonifier(_OrjsonModule)


def isotime(value: datetime.datetime | None, micro: bool = True) -> str | None:
    """Keystone's timestamp format: ``2026-01-01T12:00:00.000000Z``."""
    if value is None:
        return None
    value = value.astimezone(datetime.UTC)
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ"
    return value.strftime(fmt)
