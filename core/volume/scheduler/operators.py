"""Cinder's extra-spec matching language (``cinder/scheduler/filters/extra_specs_ops.py``).

A requirement is a plain value (string equality) or an operator followed by
operands: ``= 4`` (numerically at least 4), ``== 4``, ``!= 4``, ``>= 4``,
``<= 4``, ``s== x``, ``s!= x``, ``s< x``, ``s<= x``, ``s> x``, ``s>= x``,
``<in> sub`` (substring), ``<is> True`` (boolean) and ``<or> a <or> b``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any


def _number(x: Any) -> float:
    return float(x)


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "=": lambda x, y: _number(x) >= _number(y),
    "==": lambda x, y: _number(x) == _number(y),
    "!=": lambda x, y: _number(x) != _number(y),
    ">=": lambda x, y: _number(x) >= _number(y),
    "<=": lambda x, y: _number(x) <= _number(y),
    "<in>": lambda x, y: y in x,
    "<is>": lambda x, y: x.lower() == y.lower(),
    "s==": operator.eq,
    "s!=": operator.ne,
    "s<": operator.lt,
    "s<=": operator.le,
    "s>": operator.gt,
    "s>=": operator.ge,
}


def as_text(value: Any) -> str | None:
    """A capability value as the language compares it (booleans as True/False)."""
    return None if value is None else str(value)


def match(value: Any, requirement: str) -> bool:
    """Whether the pool's ``value`` satisfies ``requirement``. An unknown
    operator word means a plain value compared for equality; a missing value or
    an operand that is not a number fails."""
    text = as_text(value)
    words = requirement.split()
    op = words.pop(0) if words else None
    if op != "<or>" and op not in _OPERATORS:
        return text == requirement
    if text is None:
        return False
    if op == "<or>":
        # "<or> a <or> b": every other word is an alternative.
        return text in words[::2]
    if not words:
        return False
    try:
        return _OPERATORS[op](text, words[0])  # type: ignore[index]
    except ValueError:
        return False
