"""Reading query-string parameters the way the OpenStack services do."""

from __future__ import annotations

from typing import Any

from core import errors


def parse_bool(value: Any, name: str) -> bool:
    """``true``/``1``/``yes``/``on`` and their opposites, any case; InvalidInput otherwise."""
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise errors.InvalidInput(f"Invalid value for {name}: {value!r}; expected a boolean.",
                              param=name)
