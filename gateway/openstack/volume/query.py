"""List requests as Cinder reads them (``cinder/api/common.py``): ``limit``
(capped at 1000), ``marker``, ``offset``, ``sort=key[:dir],...`` or the older
``sort_key``/``sort_dir``, and filters; non-admins may use only the filters of
``etc/cinder/resource_filters.json`` (others are dropped silently)."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from core import errors
from gateway.openstack.volume.base import parse_bool

MAX_LIMIT = 1000
NOT_FILTERS = frozenset({"limit", "marker", "offset", "sort", "sort_key", "sort_dir",
                         "all_tenants", "with_count", "project_id", "is_public", "detail"})
USER_FILTERS = {
    "volumes": frozenset({"name", "status", "metadata", "bootable", "migration_status",
                          "availability_zone", "group_id", "size", "created_at",
                          "updated_at", "consumes_quota"}),
    "snapshots": frozenset({"name", "status", "volume_id", "metadata", "availability_zone",
                            "consumes_quota"}),
    "attachments": frozenset({"volume_id", "status", "instance_id", "attach_status"}),
}


@dataclass
class ListRequest:
    filters: dict[str, Any] = field(default_factory=dict)
    sort: list[tuple[str, str]] = field(default_factory=list)
    limit: int | None = None
    marker: str | None = None
    offset: int = 0
    all_tenants: bool = False
    project_id: str | None = None
    with_count: bool = False


def _int(raw: str, name: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise errors.InvalidInput(f"{name} param must be an integer", param=name) from None
    if value < 0:
        raise errors.InvalidInput(f"{name} param must be positive", param=name)
    return value


def _sort(params: QueryParams) -> list[tuple[str, str]]:
    sort = params.get("sort")
    keys, dirs = params.get("sort_key"), params.get("sort_dir")
    if sort is not None and (keys is not None or dirs is not None):
        raise errors.InvalidInput("The 'sort_key' and 'sort_dir' parameters are deprecated "
                                  "and cannot be used with the 'sort' parameter.",
                                  param="sort")
    pairs: list[tuple[str, str]] = []
    if sort is not None:
        for item in sort.split(","):
            key, _, direction = item.strip().partition(":")
            pairs.append((key.strip(), (direction.strip() or "desc").lower()))
    elif keys is not None:
        key_list = [k.strip() for k in keys.split(",")]
        dir_list = [d.strip().lower() for d in (dirs or "").split(",") if d.strip()]
        pairs = [(k, dir_list[i] if i < len(dir_list) else
                  (dir_list[-1] if dir_list else "desc")) for i, k in enumerate(key_list)]
    elif dirs is not None:
        pairs = [("created_at", dirs.strip().lower())]
    for key, direction in pairs:
        if not key:
            raise errors.InvalidInput("Invalid sort key", param="sort")
        if direction not in ("asc", "desc"):
            raise errors.InvalidInput(f"Invalid sort dir {direction} for key {key}",
                                      param="sort")
    return pairs or [("created_at", "desc"), ("id", "desc")]


def _filter_value(key: str, value: str) -> Any:
    if key == "metadata":
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            parsed = None
        if not isinstance(parsed, dict):
            raise errors.InvalidInput(f"Invalid filter value for metadata: {value}",
                                      param="metadata")
        return {str(k): str(v) for k, v in parsed.items()}
    if key == "bootable":
        return parse_bool(value, key)
    return value


def parse_list(params: QueryParams, resource: str, is_admin: bool) -> ListRequest:
    """The :class:`ListRequest` of a list call on ``resource`` ("volumes", ...)."""
    limit = params.get("limit")
    req = ListRequest(sort=_sort(params), marker=params.get("marker") or None,
                      limit=min(_int(limit, "limit"), MAX_LIMIT) if limit else None,
                      offset=_int(params["offset"], "offset") if params.get("offset") else 0)
    req.with_count = parse_bool(params.get("with_count"), "with_count")
    if is_admin:
        req.all_tenants = parse_bool(params.get("all_tenants"), "all_tenants") \
            if params.get("all_tenants") not in (None, "") else False
        req.project_id = params.get("project_id") or None
    allowed = USER_FILTERS.get(resource, frozenset())
    for key, value in params.items():
        base = key[:-1] if key.endswith("~") else key  # name~=x: LIKE (3.34)
        if key in NOT_FILTERS or (not is_admin and base not in allowed):
            continue
        req.filters[key] = _filter_value(base, value)
    return req


def next_links(url: str, params: QueryParams, req: ListRequest,
               items: Sequence[Any]) -> list[dict[str, str]]:
    """``<collection>_links`` with ``next`` when the page is full."""
    limit = req.limit if req.limit is not None else MAX_LIMIT
    if not items or len(items) < limit:
        return []
    kept = [(k, v) for k, v in params.multi_items() if k not in ("limit", "marker")]
    query = urlencode([*kept, ("limit", str(limit)), ("marker", str(items[-1].id))])
    return [{"rel": "next", "href": f"{url}?{query}"}]
