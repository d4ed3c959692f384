"""Reclaiming soft-deleted servers: Nova's ``_reclaim_queued_deletes``.

With ``reclaim_instance_interval`` set, a deleted server waits SOFT_DELETED
(its guest powered off, its claims and quota held) for that long; then a
conductor's periodic check (:class:`~core.conductor.recovery.BuildWatch`)
deletes it as a delete would: the agent of its host destroys the guest, or the
instance is deleted in the database at once when its host is down. Each claim
of the DELETING task is a compare-and-swap on the generation read, so a
restore racing the reclaim wins or loses whole, and conductors checking at the
same time reclaim each server once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from core.clock import utcnow
from core.compute import states
from core.compute.instance_store import InstanceNotFound, UnexpectedState
from core.compute.models import Instance
from core.conductor.delete import Deletes
from core.conductor.tasks import ConductorDeps

log = logging.getLogger(__name__)


class Reclaim:
    def __init__(self, deps: ConductorDeps, deletes: Deletes | None = None) -> None:
        self.deps = deps
        self.deletes = deletes or Deletes(deps)

    def reclaim(self, older_than: float) -> list[str]:
        """Delete the servers soft-deleted at least ``older_than`` seconds ago (and
        settled: no task); their uuids."""
        deps = self.deps
        cutoff = utcnow() - timedelta(seconds=older_than)
        with deps.db.session() as s:
            rows = s.execute(select(Instance.uuid, Instance.generation).where(
                Instance.vm_state == states.SOFT_DELETED, Instance.task_state.is_(None),
                Instance.deleted.is_(False), Instance.deleted_at <= cutoff)).all()
        reclaimed = []
        for uuid, generation in rows:
            try:
                inst = deps.store.update(uuid, {"task_state": states.DELETING},
                                         expected_generation=generation)
            except (InstanceNotFound, UnexpectedState):
                continue  # restored, deleted or reclaimed by another conductor meanwhile
            log.info("reclaiming %s: soft-deleted since %s", uuid, inst.deleted_at)
            deps.notifier.instance(inst, "delete.start")
            self.deletes.delete_instance(uuid)
            reclaimed.append(uuid)
        return reclaimed
