"""What every Network API resource service shares: loading a row the caller
may see (anything else is not found, also a name or a malformed id, so the
clients fall back to a name filter), policy on the stored object, standard
attributes and tags in every view, revision numbers, and Neutron's lists."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from sqlalchemy import Select, select, true
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.db import Database
from core.db.base import utcnow
from core.network.models import NetworkTag
from core.network.query import Columns, ListQuery, apply, page
from core.policy import PolicyEnforcer
from core.quota.service import QuotaService

STANDARD = ("id", "name", "description", "project_id", "created_at", "updated_at",
            "revision_number")
MAX_NAME = 255
Views = list[dict[str, Any]]


def tags_of(s: Session, ids: Iterable[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    wanted = list(ids)
    for start in range(0, len(wanted), 500):
        for rid, tag in s.execute(select(NetworkTag.resource_id, NetworkTag.tag).where(
                NetworkTag.resource_id.in_(wanted[start:start + 500]))
                .order_by(NetworkTag.tag)):
            out[rid].append(tag)
    return out


def standard(row: Any, tags: Mapping[str, list[str]]) -> dict[str, Any]:
    out = {name: getattr(row, name) for name in STANDARD}
    out["tags"] = list(tags.get(row.id, ()))
    return out


def bump(row: Any) -> None:
    """A change to ``row``: its revision goes up, ``updated_at`` moves."""
    row.revision_number = (row.revision_number or 0) + 1
    row.updated_at = utcnow()


def text(attrs: Mapping[str, Any], name: str, default: str = "", limit: int = MAX_NAME) -> str:
    value = attrs.get(name, default)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise errors.InvalidInput(f"Invalid input for {name}. Reason: '{value}' is not a "
                                  "valid string.", param=name)
    if len(value) > limit:
        raise errors.InvalidInput(f"Invalid input for {name}. Reason: '{value[:32]}...' "
                                  f"exceeds maximum length of {limit}.", param=name)
    return value


def flag(attrs: Mapping[str, Any], name: str, default: bool) -> bool:
    value = attrs.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise errors.InvalidInput(f"Invalid input for {name}. Reason: '{value}' is not a valid "
                              "boolean value.", param=name)


class ResourceService:
    """One resource of the Network API over its table. Subclasses set the
    class attributes and write ``_views`` (rows → dicts, batched)."""

    model: ClassVar[type]
    resource: ClassVar[str]  # Neutron's singular name: network, floatingip...
    columns: ClassVar[Columns]
    not_found: ClassVar[type[errors.NotFound]]

    def __init__(self, db: Database, policy: PolicyEnforcer, quotas: QuotaService) -> None:
        self.db = db
        self.policy = policy
        self.quotas = quotas

    # ---- policy ----------------------------------------------------------------------
    def enforce(self, ctx: RequestContext, action: str, target: Mapping[str, Any]) -> None:
        self.policy.enforce(f"network:{action}", dict(target), ctx)

    def may(self, ctx: RequestContext, action: str, target: Mapping[str, Any]) -> bool:
        return self.policy.authorize(f"network:{action}", dict(target),
                                     ctx.policy_credentials())

    def target(self, s: Session, row: Any) -> dict[str, Any]:
        return {"project_id": row.project_id}

    def visible(self, ctx: RequestContext) -> Any:
        """The rows a caller may see at all (the policy then decides)."""
        if ctx.is_admin:
            return true()
        return self.model.project_id == (ctx.project_id or "")  # type: ignore[attr-defined]

    # ---- reading ---------------------------------------------------------------------
    def row(self, s: Session, ctx: RequestContext, id: str, action: str | None = None,
            lock: bool = False) -> Any:
        """The row ``id`` if the caller may see it (and do ``action`` to it)."""
        stmt: Select = select(self.model).where(self.model.id == str(id),  # type: ignore[attr-defined]
                                        self.visible(ctx))
        if lock:
            stmt = stmt.with_for_update()
        row = s.scalar(stmt)
        if row is None:
            raise self.not_found(id)
        target = self.target(s, row)
        if not self.may(ctx, f"get_{self.resource}", target):
            raise self.not_found(id)
        if action is not None:
            self.enforce(ctx, action, target)
        return row

    def get(self, ctx: RequestContext, id: str) -> dict[str, Any]:
        with self.db.session() as s:
            return self._views(s, [self.row(s, ctx, id)])[0]

    def list(self, ctx: RequestContext, query: ListQuery | None = None) -> list[dict[str, Any]]:
        query = query or ListQuery()
        self.before_list(ctx)
        with self.db.session() as s:
            stmt = apply(self.list_statement(ctx, query), self.columns, query)
            rows = page(s, stmt, self.columns, query)
            rows = [r for r in rows
                    if self.may(ctx, f"get_{self.resource}", self.target(s, r))]
            return self._views(s, rows)

    def before_list(self, ctx: RequestContext) -> None:
        """A hook run before a list (security groups make the default one)."""

    def list_statement(self, ctx: RequestContext, query: ListQuery) -> Select:
        return select(self.model).where(self.visible(ctx))

    def _views(self, s: Session, rows: Sequence[Any]) -> Views:
        raise NotImplementedError

    # ---- writing helpers -----------------------------------------------------------------
    def owner_for_create(self, ctx: RequestContext, attrs: Mapping[str, Any]) -> str:
        """The project a new resource belongs to: the caller's, or the one an
        admin names (``project_id`` or ``tenant_id``, which must agree)."""
        project = attrs.get("project_id")
        tenant = attrs.get("tenant_id")
        if project is not None and tenant is not None and project != tenant:
            raise errors.InvalidInput("'project_id' and 'tenant_id' do not match",
                                      param="project_id")
        wanted = project if project is not None else tenant
        if wanted is None or wanted == ctx.project_id:
            return ctx.project_id or ""
        if not isinstance(wanted, str):
            raise errors.InvalidInput("Invalid input for project_id.", param="project_id")
        return wanted
