"""What compute agents ask of the database, through the conductor (they have no
database access of their own): register and heartbeat their host, and change
an instance's state as a compare-and-swap on the task they expect."""

from __future__ import annotations

import logging

from sqlalchemy import select

from core import errors
from core.clock import utcnow
from core.compute.instance_actions import TASK_EVENTS, InstanceActionRecords
from core.compute.instance_store import InstanceNotFound, UnexpectedState
from core.compute.models import ComputeService
from core.conductor.tasks import ConductorDeps
from core.placement.changes import note_nodes_changed
from core.placement.models import ComputeNode

log = logging.getLogger(__name__)

# What agents may change on an instance; every other column is the API's or the conductor's.
AGENT_FIELDS = {"task_state", "vm_state", "power_state", "progress"}
NODE_FIELDS = ("vcpus", "memory_mb", "local_gb", "hypervisor_type", "hypervisor_version",
               "architecture", "host_ip", "capabilities", "cpu_allocation_ratio",
               "ram_allocation_ratio", "disk_allocation_ratio")


class AgentRequests:
    def __init__(self, deps: ConductorDeps) -> None:
        self.deps = deps

    def instance_update(self, uuid: str, values: dict, expected_task_state: list | None,
                        host: str | None = None) -> dict:
        store = self.deps.store
        if set(values) - AGENT_FIELDS:
            raise errors.InvalidInput(f"agents may not change {sorted(set(values) - AGENT_FIELDS)}")
        try:
            if host:
                store.update(uuid, values, expected_task_state=expected_task_state,
                             expected_host=host)
            else:
                store.update(uuid, values, expected_task_state=expected_task_state)
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
            inst = self.deps.store.get(uuid)
        except InstanceNotFound:
            return False
        if host and inst.host != host:
            return False
        return all(getattr(inst, key) == value for key, value in values.items())

    def action_finished(self, uuid: str, host: str, action: str, values: dict,
                        expected_task_state: list, error: str | None = None) -> dict:
        """An agent finished a power or state action (stop, pause, rescue ...): apply
        the end state (or clear the task). ``action`` names its notifications
        (``compute.instance.<action>.end``); empty: it has none."""
        deps = self.deps
        if error:
            values = {"task_state": None}
        result = self.instance_update(uuid, values, expected_task_state, host)
        event = next((TASK_EVENTS[t] for t in expected_task_state if t in TASK_EVENTS), None)
        if result["ok"] and not result.get("repeated") and event:
            InstanceActionRecords(deps.db).record_event(uuid, None, event, host, error=error,
                                                        details=error)
        if result["ok"]:
            inst = deps.store.get(uuid)
            if error:
                with deps.db.session() as s:
                    deps.store.add_fault(s, uuid, 500, error, host=host)
                if action:
                    deps.notifier.instance(inst, f"{action}.error", priority="error")
            elif action:
                deps.notifier.instance(inst, f"{action}.end")
        return result

    def report_node(self, node: dict) -> dict:
        """Register or refresh a compute host (its service record and resources)."""
        deps = self.deps
        now = utcnow()
        host = node["host"]
        zone = node.get("availability_zone") or deps.settings.default_availability_zone
        for _attempt in range(3):
            try:
                with deps.db.session() as s:
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
                    for key in NODE_FIELDS:
                        if key in node:
                            setattr(cn, key, node[key])
                    cn.hypervisor_hostname = node.get("hypervisor_hostname") or host
                    cn.availability_zone = zone
                    cn.updated_at = now
                    s.flush()  # a new node gets its id
                    note_nodes_changed(s, [cn.id])  # the schedulers reload it
                return {"ok": True, "disabled": svc.disabled}
            except errors.ServiceUnavailable:
                raise
            except Exception:  # a concurrent first registration of the same host
                log.debug("report_node retry for %s", host, exc_info=True)
        raise errors.Conflict(f"could not register host {host}")

    def heartbeat(self, host: str) -> dict:
        with self.deps.db.session() as s:
            svc = s.scalar(select(ComputeService).where(
                ComputeService.host == host, ComputeService.binary == "nova-compute"))
            if svc is None:
                return {"ok": False, "registered": False}
            svc.last_seen_up = svc.updated_at = utcnow()
            svc.report_count = (svc.report_count or 0) + 1
            return {"ok": True, "registered": True}
