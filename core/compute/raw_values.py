"""Values of a list row as the database driver returns them, read cheaply.

Timestamps are text on SQLite (``2026-01-02 03:04:05.678901``, as SQLAlchemy
writes them there) and naive UTC ``datetime`` objects on PostgreSQL and MySQL
(ORM records give aware ones); JSON columns are text or already parsed;
booleans may be integers. Each function here takes any of those and answers
what the views write, without ``strftime`` (the list views call them a few
thousand times per request).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson

# SQLAlchemy's SQLite DATETIME storage: date, a space, time, always 6 fraction digits.
_SQLITE_LEN = 26


def json_value(value: Any) -> Any:
    """A JSON column's value (text parsed; anything else is already parsed)."""
    if isinstance(value, str | bytes):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:  # what orjson refuses (NaN) but json writes
            return json.loads(value)
    return value


def _text(value: Any) -> str | None:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` of a timestamp, UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) == _SQLITE_LEN and value[10] == " ":
            return value
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


def seconds_z(value: Any) -> str | None:
    """``2026-01-02T03:04:05Z`` (Nova's created / updated)."""
    text = _text(value)
    return None if text is None else f"{text[:10]}T{text[11:19]}Z"


def micro(value: Any) -> str | None:
    """``2026-01-02T03:04:05.678901`` (Nova's launched_at / terminated_at)."""
    text = _text(value)
    return None if text is None else f"{text[:10]}T{text[11:26]}"


def seconds_space(value: Any) -> str | None:
    """``2026-01-02 03:04:05`` (EC2's stateTransitionReason stamp)."""
    text = _text(value)
    return None if text is None else text[:19]


def millis_z(value: Any) -> str | None:
    """``2026-01-02T03:04:05.678Z`` (EC2's times: milliseconds, truncated)."""
    text = _text(value)
    return None if text is None else f"{text[:10]}T{text[11:23]}Z"


def as_datetime(value: Any) -> datetime | None:
    """An aware UTC ``datetime`` of a timestamp in any of its forms."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
