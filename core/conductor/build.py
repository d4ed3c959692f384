"""Building instances: scheduling, handing each to its host's agent, and what
the agent reports back (spawned, or failed and rescheduled to an alternate).

Every step is a compare-and-swap on the instance's task_state, so a message
delivered twice (RabbitMQ redelivers the message of a conductor that died
mid-flow) finds the instance already moved on and does nothing twice.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from core.clock import utcnow
from core.compute import states
from core.compute.instance_store import InstanceNotFound, UnexpectedState, instance_message
from core.compute.models import Instance, InstanceAction
from core.compute.usage import quota_deltas
from core.conductor.tasks import NO_VALID_HOST, ConductorDeps, Task
from core.messaging.errors import MessagingTimeout
from core.placement import claims
from core.placement.models import Allocation, ComputeNode
from core.scheduler.request_spec import Flavor as SchedulerFlavor

log = logging.getLogger(__name__)


def flavor_resources(flavor: dict) -> dict[str, int]:
    """What an instance of ``flavor`` claims on a node (as the scheduler counts it)."""
    f = SchedulerFlavor.from_dict(flavor)
    return {"vcpus": f.vcpus, "memory_mb": f.memory_mb, "disk_gb": f.disk_gb}


def assign(deps: ConductorDeps, uuid: str, selection: dict, alternates: list[dict],
           image: dict, expected: list, expected_host: str | None) -> bool:
    """Record the chosen host on the instance and cast the build to its agent;
    False (the claim on that node released) when the instance moved on."""
    try:
        inst = deps.store.update(
            uuid, {"host": selection["host"], "node": selection["nodename"],
                   "availability_zone": selection.get("availability_zone"),
                   "task_state": states.NETWORKING},
            expected_task_state=expected, expected_host=expected_host)
    except (InstanceNotFound, UnexpectedState) as exc:
        log.info("build of %s abandoned: %s", uuid, exc)
        claims.release_resources(deps.db, uuid, selection.get("node_id"))
        return False
    deps.ipam.allocate(uuid)
    deps.agents.build_and_run_instance(selection["host"], instance_message(inst), image,
                                       alternates)
    return True


def fail_build(deps: ConductorDeps, uuid: str, message: str, details: str | None) -> None:
    """The build ends in ERROR with a fault: its quota, claims and addresses go back."""
    with deps.db.session() as s:
        inst = s.scalar(select(Instance).where(Instance.uuid == uuid))
        if inst is None or inst.deleted or inst.vm_state != states.BUILDING:
            return
        held = inst.quota_held
        inst = deps.store.update(uuid, {"vm_state": states.ERROR, "task_state": None,
                                        "host": None, "node": None, "quota_held": False},
                                 s=s)
        if held:
            deps.quotas.release(s, inst.project_id, quota_deltas(inst.flavor))
        deps.store.add_fault(s, uuid, 500, message, details)
    claims.release_resources(deps.db, uuid)
    deps.ipam.release(uuid)
    deps.metrics.build_finished("ERROR")
    deps.notifier.instance(inst, "create.error", priority="error", message=message)


class BuildInstances(Task):
    """``build_instances``: schedule the instances still waiting for a host and
    hand each to the agent of the host chosen for it."""

    def __init__(self, deps: ConductorDeps, instance_uuids: list[str],
                 request_spec: dict) -> None:
        super().__init__(deps)
        self.instance_uuids = instance_uuids
        self.request_spec = request_spec
        self.pending: list[str] = []  # the builds this run took on to schedule
        self.selected: dict[str, dict] = {}  # the host (and claim) chosen for each
        self.sent: set[str] = set()  # the builds handed to an agent (or abandoned)

    def _execute(self) -> None:
        deps, spec = self.deps, self.request_spec
        image = spec.get("image") or {}
        pending: list[str] = []
        with deps.db.session() as s:
            rows = s.scalars(select(Instance).where(Instance.uuid.in_(self.instance_uuids))).all()
            by_uuid = {r.uuid: r for r in rows}
        for uuid in self.instance_uuids:
            inst = by_uuid.get(uuid)
            if inst is None or inst.deleted:
                continue
            if inst.task_state == states.SCHEDULING and inst.host is None:
                pending.append(uuid)
            elif inst.task_state == states.NETWORKING and inst.host:
                # A conductor died between assigning the host and telling the agent:
                # tell it (the agent drops a build it has already started). It may
                # have died before taking the address, too (allocate is idempotent).
                deps.ipam.allocate(uuid)
                deps.agents.build_and_run_instance(inst.host, instance_message(inst), image, [])
        if not pending:
            return
        self.pending = pending
        for uuid in pending:
            # Claims left by a conductor that died after scheduling are orphans.
            claims.release_resources(deps.db, uuid)
            deps.notifier.instance(by_uuid[uuid], "create.start")
        try:
            selections = deps.destinations.select(dict(spec, instance_uuids=pending))
        except MessagingTimeout as exc:  # no scheduler answered: as Nova, ERROR
            for uuid in pending:
                fail_build(deps, uuid, "No valid host was found. The scheduler did not "
                           "answer in time.", exc.message)
            return
        if selections is None:
            for uuid in pending:
                fail_build(deps, uuid, NO_VALID_HOST, None)
            return
        self.selected = {uuid: hosts[0] for uuid, hosts in zip(pending, selections, strict=True)}
        for uuid, hosts in zip(pending, selections, strict=True):
            assign(deps, uuid, hosts[0], hosts[1:], image, expected=[states.SCHEDULING],
                   expected_host=None)
            self.sent.add(uuid)

    def rollback(self, exc: Exception) -> None:
        """The builds this run took on and did not hand to an agent give back
        the claim it took for them and end in ERROR: the failed message is not
        delivered again, so nothing else would build them."""
        for uuid in self.pending:
            if uuid in self.sent:
                continue
            selection = self.selected.get(uuid)
            if selection is not None:
                claims.release_resources(self.deps.db, uuid, selection.get("node_id"))
            fail_build(self.deps, uuid, f"Build of instance {uuid} was aborted: the "
                       "conductor failed before handing it to a host.", type(exc).__name__)


class BuildResults:
    """What a compute agent reports about a build: spawned, or failed (then the
    next alternate host is tried, or the build ends in ERROR)."""

    def __init__(self, deps: ConductorDeps) -> None:
        self.deps = deps

    def build_succeeded(self, uuid: str, host: str, power_state: int) -> dict:
        """The agent spawned the instance: ACTIVE, and ``create.end`` once.

        The create action's ``finish_time`` records that ``create.end`` went out.
        When a conductor dies after the commit but before that, the agent's
        report is redelivered to another one, which finds the instance ACTIVE
        and unannounced, and announces it."""
        deps = self.deps
        fixed_ips = deps.fixed_ips(uuid)
        try:
            inst = deps.store.update(
                uuid, {"vm_state": states.ACTIVE, "task_state": None,
                       "power_state": power_state, "launched_at": utcnow(), "progress": 0},
                expected_task_state=[states.SPAWNING], expected_host=host)
        except InstanceNotFound:
            return {"ok": False, "deleted": True}
        except UnexpectedState as exc:
            unannounced = self._unannounced_build(uuid, host)
            if unannounced is None:
                return {"ok": False, "deleted": False, "reason": str(exc)}
            log.info("announcing the build of %s (its first report's conductor died)", uuid)
            inst = unannounced
        deps.notifier.instance(inst, "create.end", fixed_ips)
        deps.metrics.build_finished("ACTIVE")
        with deps.db.session() as s:
            s.execute(update(InstanceAction).where(
                InstanceAction.instance_uuid == uuid, InstanceAction.action == "create",
                InstanceAction.finish_time.is_(None)).values(finish_time=utcnow(),
                                                            updated_at=utcnow()))
        claims.record_build_result(deps.db, host, True)
        self._release_stray_claims(uuid, host)
        return {"ok": True}

    def _unannounced_build(self, uuid: str, host: str) -> Instance | None:
        """The instance if it is ACTIVE on ``host`` but its ``create.end`` never went out."""
        with self.deps.db.session() as s:
            inst = s.scalar(select(Instance).where(
                Instance.uuid == uuid, Instance.deleted.is_(False), Instance.host == host,
                Instance.vm_state == states.ACTIVE, Instance.task_state.is_(None),
                Instance.launched_at.is_not(None)))
            pending = s.scalar(select(InstanceAction.id).where(
                InstanceAction.instance_uuid == uuid, InstanceAction.action == "create",
                InstanceAction.finish_time.is_(None)))
        return inst if inst is not None and pending is not None else None

    def _release_stray_claims(self, uuid: str, host: str) -> None:
        """Release the instance's claims on nodes other than its host's.

        A conductor that dies waiting for ``select_destinations`` leaves the call
        in the scheduler's queue; its redelivered ``build_instances`` schedules
        again, and the first call's claim may land on another node after the
        orphan release at the start of the redelivered build.
        """
        with self.deps.db.session() as s:
            strays = list(s.scalars(select(Allocation.node_id).join(
                ComputeNode, ComputeNode.id == Allocation.node_id).where(
                Allocation.consumer_uuid == uuid, ComputeNode.host != host)))
        for node_id in strays:
            log.info("releasing the stray claim of %s on node %s", uuid, node_id)
            claims.release_resources(self.deps.db, uuid, node_id)

    def build_failed(self, uuid: str, host: str, reason: str, alternates: list[dict],
                     image: dict | None = None) -> None:
        deps = self.deps
        log.info("build of %s failed on %s: %s", uuid, host, reason)
        claims.release_resources(deps.db, uuid)
        claims.record_build_result(deps.db, host, False)
        try:
            inst = deps.store.get(uuid)
        except InstanceNotFound:
            return
        if inst.host != host or inst.task_state not in (states.SPAWNING, states.NETWORKING):
            return  # handled already (a duplicate message)
        resources = flavor_resources(inst.flavor)
        for i, alt in enumerate(alternates):
            if alt["host"] == host:
                continue
            if not claims.claim_resources(deps.db, uuid, alt["node_id"], resources,
                                          inst.project_id):
                continue
            assign(deps, uuid, alt, alternates[i + 1:], image or {},
                   expected=[states.SPAWNING, states.NETWORKING], expected_host=host)
            return
        message = (f"Exhausted all hosts available for retrying build failures for instance "
                   f"{uuid}." if alternates or deps.settings.max_attempts > 1 else reason)
        fail_build(deps, uuid, message, reason)
