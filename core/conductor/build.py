"""Building instances: scheduling, handing each to its host's agent, and what
the agent reports back (spawned, or failed and rescheduled to an alternate).

Every step is a compare-and-swap on the instance's task_state, so a message
delivered twice (RabbitMQ redelivers the message of a conductor that died
mid-flow) finds the instance already moved on and does nothing twice.
"""

from __future__ import annotations

import logging
import uuid as uuidlib

from sqlalchemy import select, update

from core import errors
from core.clock import utcnow
from core.compute import states
from core.compute.instance_actions import BUILD_EVENT, add_event
from core.compute.instance_store import InstanceNotFound, UnexpectedState, instance_message
from core.compute.models import Instance, InstanceAction
from core.compute.usage import quota_deltas
from core.conductor.boot_volumes import BootVolumeFailed, BootVolumePreparer
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
           image: dict, expected: list, expected_host: str | None,
           holder: str | None = None) -> bool:
    """Record the chosen host on the instance and cast the build to its agent;
    False (the claim ``holder`` took on that node released) when the instance
    moved on."""
    inst = take_host(deps, uuid, selection, expected, expected_host, holder)
    if inst is None:
        return False
    hand_over(deps, inst, image, alternates)
    return True


def take_host(deps: ConductorDeps, uuid: str, selection: dict, expected: list,
              expected_host: str | None, holder: str | None) -> Instance | None:
    """Record the chosen host on the instance (a compare-and-swap on its task
    state); None, and the claim ``holder`` took on that node released, when the
    instance moved on."""
    try:
        return deps.store.update(
            uuid, {"host": selection["host"], "node": selection["nodename"],
                   "availability_zone": selection.get("availability_zone"),
                   "task_state": states.NETWORKING},
            expected_task_state=expected, expected_host=expected_host)
    except (InstanceNotFound, UnexpectedState) as exc:
        log.info("build of %s abandoned: %s", uuid, exc)
        claims.release_resources(deps.db, uuid, selection.get("node_id"), holder=holder)
        return None


def hand_over(deps: ConductorDeps, inst: Instance, image: dict, alternates: list[dict]) -> None:
    """Take the instance's address and cast the build to its host's agent."""
    assert inst.host is not None, "hand_over follows take_host"
    if not allocate_network(deps, inst):
        return
    deps.agents.build_and_run_instance(inst.host, build_message(deps, inst), image, alternates)


def build_message(deps: ConductorDeps, inst: Instance) -> dict:
    """The instance as the agent builds it, with the volumes to connect after the spawn."""
    message = instance_message(inst)
    if deps.volumes is not None:
        message["block_devices"] = BootVolumePreparer(deps).block_devices(inst.uuid)
    return message


def allocate_network(deps: ConductorDeps, inst: Instance) -> bool:
    """The server's ports, made or bound (idempotent). A port that cannot be
    had (an address taken meanwhile, the port quota, a deleted network) fails
    the build, as Nova's "Failed to allocate the network(s)"; False then."""
    try:
        deps.ipam.allocate(inst.uuid, inst.project_id, inst.requested_networks,
                           list(inst.security_groups or []), inst.host or "")
        return True
    except errors.CoreError as exc:
        log.info("network allocation for %s failed: %s", inst.uuid, exc)
        fail_build(deps, inst.uuid, "Build of instance aborted: Failed to allocate the "
                   "network(s), not rescheduling.", str(exc), on_host=inst.host)
        return False


def fail_build(deps: ConductorDeps, uuid: str, message: str, details: str | None,
               waiting: bool = False, on_host: str | None = None,
               generation: int | None = None) -> bool:
    """The build ends in ERROR with a fault: its quota, claims and addresses go back.

    ``waiting``: only if it is still waiting for a host (a duplicate delivery of
    the build may have handed it to one meanwhile); ``on_host``: only if it is
    still being handed to that host; ``generation``: only if nothing changed it
    since it was read. False when it had moved on."""
    expected: dict = {"expected_vm_state": [states.BUILDING],
                      "expected_generation": generation}
    if waiting:
        expected.update(expected_task_state=[states.SCHEDULING], expected_host=None)
    elif on_host is not None:
        expected.update(expected_task_state=[states.NETWORKING], expected_host=on_host)
    with deps.db.session() as s:
        inst = s.scalar(select(Instance).where(Instance.uuid == uuid))
        if inst is None or inst.deleted or inst.vm_state != states.BUILDING:
            return False
        held = inst.quota_held
        try:
            inst = deps.store.update(uuid, {"vm_state": states.ERROR, "task_state": None,
                                            "host": None, "node": None, "quota_held": False},
                                     s=s, **expected)
        except (InstanceNotFound, UnexpectedState) as exc:
            log.info("not failing the build of %s: %s", uuid, exc)
            return False
        if held:
            deps.quotas.release(s, inst.project_id, quota_deltas(inst.flavor))
        deps.store.add_fault(s, uuid, 500, message, details)
        # With the ERROR: whoever sees the failed build sees its ports gone.
        deps.ipam.release(uuid, s)
    claims.release_resources(deps.db, uuid)
    deps.metrics.build_finished("ERROR")
    deps.notifier.instance(inst, "create.error", priority="error", message=message)
    return True


def held_by_another_flow(deps: ConductorDeps, uuid: str, holder: str) -> bool:
    """Whether another conductor flow holds a claim for the build: a live flow
    (this run is its duplicate), or a dead one (a stale claim that recovery or
    the build's success gives back)."""
    with deps.db.session() as s:
        return s.scalar(select(Allocation.node_id).where(
            Allocation.consumer_uuid == uuid, Allocation.holder.is_not(None),
            Allocation.holder != holder).limit(1)) is not None


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
        self.assigned: set[str] = set()  # the builds whose host this run recorded
        self.holder = str(uuidlib.uuid4())  # the claims this run takes are held by it

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
                if not allocate_network(deps, inst):
                    continue
                deps.agents.build_and_run_instance(inst.host, build_message(deps, inst), image,
                                                   [])
        if spec.get("block_devices"):
            pending = self._prepare_volumes(pending, by_uuid, spec["block_devices"])
        if not pending:
            return
        self.pending = pending
        for uuid in pending:
            deps.notifier.instance(by_uuid[uuid], "create.start")
        # The scheduler's claims are this run's: a duplicate delivery of the build
        # (running beside this one, or after it) cannot release them, nor this
        # run the claims of a live duplicate. Claims of a flow that died are
        # released when the build lands (stray claims) or fails.
        spec = dict(spec, instance_uuids=pending, claim_holder=self.holder)
        try:
            selections = deps.destinations.select(spec)
        except MessagingTimeout as exc:  # no scheduler answered: as Nova, ERROR
            self._fail_waiting(pending, "No valid host was found. The scheduler did not "
                               "answer in time.", exc.message)
            return
        if selections is None:
            self._fail_waiting(pending, NO_VALID_HOST, None)
            return
        self.selected = {uuid: hosts[0] for uuid, hosts in zip(pending, selections, strict=True)}
        for uuid, hosts in zip(pending, selections, strict=True):
            inst = take_host(deps, uuid, hosts[0], expected=[states.SCHEDULING],
                             expected_host=None, holder=self.holder)
            if inst is not None:
                self.assigned.add(uuid)
                hand_over(deps, inst, image, hosts[1:])
            self.sent.add(uuid)

    def _prepare_volumes(self, pending: list[str], by_uuid: dict[str, Instance],
                         mappings: list[dict]) -> list[str]:
        """The builds whose volumes are ready; the others fail (before any claim)."""
        preparer, ready = BootVolumePreparer(self.deps), []
        for uuid in pending:
            try:
                preparer.prepare(by_uuid[uuid], mappings)
                ready.append(uuid)
            except BootVolumeFailed as exc:
                log.info("build of %s: %s", uuid, exc)
                fail_build(self.deps, uuid, str(exc)[:255], None, waiting=True)
        return ready

    def _fail_waiting(self, pending: list[str], message: str, details: str | None) -> None:
        """ERROR for each build still waiting for a host, unless another flow holds
        a claim for it: then this run is a duplicate that found no room because
        the live flow has it, and the build is that flow's to finish."""
        for uuid in pending:
            if held_by_another_flow(self.deps, uuid, self.holder):
                log.info("build of %s: no host for this delivery, but another flow "
                         "holds a claim for it; leaving it to that flow", uuid)
                continue
            fail_build(self.deps, uuid, message, details, waiting=True)

    def rollback(self, exc: Exception) -> None:
        """The builds this run took on and did not hand to an agent give back
        the claim it took for them and end in ERROR: the failed message is not
        delivered again, so nothing else would build them."""
        for uuid in self.pending:
            if uuid in self.sent:
                continue
            selection = self.selected.get(uuid)
            if selection is not None:
                claims.release_resources(self.deps.db, uuid, selection.get("node_id"),
                                         holder=self.holder)
            on_host = selection["host"] if selection and uuid in self.assigned else None
            fail_build(self.deps, uuid, f"Build of instance {uuid} was aborted: the "
                       "conductor failed before handing it to a host.", type(exc).__name__,
                       waiting=on_host is None, on_host=on_host)


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
            finished = s.execute(update(InstanceAction).where(
                InstanceAction.instance_uuid == uuid, InstanceAction.action == "create",
                InstanceAction.finish_time.is_(None)).values(finish_time=utcnow(),
                                                            updated_at=utcnow()))
            if getattr(finished, "rowcount", 0):  # once, with the announcement
                add_event(s, uuid, None, BUILD_EVENT, host, action_name="create")
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
        try:
            inst = deps.store.get(uuid)
        except InstanceNotFound:
            return
        if inst.host != host or inst.task_state not in (states.SPAWNING, states.NETWORKING):
            # Handled already (a duplicate message): the claim on ``host`` went back
            # then, and the claim on the alternate is the live build's.
            return
        with deps.db.session() as s:
            failed_nodes = list(s.scalars(select(ComputeNode.id).where(
                ComputeNode.host == host)))
            add_event(s, uuid, None, BUILD_EVENT, host, error=reason, details=reason,
                      action_name="create")
        for node_id in failed_nodes:
            claims.release_resources(deps.db, uuid, node_id)
        claims.record_build_result(deps.db, host, False)
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
