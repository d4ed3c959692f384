"""The controller's clock: timezone-aware UTC, for every layer (no database code here)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, in UTC, with its timezone."""
    return datetime.now(UTC)
