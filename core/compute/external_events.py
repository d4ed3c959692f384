"""Events other services tell servers of (Nova's ``os-server-external-events``):
Neutron's network-vif-plugged and friends, Cinder's volume-extended and
volume-reimaged, Ironic's power-update, Cyborg's accelerator-request-bound.

Each event gets an :class:`Outcome` of its own (the API edge turns them into
Nova's per-event codes): accepted, no such server, its tag missing where the
event needs one, or the server on no host yet (nothing could act on it).

A ``power-update`` (tag ``POWER_ON`` / ``POWER_OFF``) brings the server's state
in line with the power state the other service saw, as Nova's compute manager
``power_update`` does: an active server with no task is powered off (it ends
``stopped``), a stopped one powered on (``active``); a server already in the
target state, or busy with a task, is left alone. The other events need no
action from the simulated hosts; accepted events are logged."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, replace

from core import errors
from core.compute import states
from core.compute.instance_store import InstanceStore, UnexpectedState, instance_message
from core.compute.models import Instance
from core.compute.rpcapi import AgentClient
from core.context import RequestContext
from core.policy import PolicyEnforcer

log = logging.getLogger(__name__)
RULE = "os_compute_api:os-server-external-events:create"
# nova/api/openstack/compute/server_external_events.py TAG_REQUIRED (+ volume-reimaged)
TAG_REQUIRED = frozenset({"volume-extended", "power-update", "accelerator-request-bound",
                          "volume-reimaged"})
POWER_ON, POWER_OFF = "POWER_ON", "POWER_OFF"


class Outcome(enum.Enum):
    """What became of one event."""

    ACCEPTED = "accepted"
    NO_SERVER = "no_server"      # no such server
    TAG_MISSING = "tag_missing"  # the event needs a tag
    NO_HOST = "no_host"          # the server is on no host: nothing to tell


@dataclass(frozen=True)
class ExternalEvent:
    name: str
    server_uuid: str
    status: str = "completed"
    tag: str | None = None
    outcome: Outcome = Outcome.ACCEPTED


class ExternalEvents:
    def __init__(self, policy: PolicyEnforcer, store: InstanceStore,
                 agents: AgentClient | None = None) -> None:
        self.policy = policy
        self.store = store
        self.agents = agents

    def create(self, ctx: RequestContext, events: list[ExternalEvent]) -> list[ExternalEvent]:
        """Each event with its outcome (and status "failed" when not accepted)."""
        self.policy.enforce(RULE, {}, ctx)
        out = []
        for event in events:
            try:
                inst = self.store.get(event.server_uuid)
            except errors.NotFound:
                out.append(replace(event, outcome=Outcome.NO_SERVER, status="failed"))
                continue
            if event.name in TAG_REQUIRED and event.tag is None:
                out.append(replace(event, outcome=Outcome.TAG_MISSING, status="failed"))
                continue
            if not inst.host:
                out.append(replace(event, outcome=Outcome.NO_HOST, status="failed"))
                continue
            log.info("external event %s:%s for %s on %s", event.name, event.tag,
                     inst.uuid, inst.host)
            if event.name == "power-update":
                self._power_update(inst, event.tag or "")
            out.append(replace(event, outcome=Outcome.ACCEPTED, status="completed"))
        return out

    def _power_update(self, inst: Instance, target: str) -> None:
        """Power the server off or on (Nova's ``ComputeManager.power_update``)."""
        if self.agents is None or inst.task_state is not None:
            log.info("power-update %s ignored for %s: task %s", target, inst.uuid,
                     inst.task_state)
            return
        if target == POWER_OFF and inst.vm_state == states.ACTIVE:
            task, cast = states.POWERING_OFF, self.agents.stop_instance
        elif target == POWER_ON and inst.vm_state == states.STOPPED:
            task, cast = states.POWERING_ON, self.agents.start_instance
        else:
            log.info("power-update %s: %s is %s already (or the target is unknown)",
                     target, inst.uuid, inst.vm_state)
            return
        try:
            claimed = self.store.update(inst.uuid, {"task_state": task},
                                        expected_task_state=[None],
                                        expected_vm_state=[inst.vm_state])
        except UnexpectedState:
            return  # another request moved it meanwhile: Nova skips a busy instance too
        cast(claimed.host or "", instance_message(claimed))
