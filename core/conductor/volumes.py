"""Attaching and detaching volumes, as Nova's conductor and compute manager do
it over Cinder's attachments API:

- attach (a call from the API, which answers with the device at once): reserve
  the attachment with the server's next device name (volume ``reserved``) and
  cast the server's agent, which connects the volume and reports back;
  ``volume_attached`` then gives the attachment the host's connector and
  completes it (volume ``in-use``). A failed connection deletes the attachment
  (volume ``available`` again).
- detach (cast by the API once the volume is ``detaching``): the agent lets the
  volume go, then ``volume_detached`` deletes the attachment (``available``);
  on a failure the volume goes back to ``in-use`` (``roll_detaching``).
- an instance deleted: every attachment is deleted, and the volumes marked
  ``delete_on_termination`` with it.

Every endpoint is idempotent: a message delivered twice finds the attachment
already made, already completed or already gone, and does nothing twice.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update

from core import errors
from core.compute import block_devices
from core.compute.connector import host_connector
from core.compute.instance_store import InstanceNotFound, instance_message
from core.compute.models import Instance
from core.compute.server_volumes import (
    attachment_message,
    context_from,
    error_message,
)
from core.conductor.tasks import ConductorDeps
from core.context import RequestContext
from core.placement.models import ComputeNode
from core.volume.attachments import LIVE
from core.volume.models import VolumeAttachment

log = logging.getLogger(__name__)


def service_context(project_id: str | None) -> RequestContext:
    """The conductor acting for Nova itself (an admin scoped to the instance's project)."""
    return RequestContext(user_id="nova-conductor", project_id=project_id,
                          roles=("admin", "member", "reader"), is_admin=True)


class VolumeAttachments:
    def __init__(self, deps: ConductorDeps) -> None:
        self.deps = deps

    @property
    def volumes(self) -> Any:
        return self.deps.volumes

    def live(self, instance_uuid: str) -> list[VolumeAttachment]:
        with self.deps.db.session() as s:
            return list(s.scalars(select(VolumeAttachment).where(
                VolumeAttachment.instance_uuid == instance_uuid,
                VolumeAttachment.attach_status.in_(LIVE))
                .order_by(VolumeAttachment.created_at, VolumeAttachment.id)))

    def _attachment(self, attachment_id: str) -> VolumeAttachment | None:
        with self.deps.db.session() as s:
            return s.get(VolumeAttachment, attachment_id)

    # ---- attach -------------------------------------------------------------
    def attach_volume(self, instance_uuid: str, volume_id: str, context: dict,
                      device: str | None = None, tag: str | None = None,
                      delete_on_termination: bool = False,
                      ec2_device: str | None = None) -> dict:
        ctx = context_from(context)
        try:
            inst = self.deps.store.get(instance_uuid)
            row = next((a for a in self.live(instance_uuid) if a.volume_id == volume_id),
                       None)
            if row is None:
                row = self._reserve(ctx, inst, volume_id, device, tag,
                                    delete_on_termination, ec2_device)
            # else: the same request again (redelivered): its attachment, as it is
        except (errors.NotFound, errors.InvalidInput, errors.Conflict) as exc:
            return {"ok": False, **error_message(exc)}
        if row.attach_status == "reserved" and inst.host:
            self.deps.agents.attach_volume(inst.host, instance_message(inst),
                                           attachment_message(row))
        return {"ok": True, "attachment": attachment_message(row)}

    def _reserve(self, ctx: RequestContext, inst: Instance, volume_id: str,
                 device: str | None, tag: str | None, delete_on_termination: bool,
                 ec2_device: str | None) -> VolumeAttachment:
        block_devices.check_requested(device)  # asked for, and then ignored (libvirt)
        name = block_devices.next_device_name(a.mountpoint for a in self.live(inst.uuid))
        row = self.volumes.attachments.create(
            ctx, volume_id, inst.uuid, device=name, tag=tag,
            delete_on_termination=delete_on_termination, ec2_device=ec2_device)
        return self.settle_device(inst.uuid, row)

    def settle_device(self, instance_uuid: str, row: VolumeAttachment) -> VolumeAttachment:
        """Two attaches to one server at once may pick the same name: the later
        attachment (by creation, then id) moves to the next free one."""
        for _ in range(26):
            live = self.live(instance_uuid)
            ours = next((a for a in live if a.id == row.id), row)
            earlier = [a for a in live if a.id != row.id and
                       (a.created_at, a.id) < (ours.created_at, ours.id)]
            if ours.mountpoint not in {a.mountpoint for a in earlier}:
                return ours
            name = block_devices.next_device_name(a.mountpoint for a in earlier)
            with self.deps.db.session() as s:
                s.execute(update(VolumeAttachment).where(VolumeAttachment.id == row.id)
                          .values(mountpoint=name))
        return self._attachment(row.id) or row

    def volume_attached(self, instance_uuid: str, attachment_id: str, host: str,
                        connector: dict, error: str | None = None) -> dict:
        """The agent connected the volume (or failed to): complete the attachment
        (volume ``in-use``) or delete it (``available``)."""
        row = self._attachment(attachment_id)
        if row is None or row.attach_status not in LIVE:
            return {"ok": False, "gone": True}
        ctx = service_context(row.project_id or None)
        attachments = self.volumes.attachments
        try:
            inst = self.deps.store.get(instance_uuid)
        except InstanceNotFound:
            inst = None
        if error or inst is None or inst.task_state == "deleting":
            self._delete_attachment(ctx, attachment_id)
            return {"ok": False, "deleted": inst is None, "error": error}
        if row.attach_status == "attached":
            return {"ok": True, "repeated": True}
        if row.attach_status == "reserved":
            attachments.update(ctx, attachment_id, connector)
        attachments.complete(ctx, attachment_id)
        return {"ok": True}

    # ---- detach -------------------------------------------------------------
    def detach_volume(self, instance_uuid: str, attachment_id: str) -> None:
        row = self._attachment(attachment_id)
        if row is None or row.attach_status not in LIVE:
            return
        ctx = service_context(row.project_id or None)
        try:
            inst = self.deps.store.get(instance_uuid)
        except InstanceNotFound:
            self._delete_attachment(ctx, attachment_id)
            return
        if inst.host:
            self.deps.agents.detach_volume(inst.host, instance_message(inst),
                                           attachment_message(row))
        else:  # no host holds it (shelved offloaded): nothing to disconnect
            self._delete_attachment(ctx, attachment_id)

    def volume_detached(self, instance_uuid: str, attachment_id: str, host: str,
                        error: str | None = None) -> dict:
        row = self._attachment(attachment_id)
        if row is None or row.attach_status not in LIVE:
            return {"ok": True, "repeated": True}
        ctx = service_context(row.project_id or None)
        if error:
            try:
                self.volumes.attachments.roll_detaching(ctx, row.volume_id)
            except errors.CoreError as exc:
                log.warning("rolling back the detach of %s failed: %s", row.volume_id, exc)
            return {"ok": False, "error": error}
        self._delete_attachment(ctx, attachment_id)
        return {"ok": True}

    def _delete_attachment(self, ctx: RequestContext, attachment_id: str) -> None:
        try:
            self.volumes.attachments.delete(ctx, attachment_id)
        except errors.NotFound:
            pass  # deleted already: a repeated message

    # ---- a server moved ------------------------------------------------------------
    def rehome(self, instance_uuid: str, host: str) -> None:
        """The server runs on ``host`` now: its attached volumes are connected
        there (each attachment gets the host's connector). Repeating it is harmless."""
        if self.volumes is None:
            return
        with self.deps.db.session() as s:
            ip = s.scalar(select(ComputeNode.host_ip).where(ComputeNode.host == host))
        for row in self.live(instance_uuid):
            if row.attach_status != "attached" or row.attached_host == host:
                continue
            try:
                self.volumes.attachments.rehome(
                    service_context(row.project_id or None), row.id,
                    host_connector(host, ip or "127.0.0.1", row.mountpoint, row.attach_mode))
            except errors.CoreError as exc:
                log.warning("moving attachment %s of %s to %s failed: %s", row.id,
                            instance_uuid, host, exc)

    # ---- an instance deleted ---------------------------------------------------
    def release_instance_volumes(self, instance_uuid: str, project_id: str | None) -> None:
        """Detach every volume of the instance, and delete those marked
        ``delete_on_termination`` (the guest is gone: no agent is asked)."""
        if self.volumes is None:
            return
        ctx = service_context(project_id)
        for row in self.live(instance_uuid):
            self._delete_attachment(ctx, row.id)
            if row.delete_on_termination:
                try:
                    self.volumes.volumes.delete(ctx, row.volume_id)
                except errors.NotFound:
                    pass
                except errors.CoreError as exc:
                    log.warning("deleting volume %s of instance %s failed: %s",
                                row.volume_id, instance_uuid, exc)
