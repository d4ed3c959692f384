"""Neutron's list conventions over one resource table: filters on any
attribute (repeated values: any of them), sorting on several keys, pagination
by ``limit`` and ``marker`` (the last id of the previous page), and the four
tag filters. The edge parses the query string into a :class:`ListQuery`; each
service names which attributes map to which columns (:class:`Columns`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, exists, false, func, or_, select, true
from sqlalchemy.orm import Session

from core import errors
from core.network.models import NetworkTag

TRUE_WORDS = {"true", "1", "yes", "on"}
FALSE_WORDS = {"false", "0", "no", "off"}


@dataclass(frozen=True)
class ListQuery:
    """What a list request asks for; ``filters`` map Neutron attribute names to
    the raw values given (strings), any of which may match."""

    filters: Mapping[str, Sequence[str]] = field(default_factory=dict)
    sort: Sequence[tuple[str, bool]] = ()  # (attribute, ascending)
    limit: int | None = None
    marker: str | None = None
    page_reverse: bool = False
    tags: Sequence[str] = ()
    tags_any: Sequence[str] = ()
    not_tags: Sequence[str] = ()
    not_tags_any: Sequence[str] = ()

    def values(self, name: str) -> list[str]:
        return list(self.filters.get(name, ()))


def as_bool(value: Any, name: str) -> bool:
    """Neutron's boolean forms (``True``, ``true``, ``1``...); InvalidInput otherwise."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise errors.InvalidInput(f"Invalid input for {name}. Reason: '{value}' is not a valid "
                              "boolean value.", param=name)


def as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise errors.InvalidInput(f"Invalid input for {name}. Reason: '{value}' is not an "
                                  "integer.", param=name)
    try:
        return int(str(value).strip())
    except ValueError:
        raise errors.InvalidInput(f"Invalid input for {name}. Reason: '{value}' is not an "
                                  "integer.", param=name) from None


Converter = Callable[[str, str], Any]


def _text(value: str, name: str) -> str:
    return value


@dataclass(frozen=True)
class Columns:
    """A resource's filterable and sortable attributes: Neutron name → (column,
    converter of a raw filter value)."""

    model: type
    attributes: Mapping[str, tuple[Any, Converter]]
    tag_type: str

    @classmethod
    def of(cls, model: type, tag_type: str, texts: Sequence[str] = (),
           bools: Mapping[str, str] | Sequence[str] = (), ints: Sequence[str] = (),
           **renamed: str) -> Columns:
        """``texts``/``ints`` are columns of the same name; ``bools`` maps
        Neutron names to columns (or is a list of same-named columns);
        ``renamed`` maps Neutron names (``__`` for ``:``) to text columns."""
        attrs: dict[str, tuple[Any, Converter]] = {}
        for name in ("id", "project_id", "name", "description", "revision_number", *texts):
            conv: Converter = as_int if name == "revision_number" else _text
            attrs[name] = (getattr(model, name), conv)
        attrs["tenant_id"] = attrs["project_id"]
        for name in ints:
            attrs[name] = (getattr(model, name), as_int)
        bool_map = bools if isinstance(bools, Mapping) else {b: b for b in bools}
        for name, column in bool_map.items():
            attrs[name] = (getattr(model, column), as_bool)
        for name, column in renamed.items():
            attrs[name.replace("__", ":")] = (getattr(model, column), _text)
        return cls(model, attrs, tag_type)


def apply(stmt: Select, columns: Columns, query: ListQuery, id_column: Any = None) -> Select:
    """``stmt`` filtered, tag-filtered and sorted as ``query`` asks (no paging)."""
    id_col = id_column if id_column is not None else columns.model.id  # type: ignore[attr-defined]
    for name, values in query.filters.items():
        spec = columns.attributes.get(name)
        if spec is None or not values:
            continue  # unknown keys are ignored, as Neutron without filter validation
        column, convert = spec
        stmt = stmt.where(column.in_([convert(v, name) for v in values]))
    stmt = _tag_filters(stmt, columns.tag_type, id_col, query)
    return stmt.order_by(*sort_clauses(columns, query, id_col))


def sort_clauses(columns: Columns, query: ListQuery, id_col: Any) -> list:
    out = []
    reverse = query.page_reverse
    for name, ascending in query.sort:
        spec = columns.attributes.get(name)
        if spec is None:
            raise errors.InvalidInput(f"{name} is invalid attribute for sort_keys",
                                      param="sort_key")
        asc = ascending != reverse
        out.append(spec[0].asc() if asc else spec[0].desc())
    out.append(id_col.desc() if reverse else id_col.asc())
    return out


def _tag_filters(stmt: Select, tag_type: str, id_col: Any, query: ListQuery) -> Select:
    def has(tag: str):
        return exists().where(NetworkTag.resource_id == id_col, NetworkTag.tag == tag)

    if query.tags:
        stmt = stmt.where(and_(*(has(t) for t in query.tags)))
    if query.tags_any:
        stmt = stmt.where(or_(*(has(t) for t in query.tags_any)))
    if query.not_tags:
        stmt = stmt.where(~and_(*(has(t) for t in query.not_tags)))
    if query.not_tags_any:
        stmt = stmt.where(~or_(*(has(t) for t in query.not_tags_any)))
    return stmt


def page(s: Session, stmt: Select, columns: Columns, query: ListQuery,
         id_column: Any = None) -> list:
    """The rows of ``stmt`` (already :func:`apply`-ed) after the marker, at
    most ``limit``; the marker's sort values decide where the page starts."""
    id_col = id_column if id_column is not None else columns.model.id  # type: ignore[attr-defined]
    if query.marker:
        keys = [(columns.attributes[n][0], asc != query.page_reverse)
                for n, asc in query.sort if n in columns.attributes]
        keys.append((id_col, not query.page_reverse))
        marker = s.execute(select(*(k for k, _ in keys)).where(id_col == query.marker)).first()
        if marker is None:
            raise errors.NotFound(f"Marker {query.marker} could not be found.",
                                  id=query.marker)
        after: Any = false()
        equal_so_far: Any = true()
        for (column, asc), value in zip(keys, marker, strict=True):
            step = column > value if asc else column < value
            after = or_(after, and_(equal_so_far, step))
            equal_so_far = and_(equal_so_far, column == value)
        stmt = stmt.where(after)
    if query.limit is not None:
        if query.limit < 0:
            raise errors.InvalidInput("Limit must be an integer 0 or greater and not "
                                      f"'{query.limit}'", param="limit")
        if query.limit:
            stmt = stmt.limit(query.limit)
    rows = list(s.scalars(stmt))
    if query.page_reverse:
        rows.reverse()
    return rows


def count(s: Session, model: type, *where: Any) -> int:
    return s.scalar(select(func.count()).select_from(model).where(*where)) or 0
