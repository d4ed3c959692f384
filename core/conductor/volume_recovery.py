"""Attaches and detaches left half-way by a crash or a lost message.

An attach is a reservation (volume ``reserved``), a cast to the server's host,
and the host's report that completes it; a detach is ``detaching``, a cast, and
the report that deletes the attachment. A compute agent or a conductor killed
in between, or a message lost with the in-memory bus, leaves the volume in its
transient status for good. Every conductor's periodic watch (with the build
recovery) therefore looks for attachments ``reserved``/``attaching`` and volumes
``detaching`` unchanged for ``volume_attach_timeout`` seconds and:

- attach: the server is on a host that is up → the attach is sent to the host
  again (the driver and ``volume_attached`` are idempotent: a connection made
  already is reported again and completed once); the server is gone, being
  deleted, has no host, or its host is down → the attachment is deleted (volume
  ``available``);
- detach: the server's host is up → the detach is sent again (idempotent too);
  the server is gone or has no host → the attachment is deleted (``available``:
  nothing holds it); its host is down, or which attachment was being detached
  cannot be told → back to ``in-use`` (``roll_detaching``).

Each stuck row is first "touched" with a compare-and-swap on the time it was
last changed, so conductors checking at once act on it once, and a re-sent
message gets a whole timeout to be answered. Attachments of no server known to
Nova (made through the block-storage API alone, where ``reserved`` may be a
resting state), those of servers still building (their build owns them) and
those of shelved offloaded servers (reserved until an unshelve) are left alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, func, select, update

from core import errors
from core.clock import utcnow
from core.compute import states
from core.compute.hosts import COMPUTE_BINARY, service_is_up
from core.compute.instance_store import InstanceNotFound, instance_message
from core.compute.models import ComputeService, Instance
from core.compute.server_volumes import attachment_message
from core.conductor.tasks import ConductorDeps
from core.conductor.volumes import service_context
from core.volume.models import Volume, VolumeAttachment

log = logging.getLogger(__name__)

ATTACHING = ("reserved", "attaching")
# Servers whose reserved attachments wait, rightly, for a flow to connect them:
# a build, and an unshelve (Nova attaches to a shelved offloaded server so).
OWNED = (states.BUILDING, "shelved_offloaded")


@dataclass
class Recovered:
    """What one pass did: attachment ids (attach) and volume ids (detach)."""

    attach_resent: list[str] = field(default_factory=list)
    attach_rolled_back: list[str] = field(default_factory=list)
    detach_resent: list[str] = field(default_factory=list)
    detach_finished: list[str] = field(default_factory=list)
    detach_rolled_back: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any((self.attach_resent, self.attach_rolled_back, self.detach_resent,
                    self.detach_finished, self.detach_rolled_back))


class AttachmentRecovery:
    def __init__(self, deps: ConductorDeps) -> None:
        self.deps = deps

    # ---- the pass ------------------------------------------------------------------
    def recover(self, older_than: float) -> Recovered:
        """Drive forward or roll back what has been stuck for ``older_than`` seconds."""
        done = Recovered()
        if self.deps.volumes is None:
            return done
        cutoff = utcnow() - timedelta(seconds=older_than)
        for attachment_id in self._stuck_attaches(cutoff):
            self._attach(attachment_id, cutoff, done)
        for volume_id in self._stuck_detaches(cutoff):
            self._detach(volume_id, cutoff, done)
        if done:
            log.warning("stuck volume attachments: %d attaches sent again, %d rolled back; "
                        "%d detaches sent again, %d finished, %d rolled back to in-use",
                        len(done.attach_resent), len(done.attach_rolled_back),
                        len(done.detach_resent), len(done.detach_finished),
                        len(done.detach_rolled_back))
        return done

    def _stuck_attaches(self, cutoff: datetime) -> list[str]:
        since = func.coalesce(VolumeAttachment.updated_at, VolumeAttachment.created_at)
        with self.deps.db.session() as s:
            return list(s.scalars(select(VolumeAttachment.id).where(
                VolumeAttachment.attach_status.in_(ATTACHING),
                VolumeAttachment.instance_uuid.is_not(None), since <= cutoff)
                .order_by(since).limit(200)))

    def _stuck_detaches(self, cutoff: datetime) -> list[str]:
        since = func.coalesce(Volume.updated_at, Volume.created_at)
        with self.deps.db.session() as s:
            return list(s.scalars(select(Volume.id).where(
                Volume.status == "detaching", since <= cutoff).order_by(since).limit(200)))

    # ---- one attach ----------------------------------------------------------------
    def _attach(self, attachment_id: str, cutoff: datetime, done: Recovered) -> None:
        with self.deps.db.session() as s:
            row = s.get(VolumeAttachment, attachment_id)
            if row is None or not row.instance_uuid:
                return
            inst = s.scalar(select(Instance).where(Instance.uuid == row.instance_uuid))
            if inst is None or (not inst.deleted and inst.vm_state in OWNED):
                return  # not Nova's; or its build, or its unshelve, connects it
            if not _touch(s, VolumeAttachment, attachment_id, cutoff,
                          VolumeAttachment.attach_status.in_(ATTACHING)):
                return  # moved meanwhile, or another conductor took it
            s.refresh(row)
            message = attachment_message(row)
        if inst.host and self._host_up(inst):
            self.deps.agents.attach_volume(inst.host, instance_message(inst), message)
            done.attach_resent.append(attachment_id)
            return
        self._delete(service_context(row.project_id or None), attachment_id)
        done.attach_rolled_back.append(attachment_id)
        log.warning("attach of volume %s to instance %s given up: %s", row.volume_id,
                    inst.uuid, self._why_not(inst))

    # ---- one detach ----------------------------------------------------------------
    def _detach(self, volume_id: str, cutoff: datetime, done: Recovered) -> None:
        with self.deps.db.session() as s:
            vol = s.get(Volume, volume_id)
            if vol is None or not _touch(s, Volume, volume_id, cutoff,
                                         Volume.status == "detaching"):
                return
            rows = list(s.scalars(select(VolumeAttachment).where(
                VolumeAttachment.volume_id == volume_id,
                VolumeAttachment.attach_status == "attached")))
            inst = (s.scalar(select(Instance).where(Instance.uuid == rows[0].instance_uuid))
                    if len(rows) == 1 and rows[0].instance_uuid else None)
            project = vol.project_id or None
        ctx = service_context(project)
        attachments = self.deps.volumes.attachments
        try:
            if inst is None:  # none or several attached, or not Nova's: which one?
                if rows:
                    attachments.roll_detaching(ctx, volume_id)
                    done.detach_rolled_back.append(volume_id)
                else:  # nothing holds it any more
                    attachments.force_detach(ctx, volume_id)
                    done.detach_finished.append(volume_id)
            elif inst.deleted or not inst.host:
                self._delete(ctx, rows[0].id)
                done.detach_finished.append(volume_id)
            elif self._host_up(inst):
                self.deps.agents.detach_volume(inst.host, instance_message(inst),
                                               attachment_message(rows[0]))
                done.detach_resent.append(volume_id)
            else:
                attachments.roll_detaching(ctx, volume_id)
                done.detach_rolled_back.append(volume_id)
        except errors.CoreError as exc:
            log.warning("recovering the detach of volume %s failed: %s", volume_id, exc)

    def _delete(self, ctx: Any, attachment_id: str) -> None:
        try:
            self.deps.volumes.attachments.delete(ctx, attachment_id)
        except errors.NotFound:
            pass  # a late report deleted it meanwhile

    # ---- the server's host -----------------------------------------------------------
    def _host_up(self, inst: Instance) -> bool:
        """The server lives, is not being deleted, and its host's agent is up."""
        if inst.deleted or inst.task_state == "deleting" or not inst.host:
            return False
        try:
            self.deps.store.get(inst.uuid)
        except InstanceNotFound:
            return False
        with self.deps.db.session() as s:
            service = s.scalar(select(ComputeService).where(
                ComputeService.host == inst.host, ComputeService.binary == COMPUTE_BINARY))
        return service is not None and service_is_up(
            service, self.deps.settings.service_down_time)

    @staticmethod
    def _why_not(inst: Instance) -> str:
        if inst.deleted or inst.task_state == "deleting":
            return "the instance is deleted"
        if not inst.host:
            return "the instance has no host"
        return f"its host {inst.host} is down"


def _touch(s: Any, model: Any, row_id: str, cutoff: datetime, *where: Any) -> bool:
    """Mark the row changed now, if it is still unchanged since ``cutoff``: the one
    conductor that succeeds acts on it."""
    since = func.coalesce(model.updated_at, model.created_at)
    result = s.execute(update(model).where(model.id == row_id, since <= cutoff, *where)
                       .values(updated_at=utcnow()),
                       execution_options={"synchronize_session": False})
    return isinstance(result, CursorResult) and result.rowcount == 1
