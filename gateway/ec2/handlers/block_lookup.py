"""The caller's volumes and snapshots by EC2 ID (``vol-``, ``snap-``), or all of
them: one lookup for the volume and snapshot families. Another project's is not
found, even by an admin, as in AWS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol, TypeVar

from core import errors
from core.context import RequestContext
from core.idmap.ids import Kind
from gateway.ec2.errors import Ec2Error
from gateway.ec2.handlers.base import Handler

LIST_CHUNK = 1000
Name = Literal["volume", "snapshot"]


class Owned(Protocol):
    id: str
    project_id: str


Row = TypeVar("Row", bound=Owned)


def every(list_page: Callable[..., list[Row]], ctx: RequestContext) -> list[Row]:
    """Every row of the caller's project, read a chunk at a time."""
    out: list[Row] = []
    marker: str | None = None
    while True:
        chunk = list_page(ctx, filters={}, sort=[("created_at", "asc"), ("id", "asc")],
                          limit=LIST_CHUNK, marker=marker)
        out.extend(chunk)
        if len(chunk) < LIST_CHUNK:
            return out
        marker = chunk[-1].id


def one(handler: Handler, ctx: RequestContext, kind: Kind, ec2_id: str,
        get: Callable[[RequestContext, str], Row], param: str, name: Name) -> Row:
    """The caller's row named by ``ec2_id`` (the request's ``param``)."""
    if not ec2_id:
        raise Ec2Error("MissingParameter", f"The request must contain the parameter {param}")
    uuid = handler.os_id(kind, ec2_id)
    row = get(ctx, uuid)
    if row.project_id != ctx.project_id:
        raise errors.NotFound(kind=name, id=uuid)
    return row


def named(handler: Handler, ctx: RequestContext, kind: Kind, wanted: list[str],
          get: Callable[[RequestContext, str], Row], name: Name) -> list[Row]:
    """The caller's rows named by EC2 IDs: all, or NotFound naming every one
    that is not (gone, or another project's)."""
    found: list[Row] = []
    missing: list[str] = []
    for ec2_id, uuid in handler.os_ids(kind, wanted).items():
        row: Any = None
        try:
            row = get(ctx, uuid)
        except errors.NotFound:
            pass
        if row is None or row.project_id != ctx.project_id:
            missing.append(ec2_id)
        else:
            found.append(row)
    if missing:
        raise errors.NotFound(f"{', '.join(missing)} not found", kind=name, ids=missing)
    return found
