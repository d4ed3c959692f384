"""A volume's metadata, flags and admin actions, and what Nova reads of the
volumes attached to its servers (mixed into :class:`VolumeService`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select

from core.context import RequestContext
from core.db.base import utcnow
from core.volume.base import metadata as clean_metadata
from core.volume.errors import InvalidInput, InvalidVolume, VolumeMetadataNotFound
from core.volume.models import Volume, VolumeAttachment, VolumeType

# What os-reset_status accepts (Cinder's VolumeStatus and VolumeAttachStatus).
STATUSES = ("creating", "available", "reserved", "attaching", "in-use", "detaching",
            "deleting", "error", "error_deleting", "extending", "error_extending",
            "maintenance", "retyping", "downloading", "uploading", "backing-up",
            "error_backing-up", "restoring-backup", "error_restoring", "awaiting-transfer",
            "managing", "error_managing")
ATTACH_STATUSES = ("attached", "detached")
# Attachments Nova's views count (a reserved one is its block device mapping already).
LIVE_ATTACHMENTS = ("reserved", "attaching", "attached", "detaching")


class VolumeActions:
    db: Any
    volume_row: Any
    enforce: Any
    delete: Any

    # ---- metadata --------------------------------------------------------------------
    def metadata(self, ctx: RequestContext, volume_id: str) -> dict[str, str]:
        with self.db.session() as s:
            row = self.volume_row(s, ctx, volume_id, "volume:get_volume_metadata")
            return dict(row.metadata_ or {})

    def set_metadata(self, ctx: RequestContext, volume_id: str, md: Mapping[str, Any],
                     replace: bool = False) -> dict[str, str]:
        """Merge ``md`` into the volume's metadata (``replace``: instead of it);
        the metadata after."""
        rule = "volume:update_volume_metadata" if replace else "volume:create_volume_metadata"
        given = clean_metadata(md)
        with self.db.session() as s:
            row = self.volume_row(s, ctx, volume_id, rule, lock=True)
            self._changeable(row)
            row.metadata_ = given if replace else {**(row.metadata_ or {}), **given}
            row.updated_at = utcnow()
            return dict(row.metadata_)

    def delete_metadata_key(self, ctx: RequestContext, volume_id: str, key: str) -> None:
        with self.db.session() as s:
            row = self.volume_row(s, ctx, volume_id, "volume:delete_volume_metadata",
                                  lock=True)
            self._changeable(row)
            md = dict(row.metadata_ or {})
            if key not in md:
                raise VolumeMetadataNotFound(row.id, key)
            del md[key]
            row.metadata_ = md
            row.updated_at = utcnow()

    @staticmethod
    def _changeable(row: Volume) -> None:
        if row.status in ("maintenance", "uploading"):
            raise InvalidVolume(f"Volume {row.id} status must not be {row.status} to change "
                                "its metadata.", id=row.id, state=row.status)

    # ---- flags -----------------------------------------------------------------------
    def set_bootable(self, ctx: RequestContext, volume_id: str, bootable: bool) -> Volume:
        with self.db.session() as s:
            row = self.volume_row(s, ctx, volume_id, "volume:update", lock=True)
            row.bootable = bool(bootable)
            row.updated_at = utcnow()
            return row

    def update_readonly(self, ctx: RequestContext, volume_id: str, readonly: bool) -> Volume:
        with self.db.session() as s:
            row = self.volume_row(s, ctx, volume_id, "volume:update_readonly_flag", lock=True)
            if row.status != "available":
                raise InvalidVolume(f"Volume {row.id} status must be available to update "
                                    "readonly flag, but current status is: "
                                    f"{row.status}.", id=row.id, state=row.status)
            row.readonly = bool(readonly)
            row.updated_at = utcnow()
            return row

    # ---- admin actions ---------------------------------------------------------------
    def reset_status(self, ctx: RequestContext, volume_id: str, status: str | None = None,
                     attach_status: str | None = None,
                     migration_status: str | None = None) -> Volume:
        """Set the statuses given, whatever they were (admins). Resetting
        ``attach_status`` to ``detached`` drops the volume's attachments."""
        if status is None and attach_status is None and migration_status is None:
            raise InvalidInput("Must specify 'status', 'attach_status' or "
                               "'migration_status' for update.", param="status")
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"Invalid status: {status}", param="status")
        if attach_status is not None and attach_status not in ATTACH_STATUSES:
            raise InvalidInput(f"Invalid attach status: {attach_status}",
                               param="attach_status")
        with self.db.session() as s:
            row = self.volume_row(s, ctx, volume_id,
                                  "volume_extension:volume_admin_actions:reset_status",
                                  lock=True)
            if status is not None:
                row.status = status
            if attach_status is not None:
                row.attach_status = attach_status
                if attach_status == "detached":
                    s.execute(delete(VolumeAttachment).where(
                        VolumeAttachment.volume_id == row.id))
            if migration_status is not None:
                row.migration_status = None if migration_status == "none" else migration_status
            row.updated_at = utcnow()
            return row

    def force_delete(self, ctx: RequestContext, volume_id: str) -> None:
        """Delete whatever the status (admins); still refused while attached."""
        with self.db.session() as s:
            self.volume_row(s, ctx, volume_id,
                            "volume_extension:volume_admin_actions:force_delete")
        self.delete(ctx, volume_id, cascade=False, force=True)

    # ---- what Nova and the views read ------------------------------------------------
    def attachments_of_instance(self, instance_uuid: str) -> list[VolumeAttachment]:
        """The attachments of a server (any state but detached), oldest first."""
        with self.db.session() as s:
            return list(s.scalars(select(VolumeAttachment).where(
                VolumeAttachment.instance_uuid == instance_uuid,
                VolumeAttachment.attach_status.in_(LIVE_ATTACHMENTS))
                .order_by(VolumeAttachment.created_at, VolumeAttachment.id)))

    def volumes_attached(self, instance_uuids: Sequence[str]
                         ) -> dict[str, list[tuple[str, bool]]]:
        """``{server: [(volume_id, delete_on_termination)]}`` for many servers in
        one query (Nova's ``os-extended-volumes:volumes_attached``); a server
        with none is absent."""
        out: dict[str, list[tuple[str, bool]]] = defaultdict(list)
        wanted = list(dict.fromkeys(instance_uuids))
        with self.db.session() as s:
            for start in range(0, len(wanted), 500):
                for uuid, volume_id, dot in s.execute(
                        select(VolumeAttachment.instance_uuid, VolumeAttachment.volume_id,
                               VolumeAttachment.delete_on_termination)
                        .where(VolumeAttachment.instance_uuid.in_(wanted[start:start + 500]),
                               VolumeAttachment.attach_status.in_(LIVE_ATTACHMENTS))
                        .order_by(VolumeAttachment.created_at, VolumeAttachment.id)):
                    out[uuid].append((volume_id, bool(dot)))
        return dict(out)

    def attachments_for(self, volume_ids: Sequence[str], attached_only: bool = True
                        ) -> dict[str, list[VolumeAttachment]]:
        """The attachments of many volumes (Cinder's views list only the
        ``attached`` ones), for the volume views."""
        out: dict[str, list[VolumeAttachment]] = defaultdict(list)
        wanted = list(dict.fromkeys(volume_ids))
        with self.db.session() as s:
            for start in range(0, len(wanted), 500):
                stmt = select(VolumeAttachment).where(
                    VolumeAttachment.volume_id.in_(wanted[start:start + 500]))
                if attached_only:
                    stmt = stmt.where(VolumeAttachment.attach_status == "attached")
                for att in s.scalars(stmt.order_by(VolumeAttachment.created_at,
                                                   VolumeAttachment.id)):
                    out[att.volume_id].append(att)
        return dict(out)

    def type_names(self, volumes: Sequence[Volume]) -> dict[str, str]:
        """``{volume_type_id: name}`` of the volumes' types (for views)."""
        ids = list({v.volume_type_id for v in volumes})
        if not ids:
            return {}
        with self.db.session() as s:
            return dict(s.execute(select(VolumeType.id, VolumeType.name)
                                  .where(VolumeType.id.in_(ids))).tuples().all())
