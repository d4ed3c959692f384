"""Attachments of volumes to servers, Cinder's attachments API (3.27: create
reserves, update connects, complete marks attached, delete detaches) and the
legacy volume actions (``os-reserve`` ... ``os-detach``) over the same rows.

Every status change of a volume is a compare-and-swap on the statuses it is
expected in, so two attaches of one volume (not multiattach) never both win:
the second finds the volume ``reserved`` and gets VolumeInUse (400).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from core.context import RequestContext
from core.db.base import utcnow
from core.volume import listing
from core.volume.base import VolumeBase, swap
from core.volume.errors import (
    AttachmentNotFound,
    InvalidAttachment,
    InvalidInput,
    InvalidVolume,
    VolumeInUse,
)
from core.volume.models import Volume, VolumeAttachment
from core.volume.rpcapi import backend_of, pool_of

# Volume statuses an attach holds the volume in.
ATTACHED_STATES = ("reserved", "attaching", "in-use", "detaching")
# Statuses a detach may return from (an attach that failed half-way, too).
DETACHABLE = (*ATTACHED_STATES, "error_attaching", "error_detaching", "available")
LIVE = ("reserved", "attaching", "attached", "detaching")
COLUMNS = listing.Columns.of(
    VolumeAttachment, public=("volume_id", "status", "instance_id", "attach_status"),
    texts=("id", "volume_id", "project_id", "instance_uuid", "attach_status",
           "attached_host", "mountpoint", "attach_mode"),
    instance_id="instance_uuid", status="attach_status")


def connection_info(volume: Volume, attachment: VolumeAttachment) -> dict[str, Any]:
    """What the simulated back end exports a volume as (an iSCSI-like target
    named after the volume, on its back end and pool)."""
    return {"driver_volume_type": "iscsi",
            "data": {"target_discovered": False, "target_portal": f"{backend_of(volume.host)}",
                     "target_iqn": f"iqn.2010-10.org.openstack:volume-{volume.id}",
                     "target_lun": 0, "volume_id": volume.id, "pool": pool_of(volume.host),
                     "attachment_id": attachment.id, "access_mode": attachment.attach_mode,
                     "encrypted": False, "qos_specs": None, "discard": False}}


class AttachmentService(VolumeBase):
    # ---- reading ---------------------------------------------------------------------
    def _row(self, s: Session, ctx: RequestContext, attachment_id: str, rule: str | None
             ) -> VolumeAttachment:
        att = s.scalar(select(VolumeAttachment).where(
            VolumeAttachment.id == str(attachment_id), self.visible(ctx, VolumeAttachment)))
        if att is None:
            raise AttachmentNotFound(str(attachment_id))
        if rule is not None:
            self.enforce(ctx, rule, att.project_id)
        return att

    def get(self, ctx: RequestContext, attachment_id: str) -> VolumeAttachment:
        with self.db.session() as s:
            return self._row(s, ctx, attachment_id, "volume:get")

    def list(self, ctx: RequestContext, *, filters: Mapping[str, Any] | None = None,
             sort: Sequence[Any] | None = None, limit: int | None = None,
             marker: str | None = None, offset: int | None = None,
             all_tenants: bool = False, project_id: str | None = None
             ) -> builtins.list[VolumeAttachment]:
        """The caller's project's attachments (filters ``volume_id``, ``status``,
        ``instance_id``, ``attach_status``)."""
        self.enforce(ctx, "volume:get_all", ctx.project_id)
        scope: Any = None
        if not (ctx.is_admin and all_tenants):
            scope = VolumeAttachment.project_id == (project_id if ctx.is_admin and project_id
                                                    else ctx.project_id or "")
        elif project_id:
            scope = VolumeAttachment.project_id == project_id
        stmt = select(VolumeAttachment)
        if scope is not None:
            stmt = stmt.where(scope)
        stmt, _ = listing.apply_filters(stmt, COLUMNS, dict(filters or {}), ctx.is_admin)
        query = listing.ListQuery(filters={}, sort=listing.sort_keys(sort), limit=limit,
                                  marker=marker, offset=offset)
        with self.db.session() as s:
            return listing.page(s, stmt, COLUMNS, query, None, visible=scope)

    # ---- the attachments API ---------------------------------------------------------
    def create(self, ctx: RequestContext, volume_id: str, instance_uuid: str | None, *,
               connector: Mapping[str, Any] | None = None, mode: str = "rw",
               device: str | None = None, delete_on_termination: bool = False,
               tag: str | None = None, ec2_device: str | None = None,
               boot_index: int | None = None) -> VolumeAttachment:
        """Reserve the volume for ``instance_uuid``: volume and attachment
        ``reserved`` (with ``connector``, connected at once: ``attaching``).
        The volume must be ``available`` (or attached already, if multiattach);
        reserving again for the same server gives its attachment back."""
        if mode not in ("rw", "ro"):
            raise InvalidInput(f"Invalid attach mode '{mode}': must be 'rw' or 'ro'.",
                               param="mode")
        with self.db.session() as s:
            vol = self.volume_row(s, ctx, volume_id, rule=None)
            self.enforce(ctx, "volume:attachment_create", vol.project_id)
            if vol.readonly:
                mode = "ro"
            expected = ("available", *ATTACHED_STATES) if vol.multiattach else ("available",)
            if not swap(s, Volume, vol.id, expected, {"status": "reserved"}
                        if vol.status == "available" else {}):
                s.refresh(vol)
                mine = self._live_of(s, vol.id, instance_uuid) if instance_uuid else None
                if mine is not None:
                    return mine
                self._refuse(vol, expected)
            att = VolumeAttachment(volume_id=vol.id, project_id=vol.project_id,
                                   instance_uuid=instance_uuid, attach_status="reserved",
                                   attach_mode=mode, mountpoint=device,
                                   delete_on_termination=bool(delete_on_termination),
                                   tag=tag, ec2_device=ec2_device, boot_index=boot_index)
            s.add(att)
            s.flush()
            if connector is not None:
                self._connect(s, vol, att, connector)
            return att

    @staticmethod
    def _refuse(vol: Volume, expected: Sequence[str]) -> None:
        message = f"Volume {vol.id} status must be {' or '.join(expected)}"
        if vol.status in ATTACHED_STATES or vol.attach_status == "attached":
            raise VolumeInUse(message, id=vol.id, state=vol.status)
        raise InvalidVolume(message, id=vol.id, state=vol.status)

    @staticmethod
    def _live_of(s: Session, volume_id: str, instance_uuid: str) -> VolumeAttachment | None:
        return s.scalar(select(VolumeAttachment).where(
            VolumeAttachment.volume_id == volume_id,
            VolumeAttachment.instance_uuid == instance_uuid,
            VolumeAttachment.attach_status.in_(LIVE)).order_by(VolumeAttachment.created_at))

    def _connect(self, s: Session, vol: Volume, att: VolumeAttachment,
                 connector: Mapping[str, Any]) -> None:
        if not isinstance(connector, Mapping):
            raise InvalidInput("connector must be a dictionary.", param="connector")
        values: dict[str, Any] = {
            "attach_status": "attaching", "connector": dict(connector),
            "attached_host": connector.get("host") or att.attached_host,
            "mountpoint": connector.get("mountpoint") or att.mountpoint,
            "attach_mode": "ro" if vol.readonly else (connector.get("mode")
                                                      or att.attach_mode)}
        info = connection_info(vol, att)
        info["data"]["access_mode"] = values["attach_mode"]
        values["connection_info"] = info
        if not swap_attachment(s, att.id, ("reserved", "attaching"), values):
            s.refresh(att)
            raise InvalidAttachment(f"Attachment {att.id} status is {att.attach_status}; it "
                                    "may not be connected again.", id=att.id)
        swap(s, Volume, vol.id, ("reserved", "attaching"),
             {"status": "attaching", "attach_status": "attaching"})
        s.refresh(att)

    def update(self, ctx: RequestContext, attachment_id: str,
               connector: Mapping[str, Any]) -> VolumeAttachment:
        """Connect: ``attaching`` with its ``connection_info``."""
        with self.db.session() as s:
            att = self._row(s, ctx, attachment_id, "volume:attachment_update")
            vol = s.get(Volume, att.volume_id)
            assert vol is not None
            if vol.status.startswith("error"):
                raise InvalidVolume(f"Volume {vol.id} status is {vol.status}.", id=vol.id,
                                    state=vol.status)
            self._connect(s, vol, att, connector)
            return att

    def rehome(self, ctx: RequestContext, attachment_id: str,
               connector: Mapping[str, Any]) -> None:
        """The server moved (resize, migration, evacuation): an attached volume's
        connector and host become the destination's, as Nova's new attachment for
        the destination replaces the source's. Nothing else changes: the volume
        stays ``in-use``, so no other server can take it meanwhile."""
        with self.db.session() as s:
            att = self._row(s, ctx, attachment_id, "volume:attachment_update")
            s.execute(update(VolumeAttachment).where(
                VolumeAttachment.id == att.id, VolumeAttachment.attach_status == "attached")
                .values(connector=dict(connector), attached_host=connector.get("host"),
                        updated_at=utcnow()))

    def set_delete_on_termination(self, attachment_id: str, value: bool) -> None:
        """Nova's block device mapping field (compute's PUT on the attachment, 2.85):
        whether the volume goes with the server. Compute checked its caller."""
        with self.db.session() as s:
            s.execute(update(VolumeAttachment).where(VolumeAttachment.id == attachment_id)
                      .values(delete_on_termination=bool(value), updated_at=utcnow()))

    def complete(self, ctx: RequestContext, attachment_id: str) -> VolumeAttachment:
        """The server has it: attachment ``attached``, volume ``in-use``."""
        with self.db.session() as s:
            att = self._row(s, ctx, attachment_id, "volume:attachment_complete")
            if att.attach_status == "attached":
                return att
            if not swap_attachment(s, att.id, ("reserved", "attaching"),
                                   {"attach_status": "attached", "attached_at": utcnow()}):
                s.refresh(att)
                raise InvalidAttachment(f"Attachment {att.id} status is {att.attach_status}; "
                                        "it cannot be completed.", id=att.id)
            if not swap(s, Volume, att.volume_id, ATTACHED_STATES,
                        {"status": "in-use", "attach_status": "attached"}):
                vol = s.get(Volume, att.volume_id)
                raise InvalidVolume(f"Volume {att.volume_id} status must be "
                                    f"{' or '.join(ATTACHED_STATES)}.", id=att.volume_id,
                                    state=vol.status if vol else None)
            s.refresh(att)
            return att

    def delete(self, ctx: RequestContext, attachment_id: str) -> builtins.list[VolumeAttachment]:
        """Detach: the attachment goes; the volume is ``available`` again unless
        other attachments hold it. The volume's remaining attachments."""
        with self.db.session() as s:
            att = self._row(s, ctx, attachment_id, "volume:attachment_delete")
            return self._detach(s, att)

    def _detach(self, s: Session, att: VolumeAttachment) -> builtins.list[VolumeAttachment]:
        result = s.execute(delete(VolumeAttachment).where(VolumeAttachment.id == att.id),
                           execution_options={"synchronize_session": False})
        if not (isinstance(result, CursorResult) and result.rowcount == 1):
            raise AttachmentNotFound(att.id)  # a concurrent detach took it
        s.expunge(att)
        remaining = list(s.scalars(select(VolumeAttachment).where(
            VolumeAttachment.volume_id == att.volume_id,
            VolumeAttachment.attach_status.in_(LIVE)).order_by(VolumeAttachment.created_at)))
        if any(r.attach_status == "attached" for r in remaining):
            values = {"status": "in-use", "attach_status": "attached"}
        elif remaining:
            values = {"status": "reserved", "attach_status": "reserved"}
        else:
            values = {"status": "available", "attach_status": "detached"}
        swap(s, Volume, att.volume_id, DETACHABLE, values)
        return remaining

    # ---- legacy volume actions -------------------------------------------------------
    def reserve(self, ctx: RequestContext, volume_id: str) -> None:
        """``os-reserve``: available → attaching."""
        with self.db.session() as s:
            vol = self.volume_row(s, ctx, volume_id,
                                  "volume_extension:volume_actions:reserve")
            expected = ("available", "in-use") if vol.multiattach else ("available",)
            if not swap(s, Volume, vol.id, expected, {"status": "attaching"}):
                s.refresh(vol)
                self._refuse(vol, expected)

    def unreserve(self, ctx: RequestContext, volume_id: str) -> None:
        """``os-unreserve``: attaching → available (in-use if attached elsewhere)."""
        with self.db.session() as s:
            vol = self.volume_row(s, ctx, volume_id,
                                  "volume_extension:volume_actions:unreserve")
            attached = s.scalar(select(VolumeAttachment.id).where(
                VolumeAttachment.volume_id == vol.id,
                VolumeAttachment.attach_status == "attached").limit(1))
            swap(s, Volume, vol.id, ("attaching",),
                 {"status": "in-use" if attached else "available"})

    def attach(self, ctx: RequestContext, volume_id: str, instance_uuid: str | None,
               mountpoint: str | None = None, mode: str = "rw",
               host_name: str | None = None) -> VolumeAttachment:
        """``os-attach``: the volume ``in-use``, attached to the server."""
        if mode not in ("rw", "ro"):
            raise InvalidInput(f"Invalid attach mode '{mode}'.", param="mode")
        with self.db.session() as s:
            vol = self.volume_row(s, ctx, volume_id, "volume_extension:volume_actions:attach")
            if vol.readonly and mode == "rw":
                raise InvalidVolume(f"Invalid attaching mode '{mode}' for volume {vol.id}.",
                                    id=vol.id, state=vol.status)
            expected = ("available", "attaching", "reserved", "in-use") if vol.multiattach \
                else ("available", "attaching", "reserved")
            if not swap(s, Volume, vol.id, expected,
                        {"status": "in-use", "attach_status": "attached"}):
                s.refresh(vol)
                self._refuse(vol, expected)
            att = (self._live_of(s, vol.id, instance_uuid) if instance_uuid else None) \
                or VolumeAttachment(volume_id=vol.id, project_id=vol.project_id,
                                    instance_uuid=instance_uuid)
            att.attach_status, att.attach_mode = "attached", mode
            att.mountpoint, att.attached_host = mountpoint, host_name
            att.attached_at = utcnow()
            s.add(att)
            s.flush()
            return att

    def begin_detaching(self, ctx: RequestContext, volume_id: str) -> None:
        """in-use (attached) → detaching."""
        with self.db.session() as s:
            vol = self.volume_row(s, ctx, volume_id,
                                  "volume_extension:volume_actions:begin_detaching")
            if not swap(s, Volume, vol.id, ("in-use",), {"status": "detaching"},
                        Volume.attach_status == "attached"):
                s.refresh(vol)
                raise InvalidVolume("Unable to detach volume. Volume status must be 'in-use' "
                                    "and attach_status must be 'attached' to detach.",
                                    id=vol.id, state=vol.status)

    def roll_detaching(self, ctx: RequestContext, volume_id: str) -> None:
        """detaching → in-use (a detach given up)."""
        with self.db.session() as s:
            vol = self.volume_row(s, ctx, volume_id,
                                  "volume_extension:volume_actions:roll_detaching")
            swap(s, Volume, vol.id, ("detaching",), {"status": "in-use"})

    def detach(self, ctx: RequestContext, volume_id: str,
               attachment_id: str | None = None) -> builtins.list[VolumeAttachment]:
        """``os-detach``: the attachment (the only one, if not named) goes."""
        with self.db.session() as s:
            vol = self.volume_row(s, ctx, volume_id, "volume_extension:volume_actions:detach")
            return self._detach(s, self._one(s, vol, attachment_id))

    @staticmethod
    def _one(s: Session, vol: Volume, attachment_id: str | None) -> VolumeAttachment:
        stmt = select(VolumeAttachment).where(VolumeAttachment.volume_id == vol.id)
        if attachment_id:
            att = s.scalar(stmt.where(VolumeAttachment.id == attachment_id))
            if att is None:
                raise AttachmentNotFound(attachment_id)
            return att
        atts = list(s.scalars(stmt))
        if len(atts) != 1:
            raise InvalidVolume(f"Volume {vol.id} has {len(atts)} attachments; name the one "
                                "to detach (attachment_id).", id=vol.id, state=vol.status)
        return atts[0]

    def force_detach(self, ctx: RequestContext, volume_id: str,
                     attachment_id: str | None = None) -> None:
        """Admins: the attachment (every one, if not named) goes, whatever its state."""
        with self.db.session() as s:
            vol = self.volume_row(s, ctx, volume_id,
                                  "volume_extension:volume_admin_actions:force_detach")
            atts = ([self._one(s, vol, attachment_id)] if attachment_id else
                    list(s.scalars(select(VolumeAttachment)
                                   .where(VolumeAttachment.volume_id == vol.id))))
            for att in atts:
                self._detach(s, att)
            if not atts:
                swap(s, Volume, vol.id, DETACHABLE,
                     {"status": "available", "attach_status": "detached"})

    def initialize_connection(self, ctx: RequestContext, volume_id: str,
                              connector: Mapping[str, Any]) -> dict[str, Any]:
        """``os-initialize_connection``: how to reach the volume."""
        if not isinstance(connector, Mapping):
            raise InvalidInput("connector must be a dictionary.", param="connector")
        with self.db.session() as s:
            vol = self.volume_row(s, ctx, volume_id,
                                  "volume_extension:volume_actions:initialize_connection")
            if vol.host is None:
                raise InvalidVolume(f"Volume {vol.id} has no host.", id=vol.id,
                                    state=vol.status)
            probe = VolumeAttachment(id="", volume_id=vol.id,
                                     attach_mode="ro" if vol.readonly else "rw")
            return connection_info(vol, probe)

    def terminate_connection(self, ctx: RequestContext, volume_id: str,
                             connector: Mapping[str, Any] | None = None) -> None:
        """``os-terminate_connection``: nothing is kept per connection."""
        with self.db.session() as s:
            self.volume_row(s, ctx, volume_id,
                            "volume_extension:volume_actions:terminate_connection")


def swap_attachment(s: Session, attachment_id: str, expected: Sequence[str],
                    values: Mapping[str, Any]) -> bool:
    """An attachment's compare-and-swap on its ``attach_status``."""
    result = s.execute(update(VolumeAttachment).where(
        VolumeAttachment.id == attachment_id,
        VolumeAttachment.attach_status.in_(list(expected)))
        .values(updated_at=utcnow(), **values),
        execution_options={"synchronize_session": False})
    return isinstance(result, CursorResult) and result.rowcount == 1
