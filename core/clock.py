"""The controller's clock: timezone-aware UTC, for every layer (no database code here)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, in UTC, with its timezone."""
    return datetime.now(UTC)


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 timestamp a client sent (``Z`` or an offset; none means UTC),
    in UTC. ValueError if it is not one, or if in UTC it falls outside the
    years 1 to 9999 (``9999-12-31T23:59:59-01:00``), which no column stores."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is out of range in UTC") from None
