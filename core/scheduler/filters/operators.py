"""Nova's extra-spec matching language (``nova/scheduler/filters/extra_specs_ops.py``).

A requirement is either a plain value (string equality) or an operator followed
by operands: ``= 4`` (numerically at least 4, as in Nova), ``== 4``, ``!= 4``,
``>= 4``, ``<= 4``, ``s== x``, ``s!= x``, ``s< x``, ``s<= x``, ``s> x``,
``s>= x``, ``<in> sse4``, ``<all-in> a b`` and ``<or> a <or> b``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any


def _number(x: Any) -> float:
    return float(x)


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda x, y: _number(x) >= _number(y),
    "==": lambda x, y: _number(x) == _number(y),
    "!=": lambda x, y: _number(x) != _number(y),
    ">=": lambda x, y: _number(x) >= _number(y),
    "<=": lambda x, y: _number(x) <= _number(y),
    "<in>": lambda x, y: y in x,
    "<all-in>": lambda x, y: all(v in x for v in y),
    "s==": operator.eq,
    "s!=": operator.ne,
    "s<": operator.lt,
    "s<=": operator.le,
    "s>": operator.gt,
    "s>=": operator.ge,
}


def match(value: str | None, requirement: str) -> bool:
    """Whether the host's ``value`` (as a string) satisfies ``requirement``.

    An unknown operator word means the requirement is a plain value compared for
    equality; a missing value or an operand that is not a number fails.
    """
    words = requirement.split()
    op = words.pop(0) if words else None
    if op != "<or>" and op not in _OPERATORS:
        return value == requirement
    if value is None:
        return False
    if op == "<or>":
        # "<or> a <or> b": every other word is an alternative.
        return value in words[::2]
    if not words:
        return False
    method = _OPERATORS[op]  # type: ignore[index]
    try:
        return method(value, words if op == "<all-in>" else words[0])
    except ValueError:
        return False
