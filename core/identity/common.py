"""Helpers shared by the identity services: policy targets, lookups, filters."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext

T = TypeVar("T")


class PolicyEnforcer(Protocol):
    def enforce(self, rule: str, target: dict, context: RequestContext) -> None: ...


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


def filtered(query: Select, model: type, **filters: Any) -> Select:
    """``query`` narrowed to rows whose columns equal the filters given (None = any)."""
    for column, value in filters.items():
        if value is not None:
            query = query.where(getattr(model, column) == value)
    return query


def get_or_404(session: Session, model: type[T], ident: str | None, kind: str) -> T:
    obj = session.get(model, ident) if ident else None
    if obj is None:
        raise errors.NotFound(f"Could not find {kind}: {ident}.")
    return obj


def commit_unique(session: Session, message: str) -> None:
    """Flush, turning a unique-constraint violation into a Conflict."""
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise errors.Conflict(message) from exc


def parse_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise errors.InvalidInput(f"Invalid value for {name}: {value!r}; expected a boolean.")


def apply_updates(obj: Any, updates: dict[str, Any], allowed: Iterable[str],
                  convert: Callable[[str, Any], Any] | None = None) -> None:
    for key in allowed:
        if key in updates:
            setattr(obj, key, convert(key, updates[key]) if convert else updates[key])
