"""The operations of an OpenAPI spec, as the persona tests need them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head")


@dataclass(frozen=True)
class SpecOperation:
    operation_id: str
    method: str
    path: str  # relative to the API's mount point, e.g. "/v3/users/{user_id}"
    policy: str | None
    needs_token: bool
    success: int  # the lowest non-error status the spec lists


def load_spec_operations(spec_path: Path) -> dict[str, SpecOperation]:
    """Every operation of the spec by operationId."""
    spec = yaml.safe_load(spec_path.read_text())
    ops: dict[str, SpecOperation] = {}
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            codes = [int(code) for code in op.get("responses", {}) if int(code) < 400]
            ops[op["operationId"]] = SpecOperation(
                op["operationId"], method.upper(), path, op.get("x-policy"),
                op.get("x-auth") != "none", min(codes) if codes else 200)
    return ops
