"""A sample policy file listing every default rule (``manage policy-sample``)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from core.policy.defaults import RuleDefault

_YAML_HEADER = """\
# Nimbus policy file: every rule with its default check string.
# Keep only the rules you change; the others follow the defaults in code.
# Syntax: "@" allows, "!" denies, "" allows, rule:NAME, role:NAME,
# field:%(target_key)s, combined with not / and / or and parentheses.
"""


def render_sample(defaults: Iterable[RuleDefault], fmt: str = "yaml") -> str:
    """Render ``defaults`` as a policy file that loads back to the same rules.

    ``fmt="yaml"``: one ``"name": "check"`` line per rule, preceded by comments
    giving its description and the operations it guards. ``fmt="json"``: a
    plain JSON object of name -> check string. Both keep the given order.
    """
    rules = list(defaults)
    if fmt == "json":
        return json.dumps({rule.name: rule.check_str for rule in rules}, indent=4) + "\n"
    if fmt != "yaml":
        raise ValueError(f"unknown sample format {fmt!r}; use 'yaml' or 'json'")
    parts = [_YAML_HEADER]
    for rule in rules:
        lines = [f"# {line}".rstrip() for line in rule.description.splitlines() or [""]]
        lines += [f"#   {method} {path}" for method, path in rule.operations]
        # A JSON string is a valid YAML double-quoted scalar (ASCII escapes).
        lines.append(f"{json.dumps(rule.name)}: {json.dumps(rule.check_str)}")
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)
