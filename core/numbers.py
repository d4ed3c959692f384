"""Integers a client sent, read the one strict way every edge shares.

Python reads more than a client should send: ``int()`` takes any Unicode
decimal digit (``int("٥") == 5``), underscores (``"1_0"``) and surrounding
whitespace, and ``str.isdigit()`` is true of characters ``int()`` refuses
(``"¹"``, so ``isdigit()`` then ``int()`` is a crash). A database column holds
less than a Python int: SQLite and a ``BIGINT`` take signed 64 bits, an
``INTEGER`` of PostgreSQL or MySQL 32.

So an integer from a request is ASCII digits, with a sign only where negative
values are allowed, and lies within bounds the caller names (by default what
a 64-bit column holds). What is not is a :class:`BadInteger`, a ``ValueError``
whose message an edge may show in its own error.
"""

from __future__ import annotations

INT32_MAX = 2**31 - 1
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# More significant digits are out of any range above (and int() refuses 4,300).
_MAX_DIGITS = 20


class BadInteger(ValueError):
    """The text is not an integer, or not one within the bounds asked for."""


def is_ascii_digits(text: str) -> bool:
    """True if ``text`` is one or more of the digits 0 to 9 (``isdigit()`` is
    true of ``"¹"`` and ``"٥"`` too)."""
    return text.isascii() and text.isdigit()


def parse_int(text: str, low: int = 0, high: int = INT64_MAX, *, cap: bool = False) -> int:
    """The integer ``text`` spells in ASCII digits, after one ``+`` or ``-``
    when ``low`` is negative; :class:`BadInteger` unless it lies in [low, high].
    With ``cap``, any larger value reads as ``high`` (a page size or a minimum
    larger than anything stored means the same as the largest)."""
    digits = text[1:] if low < 0 and text[:1] in ("+", "-") else text
    if not is_ascii_digits(digits):
        raise BadInteger(f"{_shown(text)} is not an integer.")
    negative = text[:1] == "-"  # digits passed, so the sign was allowed
    significant = digits.lstrip("0") or "0"  # int() counts leading zeros toward 4,300
    value = int(significant) if len(significant) <= _MAX_DIGITS else None
    if value is not None and negative:
        value = -value
    if cap and not negative and (value is None or value > high):
        return high
    if value is None or not low <= value <= high:
        raise BadInteger(f"{_shown(text)} is not between {low} and {high}.")
    return value


def as_int(value: object, low: int = 0, high: int = INT64_MAX) -> int:
    """An integer given in a JSON body: an int (not a bool) or a string that
    :func:`parse_int` reads; :class:`BadInteger` unless it lies in [low, high]."""
    if isinstance(value, str):
        return parse_int(value, low, high)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadInteger(f"{_shown(repr(value))} is not an integer.")
    if not low <= value <= high:
        shown = str(value) if value.bit_length() <= 64 else "The value"
        raise BadInteger(f"{shown} is not between {low} and {high}.")
    return value


def _shown(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "..."
