"""``GET /v2/images``: Glance's filters, sorting and marker paging, in SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select, tuple_
from sqlalchemy.orm import Session

from core import errors
from core.clock import parse_timestamp
from core.context import RequestContext
from core.image.models import Image
from core.image.visibility import MEMBER_STATUSES, VISIBILITIES, listed

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id",
             "created_at", "updated_at", "visibility", "owner", "min_disk", "min_ram")
IN_FIELDS = ("id", "name", "status", "container_format", "disk_format")
DATE_OPS = {"gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__",
            "eq": "__eq__", "neq": "__ne__"}
DEFAULT_LIMIT, MAX_LIMIT = 25, 1000


@dataclass
class ImageQuery:
    filters: dict[str, str] = field(default_factory=dict)  # field -> value or "in:a,b"
    visibility: str | None = None
    member_status: str = "accepted"
    tags: list[str] = field(default_factory=list)
    os_hidden: bool = False
    size_min: int | None = None
    size_max: int | None = None
    numbers: dict[str, int] = field(default_factory=dict)  # size, min_ram... -> exact value
    dates: dict[str, str] = field(default_factory=dict)  # created_at / updated_at -> op:iso
    properties: dict[str, str] = field(default_factory=dict)
    sort: list[tuple[str, str]] = field(default_factory=list)
    limit: int = DEFAULT_LIMIT
    marker: str | None = None

    def validate(self) -> None:
        if self.visibility not in (None, "all", *VISIBILITIES):
            raise errors.InvalidInput(f"Invalid visibility value: {self.visibility}")
        if self.member_status not in ("all", *MEMBER_STATUSES):
            raise errors.InvalidInput(f"Invalid status value: {self.member_status}")
        for key, direction in self.sort:
            if key not in SORT_KEYS:
                raise errors.InvalidInput(f"Invalid sort key: {key}.")
            if direction not in ("asc", "desc"):
                raise errors.InvalidInput(f"Invalid sort direction: {direction}.")
        if not 0 <= self.limit:
            raise errors.InvalidInput("limit param must be positive")


def _date(value: str) -> datetime:
    try:
        return parse_timestamp(value)
    except ValueError:
        raise errors.InvalidInput(f"Invalid date format: {value}") from None


def _conditions(ctx: RequestContext, q: ImageQuery) -> list:
    conds = [listed(ctx, q.visibility, q.member_status)]
    if not q.os_hidden:
        conds.append(Image.os_hidden.is_(False))
    for name, value in q.filters.items():
        column = getattr(Image, name)
        if value.startswith("in:") and name in IN_FIELDS:
            conds.append(column.in_([v for v in value[3:].split(",") if v]))
        else:
            conds.append(column == value)
    for name, number in q.numbers.items():
        conds.append(getattr(Image, name) == number)
    if q.size_min is not None:
        conds.append(Image.size >= q.size_min)
    if q.size_max is not None:
        conds.append(Image.size <= q.size_max)
    for name, spec in q.dates.items():
        op, _, value = spec.partition(":")
        if op not in DATE_OPS or not value:
            raise errors.InvalidInput(f"Invalid filter for {name}: {spec}")
        conds.append(getattr(getattr(Image, name), DATE_OPS[op])(_date(value)))
    return conds


def _post_filter(images: list[Image], q: ImageQuery) -> list[Image]:
    # Tags and extra properties live in JSON columns: filtered here, portably.
    out = images
    if q.tags:
        out = [i for i in out if set(q.tags) <= set(i.tags or [])]
    if q.properties:
        out = [i for i in out if all((i.properties or {}).get(k) == v
                                     for k, v in q.properties.items())]
    return out


def page(s: Session, ctx: RequestContext, q: ImageQuery) -> tuple[list[Image], bool]:
    """One page of images after ``q.marker``, and whether more follow."""
    q.validate()
    sort = q.sort or [("created_at", "desc")]
    if not any(k == "id" for k, _ in sort):
        sort = [*sort, ("id", sort[-1][1])]
    columns = [getattr(Image, k) for k, _ in sort]
    stmt = select(Image).where(and_(*_conditions(ctx, q)))
    if q.marker:
        marker = s.get(Image, q.marker)
        if marker is None:
            raise errors.InvalidInput(f"Invalid marker. Image {q.marker} could not be found.")
        stmt = stmt.where(_after(sort, columns, marker))
    stmt = stmt.order_by(*[c.desc() if d == "desc" else c.asc() for c, (_, d)
                           in zip(columns, sort, strict=True)])
    limit = min(q.limit, MAX_LIMIT)
    if q.tags or q.properties:
        rows = _post_filter(list(s.scalars(stmt)), q)
    else:
        rows = list(s.scalars(stmt.limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def _after(sort: list[tuple[str, str]], columns: list, marker: Image):
    """Rows strictly after the marker in the sort order (keyset paging)."""
    clauses = []
    for i, ((key, direction), column) in enumerate(zip(sort, columns, strict=True)):
        value = getattr(marker, key)
        prefix = [c == getattr(marker, k) for (k, _), c in zip(sort[:i], columns[:i],
                                                                strict=True)]
        if value is None:
            step = column.is_not(None) if direction == "asc" else None
        else:
            step = column > value if direction == "asc" else or_(column < value,
                                                                  column.is_(None))
        if step is not None:
            clauses.append(and_(*prefix, step))
    return or_(*clauses) if clauses else tuple_(Image.id) != tuple_(marker.id)
