"""Cinder's list conventions over one table (``cinder/api/common.py``,
``db/sqlalchemy/api.py``): filters (exact values, ``name~`` LIKE, ``metadata``
as a dict every pair of which must match, times compared with
``gt:/gte:/lt:/lte:/eq:/neq:<iso>``), sorting on several keys (default
``created_at`` then ``id``, both descending), ``offset`` and ``limit``/``marker``
(the last id of the previous page)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from core.context import RequestContext
from core.volume.errors import InvalidInput, MarkerNotFound

TRUE_WORDS = {"true", "1", "yes", "on", "y", "t"}
FALSE_WORDS = {"false", "0", "no", "off", "n", "f"}
MAX_LIMIT = 1000
TIME_OPS = {"gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__", "eq": "__eq__",
            "neq": "__ne__"}


def as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise InvalidInput(f"Invalid value '{value}' for {name}: must be a boolean.", param=name)


def as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise InvalidInput(f"{name} must be an integer.", param=name)
    try:
        return int(str(value).strip())
    except ValueError:
        raise InvalidInput(f"{name} must be an integer.", param=name) from None


def _text(value: Any, name: str) -> Any:
    return value if value is None else str(value)


def _time(value: Any, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"Invalid time value '{value}' for {name}.", param=name) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


@dataclass(frozen=True)
class Columns:
    """A resource's filterable/sortable names → (column, converter); ``public``
    the filters non-admins may use (others are dropped silently, as Cinder
    drops them); ``times`` the columns compared with ``gt:``..."""

    model: type
    attributes: Mapping[str, tuple[Any, Callable[[Any, str], Any]]]
    public: frozenset[str]
    times: frozenset[str] = frozenset({"created_at", "updated_at"})

    @classmethod
    def of(cls, model: type, public: Sequence[str], texts: Sequence[str] = (),
           ints: Sequence[str] = (), bools: Sequence[str] = (),
           **renamed: str) -> Columns:
        attrs: dict[str, tuple[Any, Callable[[Any, str], Any]]] = {}
        for name in texts:
            attrs[name] = (getattr(model, name), _text)
        for name in ints:
            attrs[name] = (getattr(model, name), as_int)
        for name in bools:
            attrs[name] = (getattr(model, name), as_bool)
        for name in ("created_at", "updated_at"):
            attrs[name] = (getattr(model, name), _time)
        for name, column in renamed.items():
            attrs[name] = (getattr(model, column), _text)
        return cls(model, attrs, frozenset(public))


@dataclass(frozen=True)
class ListQuery:
    filters: Mapping[str, Any]
    sort: Sequence[tuple[str, bool]]  # (key, ascending)
    limit: int | None = None
    marker: str | None = None
    offset: int | None = None


def sort_keys(sort: Sequence[Any] | None) -> list[tuple[str, bool]]:
    """``[(key, "asc"|"desc"|bool|None)]`` → ``[(key, ascending)]``; Cinder's default
    is ``created_at`` descending."""
    out = []
    direction: Any
    for item in sort or ():
        if isinstance(item, str):
            key, _, direction = item.partition(":")
        else:
            key, direction = str(item[0]), (item[1] if len(item) > 1 else None)
        if isinstance(direction, bool):
            out.append((key, direction))
            continue
        word = str(direction or "desc").lower()
        if word not in ("asc", "desc"):
            raise InvalidInput("Unknown sort direction, must be 'desc' or 'asc'.",
                               param="sort_dir")
        out.append((key, word == "asc"))
    return out or [("created_at", False)]


def apply_filters(stmt: Select, columns: Columns, filters: Mapping[str, Any],
                  admin: bool) -> tuple[Select, dict[str, str] | None]:
    """``stmt`` narrowed by ``filters``; the metadata filter (a dict) is returned
    to be matched in Python (JSON columns compare differently everywhere)."""
    metadata: dict[str, str] | None = None
    for name, value in filters.items():
        base = name[:-1] if name.endswith("~") else name
        if not admin and base not in columns.public:
            continue
        if base == "metadata":
            metadata = _metadata_filter(value)
            continue
        spec = columns.attributes.get(base)
        if spec is None:
            if admin:
                continue  # unknown keys are ignored
            continue
        column, convert = spec
        if name.endswith("~"):
            stmt = stmt.where(column.like(f"%{_escape(str(value))}%", escape="\\"))
        elif base in columns.times and isinstance(value, str) and ":" in value.split("T")[0]:
            op, _, moment = value.partition(":")
            method = TIME_OPS.get(op)
            if method is None:
                raise InvalidInput(f"Invalid filter operator '{op}' for {base}.", param=base)
            stmt = stmt.where(getattr(column, method)(_time(moment, base)))
        elif isinstance(value, list | tuple | set):
            stmt = stmt.where(column.in_([convert(v, base) for v in value]))
        elif value is None:
            stmt = stmt.where(column.is_(None))
        else:
            stmt = stmt.where(column == convert(value, base))
    return stmt, metadata


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _metadata_filter(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidInput("The metadata filter must be a JSON object.",
                               param="metadata") from None
    if not isinstance(value, Mapping):
        raise InvalidInput("The metadata filter must be a JSON object.", param="metadata")
    return {str(k): str(v) for k, v in value.items()}


def metadata_matches(row: Any, wanted: Mapping[str, str]) -> bool:
    md = row.metadata_ or {}
    return all(str(md.get(k)) == v and k in md for k, v in wanted.items())


def order(columns: Columns, sort: Sequence[tuple[str, bool]]) -> list:
    out = []
    names = []
    for name, ascending in sort:
        spec = columns.attributes.get(name)
        if spec is None:
            raise InvalidInput(f"Invalid sort key {name}.", param="sort")
        column = spec[0]
        # NULLs sort as the smallest values on every database (PostgreSQL puts
        # them last by default), as the marker's comparisons assume
        if ascending:
            out.extend([column.is_(None).desc(), column.asc()])
        else:
            out.extend([column.is_(None).asc(), column.desc()])
        names.append(name)
    if "id" not in names:
        last_asc = sort[-1][1] if sort else False
        id_col = columns.model.id  # type: ignore[attr-defined]
        out.append(id_col.asc() if last_asc else id_col.desc())
    return out


def _keys(columns: Columns, sort: Sequence[tuple[str, bool]]) -> list[tuple[Any, bool]]:
    keys = [(columns.attributes[n][0], asc) for n, asc in sort]
    if all(n != "id" for n, _ in sort):
        keys.append((columns.model.id, sort[-1][1] if sort else False))  # type: ignore[attr-defined]
    return keys


def page(s: Session, stmt: Select, columns: Columns, query: ListQuery,
         metadata: Mapping[str, str] | None, visible: Any = None) -> list:
    """The rows of ``stmt`` (filtered) sorted, after the marker, at most ``limit``."""
    sort = list(query.sort) or [("created_at", False)]
    stmt = stmt.order_by(*order(columns, sort))
    limit = query.limit
    if limit is not None:
        if isinstance(limit, bool) or limit < 0:
            raise InvalidInput("limit must be >= 0", param="limit")
        limit = min(limit, MAX_LIMIT)
    offset = query.offset or 0
    if offset < 0:
        raise InvalidInput("offset must be >= 0", param="offset")
    model_id = columns.model.id  # type: ignore[attr-defined]
    if query.marker:
        keys = _keys(columns, sort)
        marker_q = select(*(k for k, _ in keys)).where(model_id == query.marker)
        if visible is not None:
            marker_q = marker_q.where(visible)
        marker = s.execute(marker_q).first()
        if marker is None:
            raise MarkerNotFound(query.marker)
        after: Any = false()
        equal_so_far: Any = true()
        for (column, asc), value in zip(keys, marker, strict=True):
            if value is None:  # NULLs: compare as the smallest values
                step = column.is_not(None) if asc else false()
                same = column.is_(None)
            else:
                step = column > value if asc else or_(column < value, column.is_(None))
                same = column == value
            after = or_(after, and_(equal_so_far, step))
            equal_so_far = and_(equal_so_far, same)
        stmt = stmt.where(after)
    if metadata:
        rows = [r for r in s.scalars(stmt) if metadata_matches(r, metadata)]
        rows = rows[offset:]
        return rows[:limit] if limit else rows
    if offset:
        stmt = stmt.offset(offset)
    if limit:
        stmt = stmt.limit(limit)
    return list(s.scalars(stmt))


def project_scope(model: Any, ctx: RequestContext, all_tenants: bool,
                  project_id: str | None) -> Any:
    """Whose rows a listing sees: the caller's project's; an admin's
    ``project_id``'s; every project's for an admin with ``all_tenants``
    (narrowed to ``project_id`` if given, None: no condition)."""
    if ctx.is_admin and all_tenants:
        return model.project_id == project_id if project_id else None
    if ctx.is_admin and project_id:
        return model.project_id == project_id
    return model.project_id == (ctx.project_id or "")


def scoped(columns: Columns, ctx: RequestContext, filters: Mapping[str, Any] | None,
           all_tenants: bool, project_id: str | None, any_filter: bool
           ) -> tuple[Select, dict[str, str] | None]:
    """The filtered statement over ``columns.model`` in the caller's scope, and
    the metadata still to match in Python (:func:`apply_filters`)."""
    stmt: Select = select(columns.model)
    scope = project_scope(columns.model, ctx, all_tenants, project_id)
    if scope is not None:
        stmt = stmt.where(scope)
    return apply_filters(stmt, columns, dict(filters or {}), ctx.is_admin or any_filter)


def count(s: Session, stmt: Select, metadata: Mapping[str, str] | None) -> int:
    """How many rows ``stmt`` (and ``metadata``) match, unpaged."""
    if metadata:
        return sum(1 for r in s.scalars(stmt) if metadata_matches(r, metadata))
    return s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
