"""Policy defaults written in code: one named rule per API operation.

Each domain keeps its rules in a module of this package exposing ``RULES``;
:func:`all_defaults` collects them. Adding a domain is one line in
``_MODULES``. Nothing here is imported or registered at import time.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

# Modules of this package whose ``RULES`` make up the defaults, in order.
_MODULES = (
    "base",
    "identity",
    "image",
    "compute",
    "compute_operators",
    "network",
    "volume",
)


@dataclass(frozen=True)
class RuleDefault:
    """A rule as registered in code.

    ``operations`` are the (HTTP method, path) pairs the rule guards; they only
    document the rule (in the sample file), they are never matched.
    """

    name: str
    check_str: str
    description: str
    operations: tuple[tuple[str, str], ...] = ()


def all_defaults() -> list[RuleDefault]:
    """Every default rule of every module in ``_MODULES``, in module order."""
    rules: list[RuleDefault] = []
    for module_name in _MODULES:
        module = importlib.import_module(f"{__name__}.{module_name}")
        rules.extend(module.RULES)
    return rules
