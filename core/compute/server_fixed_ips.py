"""``addFixedIp`` / ``removeFixedIp`` (Nova's multinic actions, removed at 2.44):
a fixed address more on a network (as nova-network's multinic, a new
interface of the server on that network), or the interface holding an
address taken away."""

from __future__ import annotations

from core import errors
from core.compute import states
from core.compute.instance_store import InstanceStore, not_found
from core.compute.models import Instance
from core.context import RequestContext
from core.network.instance_ports import InstanceNetworking
from core.policy import PolicyEnforcer

ADD = "os_compute_api:os-multinic:add"
REMOVE = "os_compute_api:os-multinic:remove"
SETTLED = (states.ACTIVE, states.STOPPED, states.PAUSED_VM, states.SUSPENDED_VM)


class ServerFixedIps:
    def __init__(self, policy: PolicyEnforcer, store: InstanceStore,
                 ports: InstanceNetworking) -> None:
        self.policy = policy
        self.store = store
        self.ports = ports

    def _instance(self, ctx: RequestContext, uuid: str, rule: str, action: str) -> Instance:
        inst = self.store.get(uuid)
        if inst.project_id != ctx.project_id and not ctx.is_admin:
            raise not_found(uuid)
        self.policy.enforce(rule, {"project_id": inst.project_id, "user_id": inst.user_id},
                            ctx)
        if inst.vm_state not in SETTLED or inst.task_state is not None:
            raise errors.Conflict(f"Cannot '{action}' instance {inst.uuid} while it is in "
                                  f"vm_state {inst.vm_state}", kind="instance", id=inst.uuid,
                                  state=inst.vm_state)
        return inst

    def add(self, ctx: RequestContext, uuid: str, network_id: str) -> str:
        """A new address of the server on ``network_id``; the port that holds it."""
        inst = self._instance(ctx, uuid, ADD, "addFixedIp")
        try:
            resolved = self.ports.resolve(ctx, [{"uuid": network_id}])[0]
        except errors.NotFound:
            raise errors.InvalidInput(f"Network {network_id} could not be found.",
                                      param="networkId") from None
        return self.ports.attach(inst.uuid, inst.project_id, resolved,
                                 list(inst.security_groups or []), inst.host or "")

    def remove(self, ctx: RequestContext, uuid: str, address: str) -> None:
        inst = self._instance(ctx, uuid, REMOVE, "removeFixedIp")
        for item in self.ports.interfaces(inst.uuid):
            if any(f["ip_address"] == address for f in item["fixed_ips"]):
                self.ports.detach(inst.uuid, item["port_id"])
                return
        raise errors.InvalidInput(f"Unable to find address {address}", param="address")
