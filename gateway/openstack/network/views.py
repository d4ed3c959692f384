"""Records from the network services as Neutron's JSON: ``tenant_id`` beside
every ``project_id``, timestamps as ``2025-01-01T00:00:00Z``, and only the
attributes ``fields=`` asks for."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from gateway.jsonutil import isotime


def _value(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return isotime(value, micro=False)
    if isinstance(value, Mapping):
        return render(value)
    if isinstance(value, (list, tuple)):
        return [_value(v) for v in value]
    return value


def render(record: Mapping[str, Any], fields: Sequence[str] = ()) -> dict[str, Any]:
    """``record`` (and the records nested in it: a group's rules) as Neutron
    shows it; with ``fields``, only those attributes (unknown ones are skipped)."""
    out = {key: _value(value) for key, value in record.items()}
    if "project_id" in out:
        out["tenant_id"] = out["project_id"]
    if fields:
        out = {key: out[key] for key in dict.fromkeys(fields) if key in out}
    return out
