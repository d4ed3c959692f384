"""Small query helpers every domain's SQL services share."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import errors

T = TypeVar("T")


def filtered(query: Select, model: type, **filters: Any) -> Select:
    """``query`` narrowed to rows whose columns equal the filters given (None = any)."""
    for column, value in filters.items():
        if value is not None:
            query = query.where(getattr(model, column) == value)
    return query


def get_or_not_found(session: Session, model: type[T], ident: str | None,
                     kind: errors.ResourceKind, label: str | None = None) -> T:
    """The row of ``model`` with primary key ``ident``, or NotFound naming the
    ``kind`` and ``ident`` (Keystone's wording: "Could not find user: X.")."""
    obj = session.get(model, ident) if ident else None
    if obj is None:
        raise errors.NotFound(f"Could not find {label or kind}: {ident}.", kind=kind,
                              id=ident)
    return obj


def commit_unique(session: Session, message: str) -> None:
    """Flush, turning a unique-constraint violation into a Conflict."""
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise errors.Conflict(message) from exc
