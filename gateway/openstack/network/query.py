"""Neutron's list conventions, read from the raw query string.

Any attribute is a filter (``name=a&name=b`` means either; keys with colons such
as ``router:external`` work), ``fields`` is repeated, ``sort_key``/``sort_dir``
are repeated and paired, ``limit``/``marker``/``page_reverse`` page, and the tag
filters take one comma-joined value each. A page as full as ``limit`` is
answered with ``<collection>_links`` to the next one (and, after a marker, the
previous one), as Neutron's pagination helper does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from core import errors
from core.network.query import ListQuery
from core.numbers import BadInteger, parse_int
from gateway.openstack.params import parse_bool

TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")
PAGING = ("limit", "marker", "page_reverse")
NOT_FILTERS = frozenset(("fields", "sort_key", "sort_dir", *PAGING, *TAG_FILTERS))
MAX_LIMIT = 0x7FFFFFFF


@dataclass(frozen=True)
class ListRequest:
    """A list request: what the service selects (``query``) and what the
    answer shows (``fields``)."""

    query: ListQuery
    fields: tuple[str, ...]


def fields_of(params: QueryParams) -> tuple[str, ...]:
    return tuple(f for f in params.getlist("fields") if f)


def _sort(params: QueryParams) -> list[tuple[str, bool]]:
    keys, dirs = params.getlist("sort_key"), params.getlist("sort_dir")
    if dirs and len(dirs) != len(keys):
        raise errors.InvalidInput("The number of sort_keys and sort_dirs must be same",
                                  param="sort_dir")
    for direction in dirs:
        if direction not in ("asc", "desc"):
            raise errors.InvalidInput(f"{direction} is an invalid value for sort_dirs, "
                                      "valid values are 'asc' and 'desc'", param="sort_dir")
    return [(key, (dirs[i] if dirs else "asc") == "asc") for i, key in enumerate(keys)]


def _limit(params: QueryParams) -> int | None:
    raw = params.get("limit")
    if raw is None:
        return None
    try:
        limit = parse_int(raw, 0, MAX_LIMIT, cap=True)
    except BadInteger:
        raise errors.InvalidInput(f"Limit must be an integer 0 or greater and not '{raw}'",
                                  param="limit") from None
    return limit or None  # Neutron: 0 is no limit


def _tags(params: QueryParams, name: str) -> list[str]:
    return [tag for value in params.getlist(name) for tag in value.split(",") if tag]


def parse_list(params: QueryParams) -> ListRequest:
    """The :class:`ListQuery` and ``fields`` of a list request; InvalidInput
    (400) for a malformed limit, sort or page_reverse."""
    filters: dict[str, list[str]] = {}
    for key, value in params.multi_items():
        if key not in NOT_FILTERS:
            filters.setdefault(key, []).append(value)
    # Neutron's clients filter by either name of the owner.
    if "tenant_id" in filters:
        filters.setdefault("project_id", []).extend(filters.pop("tenant_id"))
    page_reverse = parse_bool(params.get("page_reverse", "false"), "page_reverse")
    query = ListQuery(filters=filters, sort=_sort(params), limit=_limit(params),
                      marker=params.get("marker") or None, page_reverse=page_reverse,
                      tags=_tags(params, "tags"), tags_any=_tags(params, "tags-any"),
                      not_tags=_tags(params, "not-tags"),
                      not_tags_any=_tags(params, "not-tags-any"))
    return ListRequest(query, fields_of(params))


def page_links(url: str, params: QueryParams, query: ListQuery,
               records: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Neutron's ``<collection>_links`` for a page of ``records`` listed at
    ``url``: ``next`` when the page is full, ``previous`` when it started at a
    marker (the two swap with ``page_reverse``)."""
    if not query.limit or not records:
        return []
    kept = [(k, v) for k, v in params.multi_items() if k not in PAGING]

    def href(marker: str, reverse: bool) -> str:
        extra = [("page_reverse", "True")] if reverse else []
        return f"{url}?{urlencode([*kept, ('limit', str(query.limit)), ('marker', marker), *extra])}"

    full = len(records) >= query.limit
    first, last = str(records[0]["id"]), str(records[-1]["id"])
    links = []
    if (full and not query.page_reverse) or (query.page_reverse and query.marker):
        links.append({"rel": "next", "href": href(last, False)})
    if (query.marker and not query.page_reverse) or (full and query.page_reverse):
        links.append({"rel": "previous", "href": href(first, True)})
    return links
