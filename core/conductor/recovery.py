"""What survives a crash: builds whose flow is gone, and instances whose guests
are not (or no longer running) on their host's hypervisor.

Nova's compute service, on start, moves its host's interrupted builds to ERROR,
and its power-state sync reconciles instances with what the hypervisor runs.
Here the conductor does both, for any host:

- :meth:`Recovery.fail_interrupted_builds` ends in ERROR (with a fault, their
  claims, quota and address given back) the builds that made no progress for a
  while: at the all-in-one's start for every build (its in-process bus lost the
  messages that carried them), and periodically in every conductor for builds
  older than ``build_timeout``. Each is a compare-and-swap on the instance's
  generation, so a flow that moves the build meanwhile wins, and conductors
  checking at the same time fail each build once.
- :meth:`Recovery.sync_power_states` takes a host's report of its guests' power
  states: an ACTIVE (or PAUSED) instance whose guest is powered off is stopped (SHUTOFF), as
  Nova's sync calls the stop API; an instance whose guest is not on the host at
  all goes to ERROR with a fault saying it was lost (Nova only logs it; here an
  instance that looks ACTIVE but answers no action would be worse).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import func, select

from core.clock import utcnow
from core.compute import states
from core.compute.instance_store import InstanceNotFound, UnexpectedState
from core.compute.models import Instance
from core.conductor.build import fail_build
from core.conductor.move_recovery import MoveRecovery
from core.conductor.reclaim import Reclaim
from core.conductor.tasks import ConductorDeps
from core.conductor.volume_recovery import AttachmentRecovery

log = logging.getLogger(__name__)

# Instances the sync may touch: settled, with a guest that should exist.
SETTLED = (states.ACTIVE, states.STOPPED, states.PAUSED_VM, states.SUSPENDED_VM,
           states.RESCUED)
# Those whose guest powered off by itself are stopped (Nova calls the stop API).
STOPPABLE = (states.ACTIVE, states.PAUSED_VM)


class Recovery:
    def __init__(self, deps: ConductorDeps) -> None:
        self.deps = deps

    def fail_interrupted_builds(self, older_than: float) -> list[str]:
        """ERROR for every build unchanged for ``older_than`` seconds; their uuids."""
        deps = self.deps
        cutoff = utcnow() - timedelta(seconds=older_than)
        last_change = func.coalesce(Instance.updated_at, Instance.created_at)
        with deps.db.session() as s:
            rows = s.execute(select(
                Instance.uuid, Instance.generation, Instance.task_state, last_change).where(
                Instance.vm_state == states.BUILDING, Instance.deleted.is_(False),
                last_change <= cutoff)).all()
        failed = []
        for uuid, generation, task_state, since in rows:
            message = (f"Build of instance {uuid} was interrupted: it had been in task state "
                       f"{task_state or 'none'} since {since:%Y-%m-%dT%H:%M:%SZ} and no "
                       "conductor, scheduler or compute host was working on it.")
            if fail_build(deps, uuid, message, "interrupted build", generation=generation):
                log.warning("%s", message)
                failed.append(uuid)
        return failed

    def settled_instances(self, host: str) -> dict[str, int]:
        """The settled instances of ``host`` (``{uuid: generation}``): what a power
        sync may correct. Read before the host lists its guests, as Nova's sync
        reads the database before the driver: a build that lands between the two
        reads is not settled yet, so it is never taken for a lost guest."""
        with self.deps.db.session() as s:
            return dict(s.execute(select(Instance.uuid, Instance.generation).where(
                Instance.host == host, Instance.deleted.is_(False),
                Instance.task_state.is_(None), Instance.vm_state.in_(SETTLED))).tuples().all())

    def sync_power_states(self, host: str, power_states: dict[str, int],
                          settled: dict[str, int]) -> dict:
        """Reconcile ``settled`` (from :meth:`settled_instances`, read first) with the
        host's guests listed after it (``{uuid: power_state}``, every guest it has).
        Each correction is a compare-and-swap on the generation read first, so an
        instance an action moved meanwhile is left to the next sync."""
        deps = self.deps
        with deps.db.session() as s:
            rows = s.execute(select(Instance.uuid, Instance.vm_state, Instance.power_state)
                             .where(Instance.uuid.in_(list(settled)))).all()
        stopped, lost, updated = [], [], 0
        for uuid, vm_state, db_power in rows:
            power, generation = power_states.get(uuid, states.NOSTATE), settled[uuid]
            try:
                if power == states.NOSTATE:
                    self._lost(uuid, host, generation)
                    lost.append(uuid)
                elif vm_state in STOPPABLE and power in (states.SHUTDOWN, states.CRASHED):
                    self._stopped(uuid, power, generation)
                    stopped.append(uuid)
                elif power != db_power:
                    deps.store.update(uuid, {"power_state": power},
                                      expected_generation=generation)
                    updated += 1
            except (InstanceNotFound, UnexpectedState):
                continue  # an action moved it meanwhile: the next sync looks again
        strays = self._strays(list(power_states))
        if stopped or lost or strays:
            log.warning("power-state sync of %s: %d stopped (guest powered off), %d lost "
                        "(guest not on the host), %d guests of no instance", host,
                        len(stopped), len(lost), len(strays))
        return {"ok": True, "stopped": stopped, "lost": lost, "updated": updated,
                "strays": strays}

    def _strays(self, guests: list[str]) -> list[str]:
        """Guests whose instance is gone, deleted, or a build failed off its host
        (a crash between spawning and recording it): the host should remove them,
        as Nova's ``running_deleted_instance_action = reap``."""
        if not guests:
            return []
        with self.deps.db.session() as s:
            rows = dict(s.execute(select(Instance.uuid, Instance.deleted | (
                Instance.host.is_(None) & (Instance.vm_state == states.ERROR))).where(
                Instance.uuid.in_(guests))).tuples().all())
        return [uuid for uuid in guests if rows.get(uuid, True)]

    def _stopped(self, uuid: str, power: int, generation: int) -> None:
        deps = self.deps
        inst = deps.store.update(uuid, {"vm_state": states.STOPPED, "power_state": power},
                                 expected_generation=generation)
        deps.notifier.instance(inst, "power_off.end")

    def _lost(self, uuid: str, host: str, generation: int) -> None:
        deps = self.deps
        with deps.db.session() as s:
            inst = deps.store.update(uuid, {"vm_state": states.ERROR,
                                            "power_state": states.NOSTATE},
                                     expected_generation=generation, s=s)
            deps.store.add_fault(s, uuid, 500, f"The instance's guest is not on its host "
                                 f"{host}: it was lost (the host restarted without it).",
                                 "power-state sync", host=host)
        deps.notifier.instance(inst, "update", priority="error")


class BuildWatch:
    """A thread failing interrupted builds every ``interval`` seconds (and, when
    given, settling interrupted moves, recovering volume attachments stuck for
    ``attach_timeout`` and reclaiming servers soft-deleted ``reclaim_interval``
    seconds ago)."""

    def __init__(self, recovery: Recovery, timeout: float, interval: float,
                 attachments: AttachmentRecovery | None = None,
                 attach_timeout: float = 0.0, reclaim: Reclaim | None = None,
                 reclaim_interval: float = 0.0, moves: MoveRecovery | None = None) -> None:
        self.recovery, self.timeout, self.interval = recovery, timeout, interval
        self.attachments, self.attach_timeout = attachments, attach_timeout
        self.reclaim, self.reclaim_interval = reclaim, reclaim_interval
        self.moves = moves  # interrupted moves, settled after the same timeout as builds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> BuildWatch:
        reclaims = self.reclaim is not None and self.reclaim_interval > 0
        if self.interval > 0 and (self.timeout > 0 or self._watch_attachments or reclaims):
            self._thread = threading.Thread(target=self._run, name="build-watch", daemon=True)
            self._thread.start()
        return self

    @property
    def _watch_attachments(self) -> bool:
        return self.attachments is not None and self.attach_timeout > 0

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()

    def check(self) -> None:
        """One round: builds, then attachments; a failure waits for the next round."""
        if self.timeout > 0:
            try:
                self.recovery.fail_interrupted_builds(self.timeout)
            except Exception:  # noqa: BLE001 - the database may be away; next round
                log.warning("checking for interrupted builds failed", exc_info=True)
        if self.timeout > 0 and self.moves is not None:
            try:
                self.moves.recover_interrupted_moves(self.timeout)
            except Exception:  # noqa: BLE001 - the database may be away; next round
                log.warning("checking for interrupted moves failed", exc_info=True)
        if self.attachments is not None and self.attach_timeout > 0:
            try:
                self.attachments.recover(self.attach_timeout)
            except Exception:  # noqa: BLE001 - the database may be away; next round
                log.warning("checking for stuck volume attachments failed", exc_info=True)
        if self.reclaim is not None and self.reclaim_interval > 0:
            try:
                self.reclaim.reclaim(self.reclaim_interval)
            except Exception:  # noqa: BLE001 - the database may be away; next round
                log.warning("reclaiming soft-deleted servers failed", exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
