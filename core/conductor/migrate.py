"""Live migration, evacuation and rebuild (cold migration is a resize to the
same flavor: core/conductor/resize.py).

- live migration: the allocation on the source is parked, the scheduler claims
  the destination (never the source), the destination's agent takes the
  running guest over and reports; the conductor moves the records, drops the
  parked allocation and has the source remove its copy. ACTIVE stays ACTIVE.
- evacuation (the source host is down): the same claims, and the destination's
  agent rebuilds the guest from its image (powered off when the request asked
  for a stopped server, compute 2.95); the source is told to remove its copy
  (it gets the message when it comes back).
- rebuild: the same host spawns the guest again from a new image.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from core.clock import utcnow
from core.compute import states
from core.compute.instance_actions import InstanceActionRecords
from core.compute.instance_store import InstanceNotFound, UnexpectedState, instance_message
from core.compute.migration_records import EVACUATION, LIVE, MigrationRecords
from core.compute.models import Migration
from core.conductor.move_support import (
    image_of,
    in_task,
    land,
    move_message,
    park,
    selection_spec,
    unpark,
)
from core.conductor.tasks import NO_VALID_HOST, ConductorDeps, Task
from core.conductor.volumes import VolumeAttachments
from core.placement import claims

log = logging.getLogger(__name__)


def end_state(power_state: int) -> str:
    return states.ACTIVE if power_state == states.RUNNING else states.STOPPED


class MoveToNewHost(Task):
    """A live migration or an evacuation: park, schedule, hand over."""

    kind = LIVE
    task_state = states.MIGRATING
    conductor_event = "conductor_live_migrate_instance"  # Nova's event of this step

    def __init__(self, deps: ConductorDeps, uuid: str, request_spec: dict) -> None:
        super().__init__(deps)
        self.uuid = uuid
        self.request_spec = request_spec
        self.parked = False
        self.sent = False
        self.records = MigrationRecords(deps.db)
        self.actions = InstanceActionRecords(deps.db)

    def _execute(self) -> None:
        deps, uuid = self.deps, self.uuid
        inst = in_task(deps, uuid, self.task_state)
        if inst is None or not inst.host:
            return
        source = inst.host
        park(deps, uuid)
        self.parked = True
        self.records.set_status(uuid, "preparing" if self.kind == LIVE else "pre-migrating",
                                kind=self.kind)
        selections = deps.destinations.select(selection_spec(self.request_spec, uuid, source))
        if selections is None:
            self.failed(NO_VALID_HOST)
            return
        chosen = selections[0][0]
        dest = chosen["host"]
        self.records.set_status(uuid, "running" if self.kind == LIVE else "migrating",
                                kind=self.kind, dest=dest)
        self.hand_over(inst, source, dest, chosen)
        self.sent = True

    def hand_over(self, inst, source: str, dest: str, chosen: dict) -> None:
        message = dict(move_message(self.deps, inst), source_host=source)
        self.deps.agents.live_migrate_in(dest, message, source)

    def failed(self, message: str) -> None:
        """No destination (or the conductor failed): everything as before the move."""
        deps = self.deps
        unpark(deps, self.uuid)
        self.records.set_status(self.uuid, "error", kind=self.kind)
        try:
            inst = deps.store.update(self.uuid, {"task_state": None},
                                     expected_task_state=[self.task_state])
        except (InstanceNotFound, UnexpectedState):
            return
        with deps.db.session() as s:
            deps.store.add_fault(s, self.uuid, 500, message)
        self.actions.record_event(self.uuid, None, self.conductor_event, inst.host,
                                  error=message, details=message)
        event = "live_migration._rollback.end" if self.kind == LIVE else "evacuate.error"
        deps.notifier.instance(inst, event, message=message)

    def rollback(self, exc: Exception) -> None:
        if self.parked and not self.sent:
            self.failed(f"The move of instance {self.uuid} was aborted: the conductor "
                        f"failed ({type(exc).__name__}).")


class LiveMigrateInstance(MoveToNewHost):
    kind = LIVE
    task_state = states.MIGRATING


class EvacuateInstance(MoveToNewHost):
    """The destination rebuilds the guest; the records move now (Nova sets the
    new host before the rebuild), so the rebuild's report comes from there."""

    kind = EVACUATION
    task_state = states.REBUILDING
    conductor_event = "conductor_rebuild_server"

    def hand_over(self, inst, source: str, dest: str, chosen: dict) -> None:
        deps = self.deps
        try:
            inst = deps.store.update(self.uuid, {"host": dest, "node": chosen["nodename"],
                                                 "availability_zone":
                                                 chosen.get("availability_zone")},
                                     expected_task_state=[states.REBUILDING],
                                     expected_host=source)
        except (InstanceNotFound, UnexpectedState):
            unpark(deps, self.uuid)
            self.records.set_status(self.uuid, "error", kind=EVACUATION)
            return
        deps.ipam.bind_host(self.uuid, dest)
        deps.notifier.instance(inst, "evacuate")
        message = move_message(deps, inst)
        if self.request_spec.get("target_state") == states.STOPPED:
            message["vm_state"] = states.STOPPED  # 2.95: the agent leaves it powered off
        deps.agents.rebuild_instance(dest, message, image_of(deps, inst), evacuate=True)


class Moves:
    """What agents report about moves, and the rebuild the API casts."""

    def __init__(self, deps: ConductorDeps) -> None:
        self.deps = deps
        self.records = MigrationRecords(deps.db)
        self.actions = InstanceActionRecords(deps.db)

    def rebuild_instance(self, uuid: str, image: dict) -> None:
        deps = self.deps
        inst = in_task(deps, uuid, states.REBUILDING)
        if inst is None or not inst.host:
            return
        deps.agents.rebuild_instance(inst.host, move_message(deps, inst), image)

    def rebuild_finished(self, uuid: str, host: str, power_state: int,
                         error: str | None = None) -> dict:
        """A rebuild (or an evacuation's) on ``host`` ended."""
        deps = self.deps
        try:
            inst = deps.store.get(uuid)
        except InstanceNotFound:
            return {"ok": False, "deleted": True}
        evacuating = self.records.set_status(uuid, "done" if not error else "failed",
                                             kind=EVACUATION, expected=("migrating",)) > 0
        source = None
        if evacuating:
            # The instance is the destination's now, in ERROR or not (as in Nova):
            # what the dead source held for it goes either way.
            land(deps, uuid)
            source = _source_of(self.records, uuid)
        # the event of the action (rebuild or evacuate) the host just finished
        self.actions.record_event(uuid, None, "compute_rebuild_instance", host, error=error,
                                  details=error)
        values = ({"vm_state": states.ERROR, "task_state": None} if error else
                  {"vm_state": end_state(power_state), "task_state": None,
                   "power_state": power_state, "launched_at": utcnow()})
        try:
            inst = deps.store.update(uuid, values, expected_task_state=[states.REBUILDING],
                                     expected_host=host)
        except (InstanceNotFound, UnexpectedState):
            return {"ok": False}
        if error:
            with deps.db.session() as s:
                deps.store.add_fault(s, uuid, 500, error, host=host)
            deps.notifier.instance(inst, "rebuild.error", priority="error", message=error)
            return {"ok": False, "error": error}
        if evacuating:
            VolumeAttachments(deps).rehome(uuid, host)
        if source and source != host:
            deps.agents.destroy_copy(source, instance_message(inst))
        deps.notifier.instance(inst, "rebuild.end")
        return {"ok": True}

    def live_migration_finished(self, uuid: str, host: str, error: str | None = None) -> dict:
        """The destination ``host`` runs the guest (or could not take it)."""
        deps = self.deps
        try:
            inst = deps.store.get(uuid)
        except InstanceNotFound:
            # Deleted during the move (its delete may have run before the claim on
            # ``host`` was taken): nothing of it may stay anywhere.
            claims.release_resources(deps.db, uuid)
            land(deps, uuid)
            deps.agents.destroy_copy(host, {"uuid": uuid})
            return {"ok": False, "deleted": True}
        if inst.task_state != states.MIGRATING:
            return {"ok": False}
        source = inst.host
        self.actions.record_event(uuid, None, "compute_live_migration", host, error=error,
                                  details=error)
        if error:
            unpark(deps, uuid)
            self.records.set_status(uuid, "error", kind=LIVE)
            try:
                inst = deps.store.update(uuid, {"task_state": None},
                                         expected_task_state=[states.MIGRATING])
            except (InstanceNotFound, UnexpectedState):
                return {"ok": False, "error": error}
            with deps.db.session() as s:
                deps.store.add_fault(s, uuid, 500, error, host=host)
            deps.notifier.instance(inst, "live_migration._rollback.end", message=error)
            return {"ok": False, "error": error}
        try:
            inst = deps.store.update(uuid, {"host": host, "node": host, "task_state": None},
                                     expected_task_state=[states.MIGRATING],
                                     expected_host=source)
        except (InstanceNotFound, UnexpectedState):
            return {"ok": False}
        land(deps, uuid)
        deps.ipam.bind_host(uuid, host)
        self.records.set_status(uuid, "completed", kind=LIVE, dest=host)
        VolumeAttachments(deps).rehome(uuid, host)
        if source and source != host:
            deps.agents.destroy_copy(source, instance_message(inst))
        deps.notifier.instance(inst, "live_migration._post.end")
        return {"ok": True}


def _source_of(records: MigrationRecords, uuid: str) -> str | None:
    with records.db.session() as s:
        return s.scalar(select(Migration.source_compute).where(
            Migration.instance_uuid == uuid, Migration.migration_type == EVACUATION)
            .order_by(Migration.id.desc()).limit(1))
