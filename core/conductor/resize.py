"""Resizing: the source host's allocation is parked under a migration consumer
while the scheduler claims room for the new flavor; the destination's agent
finishes the resize and reports; a revert moves the instance back onto its
parked allocation. Quota for a larger flavor was reserved by the API
(``ServerActions.resize``) and is given back on failure or revert."""

from __future__ import annotations

from sqlalchemy import select

from core.compute import states
from core.compute.instance_store import InstanceNotFound, UnexpectedState, instance_message
from core.compute.migration_records import COLD, RESIZE, MigrationRecords
from core.compute.models import Instance
from core.compute.usage import grown, migration_consumer
from core.conductor.move_support import in_task
from core.conductor.tasks import NO_VALID_HOST, ConductorDeps, Task
from core.conductor.volumes import VolumeAttachments
from core.placement import claims


def resize_failed(deps: ConductorDeps, uuid: str, message: str) -> None:
    """The resize ends without a new flavor: the new claim goes, the parked
    allocation comes back, the grown quota is given back, a fault says why."""
    claims.release_resources(deps.db, uuid)
    claims.rename_consumer(deps.db, migration_consumer(uuid), uuid)
    MigrationRecords(deps.db).set_status(uuid, "error", kind=(RESIZE, COLD))
    with deps.db.session() as s:
        inst = s.scalar(select(Instance).where(Instance.uuid == uuid))
        if inst is None or inst.deleted:
            return
        new = inst.new_flavor
        try:
            deps.store.update(uuid, {"task_state": None, "new_flavor": None},
                              expected_task_state=[states.RESIZE_PREP,
                                                   states.RESIZE_MIGRATING], s=s)
        except UnexpectedState:
            return
        if new and inst.quota_held:
            deps.quotas.release(s, inst.project_id, grown(inst.flavor, new))
        deps.store.add_fault(s, uuid, 500, message)


class ResizeInstance(Task):
    """``resize_instance``: park the source allocation, schedule the new flavor
    and hand the instance to the destination's agent."""

    def __init__(self, deps: ConductorDeps, uuid: str, request_spec: dict) -> None:
        super().__init__(deps)
        self.uuid = uuid
        self.request_spec = request_spec
        self.parked = False  # this run moved the source allocation aside
        self.sent = False  # the destination's agent has the resize

    def _execute(self) -> None:
        deps, uuid = self.deps, self.uuid
        inst = in_task(deps, uuid, states.RESIZE_PREP, on_host=False)
        if inst is None or not inst.new_flavor:
            return
        claims.rename_consumer(deps.db, uuid, migration_consumer(uuid))
        self.parked = True
        deps.notifier.instance(inst, "resize.start")
        selections = deps.destinations.select(dict(self.request_spec, instance_uuids=[uuid]))
        if selections is None:
            resize_failed(deps, uuid, NO_VALID_HOST)
            return
        chosen = selections[0][0]
        try:
            inst = deps.store.update(uuid, {"task_state": states.RESIZE_MIGRATING},
                                     expected_task_state=[states.RESIZE_PREP])
        except (InstanceNotFound, UnexpectedState):
            claims.release_resources(deps.db, uuid)
            return
        MigrationRecords(deps.db).set_status(uuid, "migrating", kind=(RESIZE, COLD),
                                             dest=chosen["host"])
        deps.agents.finish_resize(chosen["host"], instance_message(inst), inst.new_flavor or {})
        self.sent = True

    def rollback(self, exc: Exception) -> None:
        if self.parked and not self.sent:
            resize_failed(self.deps, self.uuid, f"The resize of instance {self.uuid} was "
                          f"aborted: the conductor failed ({type(exc).__name__}).")


class Resizes:
    """What the destination's agent reports, and reverting a finished resize."""

    def __init__(self, deps: ConductorDeps) -> None:
        self.deps = deps

    def resize_finished(self, uuid: str, host: str, error: str | None = None) -> dict:
        deps = self.deps
        if error:
            resize_failed(deps, uuid, error)
            return {"ok": False}
        with deps.db.session() as s:
            inst = s.scalar(select(Instance).where(Instance.uuid == uuid))
            if inst is None or inst.deleted or inst.task_state != states.RESIZE_MIGRATING:
                return {"ok": False}
            new = inst.new_flavor or inst.flavor
            inst = deps.store.update(uuid, {
                "vm_state": states.RESIZED, "task_state": None, "old_flavor": inst.flavor,
                "flavor": new, "new_flavor": None, "flavorid": new["flavorid"],
                "vcpus": new["vcpus"], "memory_mb": new["memory_mb"],
                "root_gb": new["root_gb"], "source_host": inst.host, "host": host,
                "node": host}, expected_task_state=[states.RESIZE_MIGRATING], s=s)
        MigrationRecords(deps.db).set_status(uuid, "finished", kind=(RESIZE, COLD), dest=host)
        VolumeAttachments(deps).rehome(uuid, host)
        deps.notifier.instance(inst, "resize.end")
        return {"ok": True}

    def revert_resize(self, uuid: str) -> None:
        deps = self.deps
        try:
            inst = deps.store.get(uuid)
        except InstanceNotFound:
            return
        if inst.task_state != states.RESIZE_REVERTING or not inst.old_flavor:
            return
        source = inst.source_host or inst.host
        if inst.host and inst.host != source:
            deps.agents.destroy_copy(inst.host, instance_message(inst))
        claims.release_resources(deps.db, uuid)
        claims.rename_consumer(deps.db, migration_consumer(uuid), uuid)
        old, new = inst.old_flavor, inst.flavor
        with deps.db.session() as s:
            try:
                inst = deps.store.update(uuid, {
                    "vm_state": states.ACTIVE if inst.power_state == states.RUNNING
                    else states.STOPPED, "task_state": None, "flavor": old,
                    "old_flavor": None, "flavorid": old["flavorid"], "vcpus": old["vcpus"],
                    "memory_mb": old["memory_mb"], "root_gb": old["root_gb"],
                    "host": source, "node": source, "source_host": None},
                    expected_task_state=[states.RESIZE_REVERTING], s=s)
            except (InstanceNotFound, UnexpectedState):
                return
            if inst.quota_held:
                deps.quotas.release(s, inst.project_id, grown(old, new))
        MigrationRecords(deps.db).set_status(uuid, "reverted", kind=(RESIZE, COLD),
                                             expected=("finished", "reverting"))
        if source:
            VolumeAttachments(deps).rehome(uuid, source)
        deps.agents.finish_resize(source or "", dict(instance_message(inst), report=False), old)
        deps.notifier.instance(inst, "resize.revert.end")
