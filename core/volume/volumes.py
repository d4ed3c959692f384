"""Volumes, as Cinder's API service keeps them: created ``creating`` with their
quota reserved in the same transaction and handed to a volume scheduler after
commit; deleted and extended by compare-and-swap on their status, the back end
told after commit. The scheduler, the manager and the agents (other modules)
move them on from there."""

from __future__ import annotations

import builtins
import math
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.db import Database
from core.db.base import utcnow
from core.policy import PolicyEnforcer
from core.quota.service import QuotaService
from core.volume import claims, listing
from core.volume.base import VolumeBase, forget_ec2, or_words, size, swap, text
from core.volume.base import metadata as clean_metadata
from core.volume.errors import (
    InvalidAvailabilityZone,
    InvalidInput,
    InvalidSnapshot,
    InvalidVolume,
    VolumeInUse,
    quota_exceeded,
)
from core.volume.images import VolumeUploads, find_image
from core.volume.models import Snapshot, Volume, VolumeAttachment, VolumePool
from core.volume.quotas import VolumeQuotas
from core.volume.rpcapi import VolumeAgentClient, VolumeSchedulerClient, backend_of
from core.volume.snapshots import destroy_snapshot
from core.volume.types import VolumeTypeService, type_is_multiattach
from core.volume.volume_actions import VolumeActions

DELETABLE = ("available", "error", "error_restoring", "error_extending", "error_managing")
GiB = 1 << 30
COLUMNS = listing.Columns.of(
    Volume,
    public=("name", "status", "metadata", "bootable", "migration_status",
            "availability_zone", "group_id", "size", "created_at", "updated_at",
            "consumes_quota"),
    texts=("id", "name", "description", "status", "attach_status", "availability_zone",
           "host", "project_id", "user_id", "volume_type_id", "snapshot_id", "source_volid",
           "image_id", "migration_status", "client_token"),
    ints=("size",), bools=("bootable", "multiattach", "readonly"),
    display_name="name", display_description="description")


def _delete_refusal(volume_id: str) -> str:
    return (f"Volume status must be {or_words(DELETABLE)} and must not be migrating, "
            "attached, belong to a group, have snapshots or be disassociated from "
            "snapshots after volume transfer.")


class VolumeService(VolumeActions, VolumeUploads, VolumeBase):
    def __init__(self, db: Database, policy: PolicyEnforcer, quotas: QuotaService,
                 volume_quotas: VolumeQuotas, types: VolumeTypeService,
                 scheduler: VolumeSchedulerClient, agents: VolumeAgentClient,
                 default_zone: str = "nova", images: Any = None) -> None:
        super().__init__(db, policy)
        self.quotas = quotas
        self.volume_quotas = volume_quotas
        self.types = types
        self.scheduler = scheduler
        self.agents = agents
        self.default_zone = default_zone
        self.images = images

    # ---- create ----------------------------------------------------------------------
    def zones(self, s: Session) -> set[str]:
        """The availability zones volumes may be made in: the default one and
        those of the pools the back ends report."""
        return {self.default_zone, *s.scalars(select(VolumePool.availability_zone)
                                              .distinct())}

    def availability_zones(self, ctx: RequestContext) -> builtins.list[str]:
        """The zones volumes may be made in (``/os-availability-zone``), sorted."""
        self.enforce(ctx, "volume_extension:availability_zone_list", ctx.project_id)
        with self.db.session() as s:
            return sorted(self.zones(s))

    def by_token(self, ctx: RequestContext, client_token: str) -> Volume | None:
        """The caller's project's volume made with ``client_token``, if any."""
        with self.db.session() as s:
            return s.scalar(select(Volume).where(Volume.project_id == (ctx.project_id or ""),
                                                 Volume.client_token == client_token))

    def create(self, ctx: RequestContext, *, size: Any = None, name: str | None = None,
               description: str | None = None, volume_type: str | None = None,
               availability_zone: str | None = None, snapshot_id: str | None = None,
               source_volid: str | None = None, image_id: str | None = None,
               metadata: Mapping[str, Any] | None = None, client_token: str | None = None,
               multiattach: bool | None = None) -> Volume:
        """A new volume, ``creating``; a scheduler is asked to place it once it is
        committed. With ``client_token``, the project's volume already made with
        it is returned instead (nothing new is made or reserved)."""
        project = self.project_of(ctx)
        self.enforce(ctx, "volume:create", project)
        if client_token:
            found = self.by_token(ctx, client_token)
            if found is not None:
                return found
        try:
            volume = self._create(ctx, project, size, name, description, volume_type,
                                  availability_zone, snapshot_id, source_volid, image_id,
                                  metadata, client_token, multiattach)
        except IntegrityError:
            found = self.by_token(ctx, client_token) if client_token else None
            if found is None:
                raise
            return found  # a concurrent create with the same token won
        self.scheduler.create_volume(volume.id)
        return volume

    def _image(self, ctx: RequestContext, image_id: str) -> tuple[Any, int, dict[str, str]]:
        """(the image, the GiB its data needs, its volume_image_metadata)."""
        if self.images is None:
            raise InvalidInput("Volumes from images are not supported here.",
                               param="imageRef")
        self.enforce(ctx, "volume:create_from_image", ctx.project_id)
        image = find_image(self.images, ctx, image_id)
        if image.status != "active":
            raise InvalidInput(f"Image {image.id} is not active.", param="imageRef")
        needed = math.ceil((image.size or 0) / GiB)
        meta = {"image_id": image.id, "image_name": image.name or "",
                "checksum": image.checksum or "",
                "container_format": image.container_format or "",
                "disk_format": image.disk_format or "", "min_disk": str(image.min_disk or 0),
                "min_ram": str(image.min_ram or 0), "size": str(image.size or 0)}
        meta.update({str(k): str(v) for k, v in (image.properties or {}).items()})
        return image, needed, meta

    def _create(self, ctx: RequestContext, project: str, size_given: Any, name: Any,
                description: Any, volume_type: Any, zone: Any, snapshot_id: Any,
                source_volid: Any, image_id: Any, md: Any, client_token: Any,
                multiattach: Any) -> Volume:
        name, description = text(name, "name"), text(description, "description")
        md = clean_metadata(md)
        if client_token is not None and (not isinstance(client_token, str)
                                         or len(client_token) > 64):
            raise InvalidInput("client_token must be a string of at most 64 characters.",
                               param="client_token")
        if multiattach:
            raise InvalidInput("multiattach is not allowed in a volume create; use a "
                               "multiattach volume type.", param="multiattach")
        sources = [x for x in (snapshot_id, source_volid, image_id) if x]
        if len(sources) > 1:
            raise InvalidInput("Only one of snapshot_id, source_volid and imageRef may be "
                               "given.")
        wanted = size(size_given) if size_given is not None else None
        image, image_needs, image_meta = (self._image(ctx, image_id) if image_id
                                          else (None, 0, {}))
        image_id = image.id if image is not None else None
        with self.db.session() as s:
            source_size, source_type, source_zone, bootable = None, None, None, False
            kind = ""
            if snapshot_id:
                snap = self.snapshot_row(s, ctx, snapshot_id, rule=None)
                if snap.status != "available":
                    raise InvalidSnapshot("Originating snapshot status must be 'available' "
                                          "to create a volume.", id=snap.id,
                                          state=snap.status)
                parent = s.get(Volume, snap.volume_id)
                source_size, kind = snap.size, "snapshot"
                if parent is not None:
                    source_type, source_zone = parent.volume_type_id, parent.availability_zone
                    bootable = parent.bootable
                    image_meta = dict(parent.image_metadata or {})
            elif source_volid:
                src = self.volume_row(s, ctx, source_volid, rule=None)
                if src.status not in ("available", "in-use"):
                    raise InvalidVolume(f"Unable to create a volume from an originating "
                                        f"source volume when its status is {src.status}.",
                                        id=src.id, state=src.status)
                source_size, kind = src.size, "source volume"
                source_type, source_zone = src.volume_type_id, src.availability_zone
                bootable, image_meta = src.bootable, dict(src.image_metadata or {})
            if wanted is None:
                if source_size is None:
                    raise InvalidInput("Volume size must be given unless the volume is made "
                                       "from a snapshot or another volume.", param="size")
                wanted = source_size
            if source_size is not None and wanted < source_size:
                if kind == "snapshot":
                    raise InvalidInput(f"Volume size '{wanted}'GB cannot be smaller than the "
                                       f"snapshot size {source_size}GB. They must be >= "
                                       "original snapshot size.", param="size")
                raise InvalidInput(f"Volume size '{wanted}'GB cannot be smaller than original "
                                   f"volume size {source_size}GB. They must be >= original "
                                   "volume size.", param="size")
            if image is not None and wanted < image_needs:
                raise InvalidInput(f"Size of specified image {image_needs}GB is larger than "
                                   f"volume size {wanted}GB.", param="size")
            if image is not None and wanted < (image.min_disk or 0):
                raise InvalidInput(f"Volume size {wanted}GB cannot be smaller than the image "
                                   f"minDisk size {image.min_disk}GB.", param="size")
            vtype = self.types.find(s, ctx, volume_type if volume_type is not None
                                    else source_type)
            zone = self._zone(s, zone, source_zone, kind)
            self.volume_quotas.check_per_volume(s, project, wanted)
            try:
                self.quotas.reserve(s, project, {"volumes": 1, "gigabytes": wanted})
            except errors.QuotaExceeded as exc:
                raise quota_exceeded(exc) from None
            volume = Volume(project_id=project, user_id=ctx.user_id or "", name=name,
                            description=description, size=wanted, status="creating",
                            attach_status="detached", availability_zone=zone,
                            volume_type_id=vtype.id, snapshot_id=snapshot_id or None,
                            source_volid=source_volid or None, image_id=image_id or None,
                            bootable=bool(image_id) or bootable, metadata_=md,
                            image_metadata=image_meta, multiattach=type_is_multiattach(vtype),
                            scheduling={}, client_token=client_token or None)
            s.add(volume)
            s.flush()
            return volume

    def _zone(self, s: Session, zone: Any, source_zone: str | None, kind: str) -> str:
        if zone is None or zone == "":
            return source_zone or self.default_zone
        if not isinstance(zone, str) or zone not in self.zones(s):
            raise InvalidAvailabilityZone(str(zone))
        if source_zone is not None and zone != source_zone:
            raise InvalidInput(f"Volume must be in the same availability zone as the {kind}",
                               param="availability_zone")
        return zone

    # ---- read ------------------------------------------------------------------------
    def get(self, ctx: RequestContext, volume_id: str) -> Volume:
        with self.db.session() as s:
            return self.volume_row(s, ctx, volume_id)

    def _statement(self, ctx: RequestContext, filters: Mapping[str, Any] | None,
                   all_tenants: bool, project_id: str | None, any_filter: bool):
        self.enforce(ctx, "volume:get_all", ctx.project_id)
        return listing.scoped(COLUMNS, ctx, filters, all_tenants, project_id, any_filter)

    def list(self, ctx: RequestContext, *, filters: Mapping[str, Any] | None = None,
             sort: Sequence[Any] | None = None, limit: int | None = None,
             marker: str | None = None, offset: int | None = None, all_tenants: bool = False,
             project_id: str | None = None, any_filter: bool = False) -> builtins.list[Volume]:
        """A page of the caller's project's volumes (every project's for admins
        with ``all_tenants``, narrowed to ``project_id`` if given).

        ``filters``: Cinder's names (``name``, ``status``, ``metadata`` a dict,
        ``name~`` LIKE, ``created_at`` ``gt:<iso>``...; a list value: any of
        them); non-admins may use only Cinder's public filters, the others are
        dropped, unless ``any_filter`` (an edge that checked them itself, EC2).
        ``sort``: ``[(key, "asc"|"desc")]``, default ``created_at`` descending."""
        stmt, md = self._statement(ctx, filters, all_tenants, project_id, any_filter)
        query = listing.ListQuery(filters={}, sort=listing.sort_keys(sort), limit=limit,
                                  marker=marker, offset=offset)
        with self.db.session() as s:
            return listing.page(s, stmt, COLUMNS, query, md, visible=listing.project_scope(
                Volume, ctx, all_tenants, project_id))

    def count(self, ctx: RequestContext, *, filters: Mapping[str, Any] | None = None,
              all_tenants: bool = False, project_id: str | None = None,
              any_filter: bool = False) -> int:
        """How many volumes :meth:`list` would give without paging (3.45's count)."""
        stmt, md = self._statement(ctx, filters, all_tenants, project_id, any_filter)
        with self.db.session() as s:
            return listing.count(s, stmt, md)

    def summary(self, ctx: RequestContext, *, filters: Mapping[str, Any] | None = None,
                all_tenants: bool = False, project_id: str | None = None) -> dict[str, Any]:
        """Cinder's ``volume-summary``: total_count, total_size, metadata {key: [values]}."""
        stmt, md = self._statement(ctx, filters, all_tenants, project_id, False)
        with self.db.session() as s:
            rows = [r for r in s.scalars(stmt) if not md or listing.metadata_matches(r, md)]
        merged: dict[str, list[str]] = {}
        for row in rows:
            for key, value in (row.metadata_ or {}).items():
                values = merged.setdefault(key, [])
                if value not in values:
                    values.append(value)
        return {"total_count": len(rows), "total_size": sum(r.size for r in rows),
                "metadata": merged}

    # ---- update, delete, extend ------------------------------------------------------
    def update(self, ctx: RequestContext, volume_id: str, *, name: str | None = None,
               description: str | None = None,
               metadata: Mapping[str, Any] | None = None) -> Volume:
        """Change what is given (None: unchanged; ``""`` clears a name);
        ``metadata`` replaces the volume's."""
        with self.db.session() as s:
            row = self.volume_row(s, ctx, volume_id, "volume:update", lock=True)
            if row.status == "maintenance":
                raise InvalidVolume("Volume cannot be updated while it is in maintenance.",
                                    id=row.id, state=row.status)
            if name is not None:
                row.name = text(name, "name")
            if description is not None:
                row.description = text(description, "description")
            if metadata is not None:
                row.metadata_ = clean_metadata(metadata)
            row.updated_at = utcnow()
            s.flush()
            return row

    def delete(self, ctx: RequestContext, volume_id: str, cascade: bool = False,
               force: bool = False) -> None:
        """``deleting``, then the back end deletes it (a volume never placed goes
        at once, its quota released). Refused (400) if attached, migrating, in
        a status other than :data:`DELETABLE` unless ``force``, or with
        snapshots unless ``cascade``."""
        with self.db.session() as s:
            row = self.volume_row(s, ctx, volume_id, "volume:delete")
            if force:
                self.enforce(ctx, "volume:force_delete", row.project_id)
            snaps = select(Snapshot.id).where(Snapshot.volume_id == row.id)
            where = [Volume.attach_status != "attached", Volume.migration_status.is_(None)
                     | Volume.migration_status.in_(("success", "error", "none"))]
            if not cascade:
                where.append(~exists(snaps))
            elif not force:
                where.append(~exists(snaps.where(Snapshot.status.not_in(
                    ("available", "error")))))
            if not swap(s, Volume, row.id, None if force else DELETABLE,
                        {"status": "deleting", "previous_status": row.status}, *where):
                s.refresh(row)
                refusal = _delete_refusal(row.id)
                if row.attach_status == "attached" or row.status == "in-use":
                    raise VolumeInUse(refusal, id=row.id, state=row.status)
                raise InvalidVolume(refusal, id=row.id, state=row.status)
            # a snapshot made while we swapped (its transaction held the row)
            count = s.scalar(select(func.count()).select_from(Snapshot)
                             .where(Snapshot.volume_id == row.id)) or 0
            if count and not cascade:
                raise InvalidVolume(_delete_refusal(row.id), id=row.id, state=row.status)
            snapshot_ids: builtins.list[str] = []
            if cascade:
                stmt = update(Snapshot).where(Snapshot.volume_id == row.id)
                if not force:
                    stmt = stmt.where(Snapshot.status.in_(("available", "error")))
                s.execute(stmt.values(status="deleting"),
                          execution_options={"synchronize_session": False})
                snapshot_ids = list(s.scalars(snaps))
            backend = backend_of(row.host)
            if backend is None:
                destroy_volume(s, self.quotas, row)
        if backend is not None:
            for snapshot_id in snapshot_ids:
                self.agents.delete_snapshot(backend, snapshot_id)
            self.agents.delete_volume(backend, row.id)

    def extend(self, ctx: RequestContext, volume_id: str, new_size: Any,
               allow_in_use: bool = False) -> Volume:
        """``extending`` (the status it had kept in ``previous_status``) with
        the added GiB reserved; a scheduler checks the pool has room."""
        new = size(new_size, "new_size")
        with self.db.session() as s:
            row = self.volume_row(s, ctx, volume_id, "volume:extend")
            expected = ("available", "in-use") if allow_in_use else ("available",)
            if allow_in_use and row.status == "in-use":
                self.enforce(ctx, "volume:extend_attached_volume", row.project_id)
            if row.status not in expected:
                raise InvalidVolume(f"Volume {row.id} status must be {or_words(expected)} to "
                                    f"extend, but current status is: {row.status}.",
                                    id=row.id, state=row.status)
            if new <= row.size:
                raise InvalidInput("New size for extend must be greater than current size. "
                                   f"(current: {row.size}, extended: {new}).",
                                   param="new_size")
            if row.host is None:
                raise InvalidVolume(f"Volume {row.id} has no host.", id=row.id,
                                    state=row.status)
            self.volume_quotas.check_per_volume(s, row.project_id, new)
            try:
                self.quotas.reserve(s, row.project_id, {"gigabytes": new - row.size})
            except errors.QuotaExceeded as exc:
                raise quota_exceeded(exc) from None
            before = row.status
            if not swap(s, Volume, row.id, [before],
                        {"status": "extending", "previous_status": before},
                        Volume.size == row.size):
                s.refresh(row)
                raise InvalidVolume(f"Volume {row.id} status must be {or_words(expected)} "
                                    f"to extend, but current status is: {row.status}.",
                                    id=row.id, state=row.status)
        self.scheduler.extend_volume(row.id, new)
        return row


def destroy_volume(s: Session, quotas: QuotaService, row: Volume) -> None:
    """The volume's row gone, with its attachments and snapshots, their quota
    released (a volume never placed; the volume manager once the back end
    has deleted one)."""
    snaps = list(s.scalars(select(Snapshot).where(Snapshot.volume_id == row.id)))
    for snap in snaps:
        destroy_snapshot(s, quotas, snap)
    s.execute(delete(VolumeAttachment).where(VolumeAttachment.volume_id == row.id))
    s.flush()
    s.delete(row)
    s.flush()
    # A scheduler may have claimed room for it just before a forced delete of
    # a volume still creating: whoever removes the row gives the room back.
    claims.release_in(s, row.id)
    forget_ec2(s, volume_ids=[row.id])
    quotas.release(s, row.project_id, {"volumes": 1, "gigabytes": row.size})
