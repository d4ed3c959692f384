"""Snapshots of volumes: made ``creating`` on the volume's back end (quota
``snapshots`` and the volume's size in ``gigabytes`` reserved with the row),
or copied from another snapshot on its back end (the same way), deleted by compare-and-swap to ``deleting``; the agent does the work after
commit and the volume manager records its result."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.db import Database
from core.db.base import utcnow
from core.policy import PolicyEnforcer
from core.quota.service import QuotaService
from core.volume import listing
from core.volume.base import VolumeBase, forget_ec2, or_words, swap, text
from core.volume.base import metadata as clean_metadata
from core.volume.errors import (
    InvalidInput,
    InvalidSnapshot,
    InvalidVolume,
    SnapshotMetadataNotFound,
    quota_exceeded,
)
from core.volume.models import Snapshot, Volume
from core.volume.rpcapi import VolumeAgentClient, backend_of

DELETABLE = ("available", "error")
STATUSES = ("creating", "available", "deleting", "error", "error_deleting", "updating",
            "unmanaging", "backing-up", "restoring")
COLUMNS = listing.Columns.of(
    Snapshot,
    public=("name", "status", "volume_id", "metadata", "availability_zone", "created_at",
            "updated_at", "consumes_quota"),
    texts=("id", "name", "description", "status", "volume_id", "project_id", "user_id",
           "host", "progress"),
    ints=("size",), display_name="name", display_description="description")


class SnapshotService(VolumeBase):
    def __init__(self, db: Database, policy: PolicyEnforcer, quotas: QuotaService,
                 agents: VolumeAgentClient) -> None:
        super().__init__(db, policy)
        self.quotas = quotas
        self.agents = agents

    # ---- create ----------------------------------------------------------------------
    def create(self, ctx: RequestContext, volume_id: str, *, name: str | None = None,
               description: str | None = None, metadata: Mapping[str, Any] | None = None,
               force: bool = False) -> Snapshot:
        """A snapshot of an ``available`` volume (``in-use`` too with ``force``),
        ``creating``; the volume's back end is asked to make it after commit."""
        project = self.project_of(ctx)
        name, description = text(name, "name"), text(description, "description")
        md = clean_metadata(metadata)
        allowed = ("available", "in-use") if force else ("available",)
        with self.db.session() as s:
            volume = self.volume_row(s, ctx, volume_id, rule=None)
            self.enforce(ctx, "volume:create_snapshot", volume.project_id)
            if volume.status not in allowed:
                raise InvalidVolume(f"Volume {volume.id} status must be {or_words(allowed)}, "
                                    f"but current status is: {volume.status}.",
                                    id=volume.id, state=volume.status)
            backend = backend_of(volume.host)
            if backend is None:
                raise InvalidVolume(f"Volume {volume.id} has no host.", id=volume.id,
                                    state=volume.status)
            # holds the volume's row: a delete racing this one waits, then sees the snapshot
            if not swap(s, Volume, volume.id, allowed, {}):
                s.refresh(volume)
                raise InvalidVolume(f"Volume {volume.id} status must be {or_words(allowed)}, "
                                    f"but current status is: {volume.status}.",
                                    id=volume.id, state=volume.status)
            try:
                self.quotas.reserve(s, project, {"snapshots": 1, "gigabytes": volume.size})
            except errors.QuotaExceeded as exc:
                raise quota_exceeded(exc) from None
            snap = Snapshot(project_id=project, user_id=ctx.user_id or "",
                            volume_id=volume.id, name=name, description=description,
                            status="creating", size=volume.size, progress="0%",
                            metadata_=md, host=volume.host)
            s.add(snap)
            s.flush()
        self.agents.create_snapshot(backend, snap.id, volume.id, snap.size)
        return snap

    def copy(self, ctx: RequestContext, snapshot_id: str, *, name: str | None = None,
             description: str | None = None) -> Snapshot:
        """A copy of an ``available`` snapshot the caller sees, in the caller's
        project, ``creating`` on the source's back end (same volume, size and
        host; quota ``snapshots`` and its size in ``gigabytes`` reserved with the
        row); the back end copies the source's content after commit."""
        project = self.project_of(ctx)
        name, description = text(name, "name"), text(description, "description")
        with self.db.session() as s:
            source = self.snapshot_row(s, ctx, snapshot_id)
            self.enforce(ctx, "volume:create_snapshot", project)
            backend = backend_of(source.host)
            if backend is None:
                raise InvalidSnapshot(f"Snapshot {source.id} has no host.", id=source.id,
                                      state=source.status)
            # the volume's row first, then the source's (as a volume's cascading delete
            # takes them): neither the volume nor the source goes while we copy
            if not swap(s, Volume, source.volume_id, None, {},
                        Volume.status.not_in(("deleting", "error_deleting"))):
                raise InvalidSnapshot(f"The volume of snapshot {source.id} is being "
                                      "deleted.", id=source.id, state=source.status)
            if not swap(s, Snapshot, source.id, ("available",), {}):
                s.refresh(source)
                raise InvalidSnapshot(f"Snapshot {source.id} status must be available, but "
                                      f"current status is: {source.status}.",
                                      id=source.id, state=source.status)
            try:
                self.quotas.reserve(s, project, {"snapshots": 1, "gigabytes": source.size})
            except errors.QuotaExceeded as exc:
                raise quota_exceeded(exc) from None
            snap = Snapshot(project_id=project, user_id=ctx.user_id or "",
                            volume_id=source.volume_id, name=name, description=description,
                            status="creating", size=source.size, progress="0%",
                            metadata_={}, host=source.host)
            s.add(snap)
            s.flush()
        self.agents.copy_snapshot(backend, snap.id, source.id)
        return snap

    # ---- read ------------------------------------------------------------------------
    def get(self, ctx: RequestContext, snapshot_id: str) -> Snapshot:
        with self.db.session() as s:
            return self.snapshot_row(s, ctx, snapshot_id)

    def _statement(self, ctx: RequestContext, filters: Mapping[str, Any] | None,
                   all_tenants: bool, project_id: str | None, any_filter: bool):
        self.enforce(ctx, "volume:get_all_snapshots", ctx.project_id)
        return listing.scoped(COLUMNS, ctx, filters, all_tenants, project_id, any_filter)

    def list(self, ctx: RequestContext, *, filters: Mapping[str, Any] | None = None,
             sort: Sequence[Any] | None = None, limit: int | None = None,
             marker: str | None = None, offset: int | None = None, all_tenants: bool = False,
             project_id: str | None = None, any_filter: bool = False) -> builtins.list[Snapshot]:
        """As :meth:`VolumeService.list`, for snapshots."""
        stmt, md = self._statement(ctx, filters, all_tenants, project_id, any_filter)
        query = listing.ListQuery(filters={}, sort=listing.sort_keys(sort), limit=limit,
                                  marker=marker, offset=offset)
        with self.db.session() as s:
            return listing.page(s, stmt, COLUMNS, query, md, visible=listing.project_scope(
                Snapshot, ctx, all_tenants, project_id))

    def count(self, ctx: RequestContext, *, filters: Mapping[str, Any] | None = None,
              all_tenants: bool = False, project_id: str | None = None,
              any_filter: bool = False) -> int:
        stmt, md = self._statement(ctx, filters, all_tenants, project_id, any_filter)
        with self.db.session() as s:
            return listing.count(s, stmt, md)

    # ---- update, delete --------------------------------------------------------------
    def update(self, ctx: RequestContext, snapshot_id: str, *, name: str | None = None,
               description: str | None = None) -> Snapshot:
        with self.db.session() as s:
            row = self.snapshot_row(s, ctx, snapshot_id, "volume:update_snapshot", lock=True)
            if name is not None:
                row.name = text(name, "name")
            if description is not None:
                row.description = text(description, "description")
            row.updated_at = utcnow()
            return row

    def delete(self, ctx: RequestContext, snapshot_id: str, force: bool = False) -> None:
        """``deleting`` (from available or error, any status with ``force``), then
        the back end deletes it; one never placed goes at once."""
        with self.db.session() as s:
            row = self.snapshot_row(s, ctx, snapshot_id, "volume:delete_snapshot")
            if not swap(s, Snapshot, row.id, None if force else DELETABLE,
                        {"status": "deleting"}):
                s.refresh(row)
                raise InvalidSnapshot(f"Snapshot {row.id} status must be "
                                      f"{or_words(DELETABLE)}, but current status is: "
                                      f"{row.status}.", id=row.id, state=row.status)
            backend = backend_of(row.host)
            if backend is None:
                destroy_snapshot(s, self.quotas, row)
        if backend is not None:
            self.agents.delete_snapshot(backend, row.id)

    def force_delete(self, ctx: RequestContext, snapshot_id: str) -> None:
        with self.db.session() as s:
            self.snapshot_row(s, ctx, snapshot_id,
                              "volume_extension:snapshot_admin_actions:force_delete")
        self.delete(ctx, snapshot_id, force=True)

    def reset_status(self, ctx: RequestContext, snapshot_id: str, status: str) -> Snapshot:
        if status not in STATUSES:
            raise InvalidInput(f"Invalid status: {status}", param="status")
        with self.db.session() as s:
            row = self.snapshot_row(s, ctx, snapshot_id,
                                    "volume_extension:snapshot_admin_actions:reset_status",
                                    lock=True)
            row.status = status
            row.updated_at = utcnow()
            return row

    # ---- metadata --------------------------------------------------------------------
    def metadata(self, ctx: RequestContext, snapshot_id: str) -> dict[str, str]:
        with self.db.session() as s:
            row = self.snapshot_row(s, ctx, snapshot_id, "volume:get_snapshot_metadata")
            return dict(row.metadata_ or {})

    def set_metadata(self, ctx: RequestContext, snapshot_id: str, md: Mapping[str, Any],
                     replace: bool = False) -> dict[str, str]:
        given = clean_metadata(md)
        with self.db.session() as s:
            row = self.snapshot_row(s, ctx, snapshot_id, "volume:update_snapshot_metadata",
                                    lock=True)
            row.metadata_ = given if replace else {**(row.metadata_ or {}), **given}
            row.updated_at = utcnow()
            return dict(row.metadata_)

    def delete_metadata_key(self, ctx: RequestContext, snapshot_id: str, key: str) -> None:
        with self.db.session() as s:
            row = self.snapshot_row(s, ctx, snapshot_id, "volume:delete_snapshot_metadata",
                                    lock=True)
            md = dict(row.metadata_ or {})
            if key not in md:
                raise SnapshotMetadataNotFound(row.id, key)
            del md[key]
            row.metadata_ = md
            row.updated_at = utcnow()


def destroy_snapshot(s: Session, quotas: QuotaService, row: Snapshot) -> None:
    """The snapshot's row gone, its quota released (one never placed; the
    volume manager once the back end has deleted one)."""
    s.delete(row)
    s.flush()
    forget_ec2(s, snapshot_ids=[row.id])
    quotas.release(s, row.project_id, {"snapshots": 1, "gigabytes": row.size})
