"""The conductor: runs the long instance flows (build with rescheduling, delete,
resize) and is the only way compute agents read or write the database.

Every endpoint is idempotent. A message delivered twice (RabbitMQ redelivers the
message of a conductor that died mid-flow) finds the instance already moved on
— each step is a compare-and-swap on the instance's task_state — and does nothing
twice that anyone could see.
"""

from __future__ import annotations

import base64
import logging
import uuid as uuidlib
from typing import Any

from sqlalchemy import delete, select, update

from core import errors
from core.compute import states
from core.compute.hosts import service_is_up
from core.compute.instance_store import (
    InstanceNotFound,
    InstanceStore,
    UnexpectedState,
    instance_message,
)
from core.compute.models import ComputeService, Instance, InstanceAction, ServerGroupMember
from core.compute.notifications import Notifier
from core.compute.quotas import QuotaService
from core.compute.rpcapi import SCHEDULER, AgentClient
from core.context import RequestContext
from core.db import Database
from core.db.base import utcnow
from core.messaging.errors import MessagingTimeout, RemoteError
from core.network.ipam import Ipam
from core.scheduler import claims
from core.scheduler.models import Allocation, ComputeNode
from core.scheduler.request_spec import Flavor as SchedulerFlavor
from core.settings import Settings

log = logging.getLogger(__name__)

NO_VALID_HOST = "No valid host was found. There are not enough hosts available."
MIGRATION_NS = uuidlib.UUID("6f1b9d1e-63c5-4a4b-9c44-7d0b2f3f5a10")


def migration_consumer(instance_uuid: str) -> str:
    """The consumer holding a resize's source-side allocation."""
    return str(uuidlib.uuid5(MIGRATION_NS, instance_uuid))


def flavor_resources(flavor: dict) -> dict[str, int]:
    """What an instance of ``flavor`` claims on a node (as the scheduler counts it)."""
    f = SchedulerFlavor.from_dict(flavor)
    return {"vcpus": f.vcpus, "memory_mb": f.memory_mb, "disk_gb": f.disk_gb}


def quota_deltas(flavor: dict, count: int = 1) -> dict[str, int]:
    return {"instances": count, "cores": count * int(flavor["vcpus"]),
            "ram": count * int(flavor["memory_mb"])}


class Conductor:
    def __init__(self, settings: Settings, db: Database, bus: Any, images: Any = None,
                 host: str = "conductor", scheduler: Any = None) -> None:
        """``scheduler``: the scheduler's endpoints when one runs in this process
        (all-in-one): called directly instead of over the bus, whose in-process
        transport costs a poll interval per hop."""
        self.settings = settings
        self.local_scheduler = scheduler
        self.db = db
        self.bus = bus
        self.images = images
        self.host = host
        self.store = InstanceStore(db)
        self.quotas = QuotaService(db, settings)
        self.ipam = Ipam(db, settings.fixed_range, settings.network_name)
        self.agents = AgentClient(bus)
        self.notifier = Notifier(bus, f"conductor.{host}")

    # ==== scheduling ======================================================
    def _select(self, spec: dict) -> list[list[dict]] | None:
        """The scheduler's selections, or None when no host fits."""
        if self.local_scheduler is not None:
            try:
                return self.local_scheduler.select_destinations(spec=spec)
            except errors.CoreError as exc:
                if type(exc).__name__ == "NoValidHost":
                    return None
                raise
        try:
            return self.bus.call(SCHEDULER, "select_destinations", {"spec": spec},
                                 timeout=60.0)
        except RemoteError as exc:
            if exc.exc_type == "NoValidHost":
                return None
            raise

    # ==== build ===========================================================
    def build_instances(self, instance_uuids: list[str], request_spec: dict) -> None:
        pending: list[str] = []
        with self.db.session() as s:
            rows = s.scalars(select(Instance).where(Instance.uuid.in_(instance_uuids))).all()
            by_uuid = {r.uuid: r for r in rows}
        for uuid in instance_uuids:
            inst = by_uuid.get(uuid)
            if inst is None or inst.deleted:
                continue
            if inst.task_state == states.SCHEDULING and inst.host is None:
                pending.append(uuid)
            elif inst.task_state == states.NETWORKING and inst.host:
                # A conductor died between assigning the host and telling the agent:
                # tell it (the agent drops a build it has already started). It may
                # have died before taking the address, too (allocate is idempotent).
                self.ipam.allocate(uuid)
                self.agents.build_and_run_instance(inst.host, instance_message(inst),
                                                   request_spec.get("image") or {}, [])
        if not pending:
            return
        for uuid in pending:
            # Claims left by a conductor that died after scheduling are orphans.
            claims.release_resources(self.db, uuid)
            self.notifier.instance(by_uuid[uuid], "create.start")
        spec = dict(request_spec, instance_uuids=pending)
        try:
            selections = self._select(spec)
        except MessagingTimeout as exc:  # no scheduler answered: as Nova, ERROR
            for uuid in pending:
                self._fail_build(uuid, "No valid host was found. The scheduler did not "
                                 "answer in time.", exc.message)
            return
        if selections is None:
            for uuid in pending:
                self._fail_build(uuid, NO_VALID_HOST, None)
            return
        for uuid, hosts in zip(pending, selections, strict=True):
            self._assign(uuid, hosts[0], hosts[1:], request_spec.get("image") or {},
                         expected=[states.SCHEDULING], expected_host=None)

    def _assign(self, uuid: str, selection: dict, alternates: list[dict], image: dict,
                expected: list, expected_host: str | None) -> bool:
        """Record the chosen host on the instance and cast the build to its agent."""
        try:
            inst = self.store.update(
                uuid, {"host": selection["host"], "node": selection["nodename"],
                       "availability_zone": selection.get("availability_zone"),
                       "task_state": states.NETWORKING},
                expected_task_state=expected, expected_host=expected_host)
        except (InstanceNotFound, UnexpectedState) as exc:
            log.info("build of %s abandoned: %s", uuid, exc)
            claims.release_resources(self.db, uuid, selection.get("node_id"))
            return False
        self.ipam.allocate(uuid)
        self.agents.build_and_run_instance(selection["host"], instance_message(inst), image,
                                           alternates)
        return True

    def build_succeeded(self, uuid: str, host: str, power_state: int) -> dict:
        """The agent spawned the instance: ACTIVE, and ``create.end`` once.

        The create action's ``finish_time`` records that ``create.end`` went out.
        When a conductor dies after the commit but before that, the agent's
        report is redelivered to another one, which finds the instance ACTIVE
        and unannounced, and announces it."""
        fixed_ips = self._fixed_ips(uuid)
        try:
            inst = self.store.update(
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
        self.notifier.instance(inst, "create.end", fixed_ips)
        with self.db.session() as s:
            s.execute(update(InstanceAction).where(
                InstanceAction.instance_uuid == uuid, InstanceAction.action == "create",
                InstanceAction.finish_time.is_(None)).values(finish_time=utcnow(),
                                                            updated_at=utcnow()))
        claims.record_build_result(self.db, host, True)
        self._release_stray_claims(uuid, host)
        return {"ok": True}

    def _unannounced_build(self, uuid: str, host: str) -> Instance | None:
        """The instance if it is ACTIVE on ``host`` but its ``create.end`` never went out."""
        with self.db.session() as s:
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
        with self.db.session() as s:
            strays = list(s.scalars(select(Allocation.node_id).join(
                ComputeNode, ComputeNode.id == Allocation.node_id).where(
                Allocation.consumer_uuid == uuid, ComputeNode.host != host)))
        for node_id in strays:
            log.info("releasing the stray claim of %s on node %s", uuid, node_id)
            claims.release_resources(self.db, uuid, node_id)

    def build_failed(self, uuid: str, host: str, reason: str, alternates: list[dict],
                     image: dict | None = None) -> None:
        log.info("build of %s failed on %s: %s", uuid, host, reason)
        claims.release_resources(self.db, uuid)
        claims.record_build_result(self.db, host, False)
        try:
            inst = self.store.get(uuid)
        except InstanceNotFound:
            return
        if inst.host != host or inst.task_state not in (states.SPAWNING, states.NETWORKING):
            return  # handled already (a duplicate message)
        resources = flavor_resources(inst.flavor)
        for i, alt in enumerate(alternates):
            if alt["host"] == host:
                continue
            if not claims.claim_resources(self.db, uuid, alt["node_id"], resources,
                                          inst.project_id):
                continue
            if self._assign(uuid, alt, alternates[i + 1:], image or {},
                            expected=[states.SPAWNING, states.NETWORKING], expected_host=host):
                return
            return
        message = (f"Exhausted all hosts available for retrying build failures for instance "
                   f"{uuid}." if alternates or self.settings.max_attempts > 1 else reason)
        self._fail_build(uuid, message, reason)

    def _fail_build(self, uuid: str, message: str, details: str | None) -> None:
        with self.db.session() as s:
            inst = s.scalar(select(Instance).where(Instance.uuid == uuid))
            if inst is None or inst.deleted or inst.vm_state != states.BUILDING:
                return
            held = inst.quota_held
            inst = self.store.update(uuid, {"vm_state": states.ERROR, "task_state": None,
                                            "host": None, "node": None, "quota_held": False},
                                     s=s)
            if held:
                self.quotas.release(s, inst.project_id, quota_deltas(inst.flavor))
            self.store.add_fault(s, uuid, 500, message, details)
        claims.release_resources(self.db, uuid)
        self.ipam.release(uuid)
        self.notifier.instance(inst, "create.error", priority="error", message=message)

    # ==== agents' database access ===========================================
    def instance_update(self, uuid: str, values: dict, expected_task_state: list | None,
                        host: str | None = None) -> dict:
        allowed = {"task_state", "vm_state", "power_state", "progress"}
        if set(values) - allowed:
            raise errors.InvalidInput(f"agents may not change {sorted(set(values) - allowed)}")
        try:
            if host:
                self.store.update(uuid, values, expected_task_state=expected_task_state,
                                  expected_host=host)
            else:
                self.store.update(uuid, values, expected_task_state=expected_task_state)
        except InstanceNotFound:
            return {"ok": False, "deleted": True}
        except UnexpectedState as exc:
            if self._already_applied(uuid, values, host):
                # The same request again: its first conductor committed the change
                # and died before replying, and the bus redelivered it to us.
                log.info("update of %s already applied (a repeated request)", uuid)
                return {"ok": True, "repeated": True}
            return {"ok": False, "deleted": False, "reason": str(exc)}
        return {"ok": True}

    def _already_applied(self, uuid: str, values: dict, host: str | None) -> bool:
        """The instance (on ``host``) already has ``values``, a task among them."""
        if values.get("task_state") is None:
            return False  # only a task names one change; clearing it could be anyone's
        try:
            inst = self.store.get(uuid)
        except InstanceNotFound:
            return False
        if host and inst.host != host:
            return False
        return all(getattr(inst, key) == value for key, value in values.items())

    def action_finished(self, uuid: str, host: str, action: str, values: dict,
                        expected_task_state: list, error: str | None = None) -> dict:
        """An agent finished stop/start/reboot: apply the end state (or clear the task)."""
        if error:
            values = {"task_state": None}
        result = self.instance_update(uuid, values, expected_task_state, host)
        if result["ok"]:
            inst = self.store.get(uuid)
            if error:
                with self.db.session() as s:
                    self.store.add_fault(s, uuid, 500, error, host=host)
                self.notifier.instance(inst, f"{action}.error", priority="error")
            else:
                self.notifier.instance(inst, f"{action}.end")
        return result

    def report_node(self, node: dict) -> dict:
        """Register or refresh a compute host (its service record and resources)."""
        now = utcnow()
        host = node["host"]
        zone = node.get("availability_zone") or self.settings.default_availability_zone
        for _attempt in range(3):
            try:
                with self.db.session() as s:
                    svc = s.scalar(select(ComputeService).where(
                        ComputeService.host == host, ComputeService.binary == "nova-compute"))
                    if svc is None:
                        svc = ComputeService(host=host, binary="nova-compute", topic="compute")
                        s.add(svc)
                    svc.availability_zone = zone
                    svc.last_seen_up = svc.updated_at = now
                    svc.report_count = (svc.report_count or 0) + 1
                    cn = s.scalar(select(ComputeNode).where(ComputeNode.host == host))
                    if cn is None:
                        cn = ComputeNode(host=host, vcpus_used=0, memory_mb_used=0,
                                         local_gb_used=0, running_vms=0, generation=0,
                                         failed_builds=0)
                        s.add(cn)
                    for key in ("vcpus", "memory_mb", "local_gb", "hypervisor_type",
                                "hypervisor_version", "architecture", "host_ip",
                                "capabilities", "cpu_allocation_ratio",
                                "ram_allocation_ratio", "disk_allocation_ratio"):
                        if key in node:
                            setattr(cn, key, node[key])
                    cn.hypervisor_hostname = node.get("hypervisor_hostname") or host
                    cn.availability_zone = zone
                    cn.updated_at = now
                return {"ok": True, "disabled": svc.disabled}
            except errors.ServiceUnavailable:
                raise
            except Exception:  # a concurrent first registration of the same host
                log.debug("report_node retry for %s", host, exc_info=True)
        raise errors.Conflict(f"could not register host {host}")

    def heartbeat(self, host: str) -> dict:
        with self.db.session() as s:
            svc = s.scalar(select(ComputeService).where(
                ComputeService.host == host, ComputeService.binary == "nova-compute"))
            if svc is None:
                return {"ok": False, "registered": False}
            svc.last_seen_up = svc.updated_at = utcnow()
            svc.report_count = (svc.report_count or 0) + 1
            return {"ok": True, "registered": True}

    # ==== delete ============================================================
    def delete_instance(self, uuid: str) -> None:
        try:
            inst = self.store.get(uuid)
        except InstanceNotFound:
            return
        if inst.host and self._host_up(inst.host):
            self.agents.terminate_instance(inst.host, instance_message(inst))
            if inst.source_host and inst.source_host != inst.host:
                self.agents.destroy_copy(inst.source_host, instance_message(inst))
            return
        self._finish_delete(uuid)

    def instance_destroyed(self, uuid: str, host: str) -> dict:
        self._finish_delete(uuid)
        return {"ok": True}

    def _finish_delete(self, uuid: str) -> None:
        now = utcnow()
        with self.db.session() as s:
            inst = s.scalar(select(Instance).where(Instance.uuid == uuid))
            if inst is None or inst.deleted:
                return
            if inst.quota_held:
                flavor = inst.flavor
                if inst.vm_state == states.RESIZED and inst.old_flavor:
                    old = inst.old_flavor  # an unconfirmed downsize still holds the old size
                    flavor = {k: max(int(flavor[k]), int(old[k])) for k in ("vcpus", "memory_mb")}
                self.quotas.release(s, inst.project_id, quota_deltas(flavor))
            inst.vm_state, inst.task_state, inst.power_state = states.DELETED, None, states.NOSTATE
            inst.deleted, inst.deleted_at, inst.terminated_at = True, now, now
            inst.quota_held, inst.updated_at = False, now
            inst.generation += 1
            s.execute(delete(ServerGroupMember).where(ServerGroupMember.instance_uuid == uuid))
        claims.release_resources(self.db, uuid)
        claims.release_resources(self.db, migration_consumer(uuid))
        fixed = self._fixed_ips(uuid)
        self.ipam.release(uuid)
        self.notifier.instance(inst, "delete.end", fixed)

    def _host_up(self, host: str) -> bool:
        with self.db.session() as s:
            svc = s.scalar(select(ComputeService).where(
                ComputeService.host == host, ComputeService.binary == "nova-compute"))
        return svc is not None and service_is_up(svc, self.settings.service_down_time)

    # ==== resize ============================================================
    def resize_instance(self, uuid: str, request_spec: dict) -> None:
        try:
            inst = self.store.get(uuid)
        except InstanceNotFound:
            return
        if inst.task_state != states.RESIZE_PREP or not inst.new_flavor:
            return
        mig = migration_consumer(uuid)
        claims.rename_consumer(self.db, uuid, mig)
        self.notifier.instance(inst, "resize.start")
        selections = self._select(dict(request_spec, instance_uuids=[uuid]))
        if selections is None:
            self._resize_failed(uuid, NO_VALID_HOST)
            return
        chosen = selections[0][0]
        try:
            inst = self.store.update(uuid, {"task_state": states.RESIZE_MIGRATING},
                                     expected_task_state=[states.RESIZE_PREP])
        except (InstanceNotFound, UnexpectedState):
            claims.release_resources(self.db, uuid)
            return
        self.agents.finish_resize(chosen["host"], instance_message(inst), inst.new_flavor or {})

    def resize_finished(self, uuid: str, host: str, error: str | None = None) -> dict:
        if error:
            self._resize_failed(uuid, error)
            return {"ok": False}
        with self.db.session() as s:
            inst = s.scalar(select(Instance).where(Instance.uuid == uuid))
            if inst is None or inst.deleted or inst.task_state != states.RESIZE_MIGRATING:
                return {"ok": False}
            new = inst.new_flavor or inst.flavor
            inst = self.store.update(uuid, {
                "vm_state": states.RESIZED, "task_state": None, "old_flavor": inst.flavor,
                "flavor": new, "new_flavor": None, "flavorid": new["flavorid"],
                "vcpus": new["vcpus"], "memory_mb": new["memory_mb"],
                "root_gb": new["root_gb"], "source_host": inst.host, "host": host,
                "node": host}, expected_task_state=[states.RESIZE_MIGRATING], s=s)
        self.notifier.instance(inst, "resize.end")
        return {"ok": True}

    def _resize_failed(self, uuid: str, message: str) -> None:
        claims.release_resources(self.db, uuid)
        claims.rename_consumer(self.db, migration_consumer(uuid), uuid)
        with self.db.session() as s:
            inst = s.scalar(select(Instance).where(Instance.uuid == uuid))
            if inst is None or inst.deleted:
                return
            new = inst.new_flavor
            try:
                self.store.update(uuid, {"task_state": None, "new_flavor": None},
                                  expected_task_state=[states.RESIZE_PREP,
                                                       states.RESIZE_MIGRATING], s=s)
            except UnexpectedState:
                return
            if new and inst.quota_held:
                self.quotas.release(s, inst.project_id, grown(inst.flavor, new))
            self.store.add_fault(s, uuid, 500, message)

    def revert_resize(self, uuid: str) -> None:
        try:
            inst = self.store.get(uuid)
        except InstanceNotFound:
            return
        if inst.task_state != states.RESIZE_REVERTING or not inst.old_flavor:
            return
        source = inst.source_host or inst.host
        if inst.host and inst.host != source:
            self.agents.destroy_copy(inst.host, instance_message(inst))
        claims.release_resources(self.db, uuid)
        claims.rename_consumer(self.db, migration_consumer(uuid), uuid)
        old, new = inst.old_flavor, inst.flavor
        with self.db.session() as s:
            try:
                inst = self.store.update(uuid, {
                    "vm_state": states.ACTIVE if inst.power_state == states.RUNNING
                    else states.STOPPED, "task_state": None, "flavor": old,
                    "old_flavor": None, "flavorid": old["flavorid"], "vcpus": old["vcpus"],
                    "memory_mb": old["memory_mb"], "root_gb": old["root_gb"],
                    "host": source, "node": source, "source_host": None},
                    expected_task_state=[states.RESIZE_REVERTING], s=s)
            except (InstanceNotFound, UnexpectedState):
                return
            if inst.quota_held:
                self.quotas.release(s, inst.project_id, grown(old, new))
        self.agents.finish_resize(source or "", dict(instance_message(inst), report=False), old)
        self.notifier.instance(inst, "resize.revert.end")

    # ==== snapshots ===========================================================
    def upload_snapshot(self, uuid: str, image_id: str, data_b64: str,
                        error: str | None = None) -> dict:
        """Store a snapshot's data and activate its image; when the snapshot failed
        (or its instance went away) delete the image, as Nova does."""
        try:
            inst = self.store.get(uuid, deleted=True)
        except InstanceNotFound:
            inst = None
        ok = False
        if inst is not None and inst.deleted and error is None:
            error = f"Instance {uuid} was deleted during the snapshot."
        ctx = RequestContext(user_id=inst.user_id if inst else None,
                             project_id=inst.project_id if inst else None,
                             roles=("admin", "member", "reader"), is_admin=True)
        if error is None and self.images is not None and inst is not None:
            try:
                store, limit = self.images.data.begin_upload(ctx, image_id, None)
                self.images.data.store_data(image_id, store, limit,
                                            [base64.b64decode(data_b64)], "saving")
                ok = True
            except errors.CoreError as exc:
                error = exc.message
        if not ok and self.images is not None:
            try:
                # A repeated request must not delete what its first run stored.
                if self.images.show(ctx, image_id).image.status != "active":
                    self.images.delete(ctx, image_id)
                else:
                    ok, error = True, None
            except errors.NotFound:
                pass
            except errors.CoreError:
                log.warning("could not delete the failed snapshot %s", image_id,
                            exc_info=True)
        if inst is not None and not inst.deleted:
            try:
                self.store.update(uuid, {"task_state": None},
                                  expected_task_state=[states.IMAGE_SNAPSHOT,
                                                       states.IMAGE_UPLOADING])
            except (InstanceNotFound, UnexpectedState):
                pass
        if inst is not None:
            if ok:
                self.notifier.instance(inst, "snapshot.end", image_id=image_id)
            else:
                self.notifier.instance(inst, "snapshot.error", priority="error",
                                       image_id=image_id, message=error)
        return {"ok": ok, "error": error}

    # ---- helpers ---------------------------------------------------------------
    def _fixed_ips(self, uuid: str) -> list[dict]:
        return [{"address": a.address, "label": a.network, "version": a.version,
                 "vif_mac": a.mac_address, "type": "fixed"}
                for a in self.ipam.addresses_for([uuid]).get(uuid, [])]


def grown(old: dict, new: dict) -> dict[str, int]:
    """The quota a resize from ``old`` to ``new`` adds (never negative)."""
    return {"cores": max(0, int(new["vcpus"]) - int(old["vcpus"])),
            "ram": max(0, int(new["memory_mb"]) - int(old["memory_mb"]))}


def shrunk(old: dict, new: dict) -> dict[str, int]:
    """The quota a confirmed downsize from ``old`` to ``new`` frees."""
    return {"cores": max(0, int(old["vcpus"]) - int(new["vcpus"])),
            "ram": max(0, int(old["memory_mb"]) - int(new["memory_mb"]))}
