"""What the volume services share: policy with the target's project, rows
the caller may see (their project's; any for admins), and the compare-and-swap
every status change goes through."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import CursorResult, select, true, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from core import errors
from core.context import RequestContext
from core.db import Database
from core.db.base import utcnow
from core.numbers import INT32_MAX, BadInteger, as_int
from core.policy import PolicyEnforcer
from core.volume.errors import InvalidInput, SnapshotNotFound, VolumeNotFound
from core.volume.models import Snapshot, Volume

MAX_NAME = 255


class VolumeBase:
    def __init__(self, db: Database, policy: PolicyEnforcer) -> None:
        self.db = db
        self.policy = policy

    # ---- policy ----------------------------------------------------------------------
    def enforce(self, ctx: RequestContext, rule: str, project_id: str | None) -> None:
        self.policy.enforce(rule, {"project_id": project_id or "",
                                   "user_id": ctx.user_id or ""}, ctx)

    def may(self, ctx: RequestContext, rule: str, project_id: str | None) -> bool:
        return self.policy.authorize(rule, {"project_id": project_id or "",
                                            "user_id": ctx.user_id or ""},
                                     ctx.policy_credentials())

    @staticmethod
    def project_of(ctx: RequestContext) -> str:
        if not ctx.project_id:
            raise errors.Forbidden("Volumes belong to a project; use a project-scoped token.")
        return ctx.project_id

    @staticmethod
    def visible(ctx: RequestContext, model: Any) -> Any:
        if ctx.is_admin:
            return true()
        return model.project_id == (ctx.project_id or "")

    # ---- reading ---------------------------------------------------------------------
    def volume_row(self, s: Session, ctx: RequestContext, volume_id: str,
                   rule: str | None = "volume:get", lock: bool = False) -> Volume:
        """The volume if the caller's project owns it (any, for admins), after
        ``rule``; VolumeNotFound otherwise."""
        stmt = select(Volume).where(Volume.id == str(volume_id), self.visible(ctx, Volume))
        if lock:
            stmt = stmt.with_for_update()
        row = s.scalar(stmt)
        if row is None:
            raise VolumeNotFound(str(volume_id))
        if rule is not None:
            self.enforce(ctx, rule, row.project_id)
        return row

    def snapshot_row(self, s: Session, ctx: RequestContext, snapshot_id: str,
                     rule: str | None = "volume:get_snapshot", lock: bool = False) -> Snapshot:
        stmt = select(Snapshot).where(Snapshot.id == str(snapshot_id),
                                      self.visible(ctx, Snapshot))
        if lock:
            stmt = stmt.with_for_update()
        row = s.scalar(stmt)
        if row is None:
            raise SnapshotNotFound(str(snapshot_id))
        if rule is not None:
            self.enforce(ctx, rule, row.project_id)
        return row


def swap(s: Session, model: Any, id: str, expected: Iterable[str] | None,
         values: Mapping[str, Any], *where: Any) -> bool:
    """``UPDATE model SET values WHERE id = :id AND status IN expected AND where``:
    True if the row changed (it was in an expected status), False otherwise.
    Two requests racing for one row: exactly one wins."""
    stmt = update(model).where(model.id == id, *where)
    if expected is not None:
        stmt = stmt.where(model.status.in_(list(expected)))
    values = {"updated_at": utcnow(), **values}
    result = s.execute(stmt.values(**values), execution_options={"synchronize_session": False})
    changed = isinstance(result, CursorResult) and result.rowcount == 1
    if changed:  # the session's copy must not hide the new values
        obj = s.identity_map.get(identity_key(model, id))
        if obj is not None:
            s.refresh(obj)
    return changed


def or_words(words: Iterable[str]) -> str:
    """Cinder's ``build_or_str``: ``a or b or c``."""
    return " or ".join(words)


# ---- input checks ---------------------------------------------------------------------
def text(value: Any, name: str, limit: int = MAX_NAME) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string.", param=name)
    if len(value) > limit:
        raise InvalidInput(f"{name} has more than {limit} characters.", param=name)
    return value


def metadata(value: Any, name: str = "metadata") -> dict[str, str]:
    """A metadata dict of strings (keys 1-255 characters, values ≤ 255)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{name} must be a dictionary.", param=name)
    out = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip() or len(key) > MAX_NAME:
            raise InvalidInput("Metadata property key must be a string of 1 to 255 "
                               "characters.", param=name)
        if item is None:
            item = ""
        if not isinstance(item, str | int | float) or isinstance(item, bool):
            raise InvalidInput(f"Metadata property value for {key} must be a string.",
                               param=name)
        item = str(item)
        if len(item) > MAX_NAME:
            raise InvalidInput(f"Metadata property value for {key} is longer than 255 "
                               "characters.", param=name)
        out[key] = item
    return out


def size(value: Any, name: str = "size") -> int:
    """A size in GiB: an integer (or a string of one) from 1 to 2**31-1."""
    try:
        return as_int(value, 1, INT32_MAX)
    except BadInteger:
        raise InvalidInput(f"Volume size '{value}' must be an integer and greater than 0",
                           param=name) from None
