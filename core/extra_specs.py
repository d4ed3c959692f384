"""The extra-spec matching language Nova's and Cinder's schedulers share
(``nova/scheduler/filters/extra_specs_ops.py``,
``cinder/scheduler/filters/extra_specs_ops.py``).

A requirement is a plain value (string equality) or an operator followed by
operands: ``= 4`` (numerically at least 4), ``== 4``, ``!= 4``, ``>= 4``,
``<= 4``, ``s== x``, ``s!= x``, ``s< x``, ``s<= x``, ``s> x``, ``s>= x``,
``<in> sub`` (substring) and ``<or> a <or> b``; Nova adds ``<all-in> a b``
(every operand a substring), Cinder ``<is> True`` (a boolean).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any


def _number(x: Any) -> float:
    return float(x)


_COMMON: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda x, y: _number(x) >= _number(y),
    "==": lambda x, y: _number(x) == _number(y),
    "!=": lambda x, y: _number(x) != _number(y),
    ">=": lambda x, y: _number(x) >= _number(y),
    "<=": lambda x, y: _number(x) <= _number(y),
    "<in>": lambda x, y: y in x,
    "s==": operator.eq,
    "s!=": operator.ne,
    "s<": operator.lt,
    "s<=": operator.le,
    "s>": operator.gt,
    "s>=": operator.ge,
}
ALL_IN = "<all-in>"  # the one operator that takes every operand
NOVA: Mapping[str, Callable[[Any, Any], bool]] = {
    **_COMMON, ALL_IN: lambda x, y: all(v in x for v in y)}
CINDER: Mapping[str, Callable[[Any, Any], bool]] = {
    **_COMMON, "<is>": lambda x, y: x.lower() == y.lower()}


def match(value: Any, requirement: str,
          operators: Mapping[str, Callable[[Any, Any], bool]] = NOVA) -> bool:
    """Whether ``value`` (compared as a string; booleans as True/False)
    satisfies ``requirement`` in the dialect ``operators``. An unknown operator
    word means a plain value compared for equality; a missing value or an
    operand that is not a number fails."""
    text = None if value is None else str(value)
    words = requirement.split()
    op = words.pop(0) if words else None
    if op != "<or>" and op not in operators:
        return text == requirement
    if text is None:
        return False
    if op == "<or>":
        # "<or> a <or> b": every other word is an alternative.
        return text in words[::2]
    if not words:
        return False
    try:
        return operators[op](text, words if op == ALL_IN else words[0])  # type: ignore[index]
    except ValueError:
        return False
