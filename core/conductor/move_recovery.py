"""Moves whose flow is gone: a conductor or an agent died mid-move, or the
in-process bus lost the message that carried it (the all-in-one's restart).
As Nova's compute service does for its host's instances on start, each such
instance is brought to a state an operator can act on, its claims made equal
to what it runs again:

- shelving (any step): the task is cleared; the server stays as it was (its
  queued shelved image, never uploaded, goes);
- unshelving: an offloaded server is offloaded again (the claim a scheduler
  took for it goes); a server shelved on its host stays shelved there;
- migrating (live): the allocation parked on the source comes back (any claim
  on a destination goes), the server stays on its source;
- rebuilding (a rebuild or an evacuation): ERROR, as Nova leaves an interrupted
  rebuild; an evacuation's parked allocation on the dead source goes once the
  server was given its new host, and comes back when it was not.

Each instance is touched with a compare-and-swap on the generation it was read
with, so a flow that moves it meanwhile wins, and conductors checking at the
same time act on each once. The migrations of the interrupted moves go to
``error``."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from core import errors
from core.clock import utcnow
from core.compute import states
from core.compute.instance_store import InstanceNotFound, UnexpectedState
from core.compute.migration_records import EVACUATION, LIVE, MigrationRecords
from core.compute.models import Instance, Migration
from core.compute.usage import migration_consumer
from core.conductor.move_support import land, unpark
from core.conductor.shelve import SHELVING_TASKS, owner_context
from core.conductor.tasks import ConductorDeps
from core.placement import claims
from core.placement.models import Allocation

log = logging.getLogger(__name__)

MOVE_TASKS = (*SHELVING_TASKS, states.UNSHELVING, states.MIGRATING, states.REBUILDING)


class MoveRecovery:
    def __init__(self, deps: ConductorDeps) -> None:
        self.deps = deps
        self.records = MigrationRecords(deps.db)

    def recover_interrupted_moves(self, older_than: float) -> list[str]:
        """Settle every move unchanged for ``older_than`` seconds; their uuids."""
        cutoff = utcnow() - timedelta(seconds=older_than)
        last_change = func.coalesce(Instance.updated_at, Instance.created_at)
        spawning_unshelve = ((Instance.task_state == states.SPAWNING)
                             & (Instance.vm_state == states.SHELVED_OFFLOADED))
        with self.deps.db.session() as s:
            rows = list(s.scalars(select(Instance).where(
                Instance.deleted.is_(False), last_change <= cutoff,
                Instance.task_state.in_(MOVE_TASKS) | spawning_unshelve)))
        settled = []
        for inst in rows:
            try:
                if self._settle(inst):
                    settled.append(inst.uuid)
            except (InstanceNotFound, UnexpectedState):
                continue  # a flow moved it meanwhile
        return settled

    def _settle(self, inst: Instance) -> bool:
        task, uuid = inst.task_state, inst.uuid
        message = (f"The {task} of instance {uuid} was interrupted: no conductor or compute "
                   "host was working on it.")
        if task in SHELVING_TASKS:
            self._update(inst, {"task_state": None}, message)
            self._drop_queued_image(inst)
        elif task in (states.UNSHELVING, states.SPAWNING):
            if inst.vm_state == states.SHELVED_OFFLOADED:
                self._update(inst, {"task_state": None, "host": None, "node": None}, message)
                claims.release_resources(self.deps.db, uuid)
                self.deps.ipam.bind_host(uuid, "")
            else:
                self._update(inst, {"task_state": None}, message)
        elif task == states.MIGRATING:
            self._update(inst, {"task_state": None}, message)
            if self._parked(uuid):
                unpark(self.deps, uuid)
            self.records.set_status(uuid, "error", kind=LIVE)
        else:  # rebuilding, or evacuating
            evacuation = self._evacuation_source(uuid)
            self._update(inst, {"vm_state": states.ERROR, "task_state": None}, message)
            if evacuation is not None and self._parked(uuid):
                if inst.host != evacuation:  # the destination holds it now
                    land(self.deps, uuid)
                else:
                    unpark(self.deps, uuid)
            if evacuation is not None:
                self.records.set_status(uuid, "error", kind=EVACUATION)
        log.warning("%s", message)
        return True

    def _update(self, inst: Instance, values: dict[str, Any], message: str) -> None:
        deps = self.deps
        with deps.db.session() as s:
            updated = deps.store.update(inst.uuid, values, expected_generation=inst.generation,
                                        s=s)
            deps.store.add_fault(s, inst.uuid, 500, message, "interrupted move")
        deps.notifier.instance(updated, "update", priority="error")

    def _parked(self, uuid: str) -> bool:
        with self.deps.db.session() as s:
            return s.scalar(select(Allocation.node_id).where(
                Allocation.consumer_uuid == migration_consumer(uuid)).limit(1)) is not None

    def _evacuation_source(self, uuid: str) -> str | None:
        """The source host of the instance's evacuation in progress, if any."""
        with self.deps.db.session() as s:
            return s.scalar(select(Migration.source_compute).where(
                Migration.instance_uuid == uuid, Migration.migration_type == EVACUATION,
                Migration.status.in_(("accepted", "pre-migrating", "migrating")))
                .order_by(Migration.id.desc()).limit(1))

    def _drop_queued_image(self, inst: Instance) -> None:
        image_id = (inst.system_metadata or {}).get("shelved_image_id")
        if not image_id or self.deps.images is None:
            return
        ctx = owner_context(inst)
        try:
            if self.deps.images.show(ctx, image_id).image.status != "active":
                self.deps.images.delete(ctx, image_id)
        except errors.CoreError:
            pass
