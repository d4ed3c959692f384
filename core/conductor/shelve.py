"""Shelving: what the agent reports after it powered the guest off and stored
its disk (SHELVED), or removed it from the host as well (SHELVED_OFFLOADED:
the host's allocation goes, the host is cleared, the volumes stay reserved for
the server); and unshelving an offloaded server, which is scheduled again (the
scheduler claims a host) and spawned there from its shelved image.

Each step is a compare-and-swap on the instance's task_state (and host), so a
report delivered twice changes nothing twice."""

from __future__ import annotations

import logging
from typing import Any

from core import errors
from core.clock import utcnow
from core.compute import states
from core.compute.instance_store import InstanceNotFound, UnexpectedState
from core.compute.models import Instance
from core.conductor.move_support import image_of, move_message, selection_spec
from core.conductor.tasks import NO_VALID_HOST, ConductorDeps, Task
from core.conductor.volumes import VolumeAttachments, service_context
from core.context import RequestContext
from core.placement import claims

log = logging.getLogger(__name__)

SHELVING_TASKS = [states.SHELVING, states.SHELVING_IMAGE_PENDING_UPLOAD,
                  states.SHELVING_IMAGE_UPLOADING, states.SHELVING_OFFLOADING]
SHELVED_KEYS = ("shelved_at", "shelved_image_id", "shelved_host")


def without_shelved(system_metadata: dict | None) -> dict:
    return {k: v for k, v in (system_metadata or {}).items() if k not in SHELVED_KEYS}


def owner_context(inst: Instance) -> RequestContext:
    return RequestContext(user_id=inst.user_id, project_id=inst.project_id,
                          roles=("admin", "member", "reader"), is_admin=True)


class Shelves:
    def __init__(self, deps: ConductorDeps) -> None:
        self.deps = deps

    # ---- shelve and offload --------------------------------------------------------
    def shelve_finished(self, uuid: str, host: str, offloaded: bool,
                        error: str | None = None) -> dict:
        deps = self.deps
        if error:
            try:
                inst = deps.store.update(uuid, {"task_state": None},
                                         expected_task_state=SHELVING_TASKS, expected_host=host)
            except (InstanceNotFound, UnexpectedState):
                return {"ok": False}
            with deps.db.session() as s:
                deps.store.add_fault(s, uuid, 500, error, host=host)
            deps.notifier.instance(inst, "shelve.error", priority="error", message=error)
            return {"ok": False, "error": error}
        if offloaded:
            return self._offloaded(uuid, host)
        try:
            inst = deps.store.update(uuid, {"vm_state": states.SHELVED, "task_state": None,
                                            "power_state": states.SHUTDOWN},
                                     expected_task_state=SHELVING_TASKS, expected_host=host)
        except (InstanceNotFound, UnexpectedState):
            return {"ok": False}
        deps.notifier.instance(inst, "shelve.end")
        return {"ok": True}

    def _offloaded(self, uuid: str, host: str) -> dict:
        """The guest is gone from ``host``: the server holds nothing there any more."""
        deps = self.deps
        try:
            inst = deps.store.get(uuid)
            sysmeta = dict(inst.system_metadata or {}, shelved_host=host)
            inst = deps.store.update(
                uuid, {"vm_state": states.SHELVED_OFFLOADED, "task_state": None,
                       "power_state": states.SHUTDOWN, "host": None, "node": None,
                       "system_metadata": sysmeta},
                expected_task_state=SHELVING_TASKS, expected_host=host)
        except (InstanceNotFound, UnexpectedState):
            return {"ok": False}
        claims.release_resources(deps.db, uuid)
        deps.ipam.bind_host(uuid, "")
        self._reserve_volumes(inst)
        deps.notifier.instance(inst, "shelve_offload.end")
        return {"ok": True}

    def _reserve_volumes(self, inst: Instance) -> None:
        """As Nova at an offload: each attached volume's attachment is replaced by
        one reserved for the server without a host (connected at the unshelve)."""
        volumes = self.deps.volumes
        if volumes is None:
            return
        ctx = service_context(inst.project_id)
        for row in VolumeAttachments(self.deps).live(inst.uuid):
            if row.attach_status != "attached":
                continue
            kept: dict[str, Any] = {"device": row.mountpoint, "tag": row.tag,
                                    "delete_on_termination": row.delete_on_termination,
                                    "ec2_device": row.ec2_device, "boot_index": row.boot_index}
            try:
                volumes.attachments.delete(ctx, row.id)
                volumes.attachments.create(ctx, row.volume_id, inst.uuid, **kept)
            except errors.CoreError as exc:
                log.warning("re-reserving volume %s of shelved %s failed: %s",
                            row.volume_id, inst.uuid, exc)

    # ---- unshelve ----------------------------------------------------------------
    def unshelve_finished(self, uuid: str, host: str, power_state: int,
                          error: str | None = None) -> dict:
        deps = self.deps
        try:
            inst = deps.store.get(uuid)
        except InstanceNotFound:
            return {"ok": False, "deleted": True}
        if inst.host != host or inst.task_state not in (states.UNSHELVING, states.SPAWNING):
            return {"ok": False}
        if error:
            self._unshelve_failed(inst, error)
            return {"ok": False, "error": error}
        image_id = (inst.system_metadata or {}).get("shelved_image_id")
        if image_id and deps.images is not None:
            # Nova deletes the shelved snapshot once the server runs again (here
            # before it shows ACTIVE, so whoever sees it ACTIVE sees the image gone).
            try:
                deps.images.delete(owner_context(inst), image_id)
            except errors.NotFound:
                pass
            except errors.CoreError as exc:
                log.warning("could not delete shelved image %s: %s", image_id, exc)
        try:
            inst = deps.store.update(
                uuid, {"vm_state": states.ACTIVE, "task_state": None,
                       "power_state": power_state, "launched_at": utcnow(),
                       "system_metadata": without_shelved(inst.system_metadata)},
                expected_task_state=[states.UNSHELVING, states.SPAWNING], expected_host=host)
        except (InstanceNotFound, UnexpectedState):
            return {"ok": False}
        deps.notifier.instance(inst, "unshelve.end")
        return {"ok": True}

    def _unshelve_failed(self, inst: Instance, error: str) -> None:
        deps = self.deps
        offloaded = inst.vm_state == states.SHELVED_OFFLOADED
        values: dict[str, Any] = {"task_state": None}
        if offloaded:
            values.update(host=None, node=None)
        try:
            inst = deps.store.update(inst.uuid, values, expected_task_state=[
                states.UNSHELVING, states.SPAWNING], expected_host=inst.host)
        except (InstanceNotFound, UnexpectedState):
            return
        if offloaded:
            claims.release_resources(deps.db, inst.uuid)
            deps.ipam.bind_host(inst.uuid, "")
        with deps.db.session() as s:
            deps.store.add_fault(s, inst.uuid, 500, error)
        deps.notifier.instance(inst, "unshelve.error", priority="error", message=error)


class UnshelveInstance(Task):
    """``unshelve_instance``: a host for an offloaded server, claimed, and the spawn
    handed to its agent; with no host the server stays SHELVED_OFFLOADED."""

    def __init__(self, deps: ConductorDeps, uuid: str, request_spec: dict) -> None:
        super().__init__(deps)
        self.uuid = uuid
        self.request_spec = request_spec
        self.claimed = False
        self.sent = False

    def _execute(self) -> None:
        deps, uuid = self.deps, self.uuid
        try:
            inst = deps.store.get(uuid)
        except InstanceNotFound:
            return
        if inst.vm_state != states.SHELVED_OFFLOADED or inst.task_state != states.UNSHELVING \
                or inst.host:
            return
        deps.notifier.instance(inst, "unshelve.start")
        selections = deps.destinations.select(selection_spec(self.request_spec, uuid, None))
        if selections is None:
            self._no_host(NO_VALID_HOST)
            return
        self.claimed = True
        chosen = selections[0][0]
        try:
            inst = deps.store.update(uuid, {"host": chosen["host"], "node": chosen["nodename"],
                                            "availability_zone": chosen.get("availability_zone"),
                                            "task_state": states.SPAWNING},
                                     expected_task_state=[states.UNSHELVING], expected_host=None)
        except (InstanceNotFound, UnexpectedState):
            claims.release_resources(deps.db, uuid)
            return
        deps.ipam.bind_host(uuid, chosen["host"])
        image_id = (inst.system_metadata or {}).get("shelved_image_id")
        deps.agents.unshelve_instance(chosen["host"], move_message(deps, inst),
                                      image_of(deps, inst, image_id))
        self.sent = True

    def _no_host(self, message: str) -> None:
        deps = self.deps
        try:
            inst = deps.store.update(self.uuid, {"task_state": None},
                                     expected_task_state=[states.UNSHELVING], expected_host=None)
        except (InstanceNotFound, UnexpectedState):
            return
        with deps.db.session() as s:
            deps.store.add_fault(s, self.uuid, 500, message)
        deps.notifier.instance(inst, "unshelve.error", priority="error", message=message)

    def rollback(self, exc: Exception) -> None:
        if self.sent:
            return
        if self.claimed:
            claims.release_resources(self.deps.db, self.uuid)
            try:
                self.deps.store.update(self.uuid, {"host": None, "node": None},
                                       expected_task_state=[states.SPAWNING])
            except (InstanceNotFound, UnexpectedState):
                pass
            self.deps.ipam.bind_host(self.uuid, "")
        try:
            self.deps.store.update(self.uuid, {"task_state": None},
                                   expected_task_state=[states.UNSHELVING, states.SPAWNING])
        except (InstanceNotFound, UnexpectedState):
            pass
