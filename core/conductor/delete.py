"""Deleting instances: the agent of a live host destroys the guest and reports
back; an instance with no host (or on a host that is down) is deleted in the
database at once. Either way the instance's quota, claims and fixed addresses
go back exactly once (the deleting transaction checks ``deleted`` first)."""

from __future__ import annotations

import logging

from sqlalchemy import delete, select

from core import errors
from core.clock import utcnow
from core.compute import states
from core.compute.hosts import service_is_up
from core.compute.instance_store import InstanceNotFound, instance_message
from core.compute.models import ComputeService, Instance, ServerGroupMember
from core.compute.usage import migration_consumer, quota_deltas
from core.conductor.tasks import ConductorDeps
from core.conductor.volumes import VolumeAttachments
from core.context import RequestContext
from core.placement import claims

log = logging.getLogger(__name__)


class Deletes:
    def __init__(self, deps: ConductorDeps) -> None:
        self.deps = deps

    def delete_instance(self, uuid: str) -> None:
        deps = self.deps
        try:
            inst = deps.store.get(uuid)
        except InstanceNotFound:
            return
        if inst.host and self._host_up(inst.host):
            deps.agents.terminate_instance(inst.host, instance_message(inst))
            if inst.source_host and inst.source_host != inst.host:
                deps.agents.destroy_copy(inst.source_host, instance_message(inst))
            return
        self.finish_delete(uuid)

    def instance_destroyed(self, uuid: str, host: str) -> dict:
        self.finish_delete(uuid)
        return {"ok": True}

    def finish_delete(self, uuid: str) -> None:
        deps = self.deps
        now = utcnow()
        with deps.db.session() as s:
            inst = s.scalar(select(Instance).where(Instance.uuid == uuid))
        if inst is None:
            return
        # Before the instance is marked deleted: a delete repeated after a crash
        # in between finds the volumes, the shelved image, the claims and the ports
        # still to release, and whoever sees the server gone sees them gone too.
        VolumeAttachments(deps).release_instance_volumes(uuid, inst.project_id)
        self._delete_shelved_image(inst)
        claims.release_resources(deps.db, uuid)
        claims.release_resources(deps.db, migration_consumer(uuid))
        # Its ports too, as Nova deallocates the network before destroying the
        # instance record.
        fixed = deps.fixed_ips(uuid)
        deps.ipam.release(uuid)
        with deps.db.session() as s:
            inst = s.scalar(select(Instance).where(Instance.uuid == uuid))
            if inst is None or inst.deleted:
                return
            if inst.quota_held:
                flavor = inst.flavor
                if inst.vm_state == states.RESIZED and inst.old_flavor:
                    old = inst.old_flavor  # an unconfirmed downsize still holds the old size
                    flavor = {k: max(int(flavor[k]), int(old[k])) for k in ("vcpus", "memory_mb")}
                deps.quotas.release(s, inst.project_id, quota_deltas(flavor))
            inst.vm_state, inst.task_state, inst.power_state = states.DELETED, None, states.NOSTATE
            inst.deleted, inst.deleted_at, inst.terminated_at = True, now, now
            inst.quota_held, inst.updated_at = False, now
            inst.generation += 1
            s.execute(delete(ServerGroupMember).where(ServerGroupMember.instance_uuid == uuid))
        deps.notifier.instance(inst, "delete.end", fixed)

    def _delete_shelved_image(self, inst: Instance) -> None:
        """A shelved server's snapshot goes with it, as in Nova."""
        image_id = (inst.system_metadata or {}).get("shelved_image_id")
        if not image_id or self.deps.images is None:
            return
        ctx = RequestContext(user_id=inst.user_id, project_id=inst.project_id,
                             roles=("admin", "member", "reader"), is_admin=True)
        try:
            self.deps.images.delete(ctx, image_id)
        except errors.NotFound:
            pass
        except errors.CoreError as exc:
            log.warning("could not delete shelved image %s of %s: %s", image_id, inst.uuid,
                        exc)

    def _host_up(self, host: str) -> bool:
        with self.deps.db.session() as s:
            svc = s.scalar(select(ComputeService).where(
                ComputeService.host == host, ComputeService.binary == "nova-compute"))
        return svc is not None and service_is_up(svc, self.deps.settings.service_down_time)
