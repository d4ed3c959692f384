"""Policy targets as Keystone builds them for its rules."""

from __future__ import annotations

from typing import Any


def target(**entities: Any) -> dict[str, Any]:
    """A policy target as Keystone builds it: ``{"target": {"project": {...}}}``
    plus the same values flattened (``target.project.id``) and any plain keys."""
    out: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    for key, value in entities.items():
        # An unknown value is left out, never passed as None: policy renders
        # None as the text "None", which would match a caller's missing
        # domain_id and grant access (``domain_id:%(target.domain_id)s``).
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if v is not None}
            nested[key] = value
            for attr, v in value.items():
                out[f"target.{key}.{attr}"] = v
        elif value is not None:
            out[key] = value
    if nested:
        out["target"] = nested
    return out
