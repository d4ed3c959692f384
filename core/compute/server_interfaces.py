"""A server's network interfaces (``/servers/{id}/os-interface``): its ports,
listed, one more attached (a port given, or one made on a network), or one
detached — as Nova's interface attach does over Neutron."""

from __future__ import annotations

from typing import Any

from core import errors
from core.compute import states
from core.compute.instance_store import InstanceStore, not_found
from core.compute.models import Instance
from core.context import RequestContext
from core.network.instance_ports import InstanceNetworking
from core.policy import PolicyEnforcer

LIST = "os_compute_api:os-attach-interfaces:list"
SHOW = "os_compute_api:os-attach-interfaces:show"
CREATE = "os_compute_api:os-attach-interfaces:create"
DELETE = "os_compute_api:os-attach-interfaces:delete"
# Nova attaches and detaches interfaces in these states only.
ATTACHABLE = (states.ACTIVE, "paused", states.STOPPED, "suspended")


class ServerInterfaces:
    def __init__(self, policy: PolicyEnforcer, store: InstanceStore,
                 ports: InstanceNetworking) -> None:
        self.policy = policy
        self.store = store
        self.ports = ports

    def _instance(self, ctx: RequestContext, uuid: str, rule: str) -> Instance:
        inst = self.store.get(uuid)
        if inst.project_id != ctx.project_id and not ctx.is_admin:
            raise not_found(uuid)
        self.policy.enforce(rule, {"project_id": inst.project_id, "user_id": inst.user_id},
                            ctx)
        return inst

    @staticmethod
    def _settled(inst: Instance, action: str) -> None:
        if inst.vm_state not in ATTACHABLE or inst.task_state is not None:
            raise errors.Conflict(f"Cannot '{action}' instance {inst.uuid} while it is in "
                                  f"vm_state {inst.vm_state}", kind="instance", id=inst.uuid,
                                  state=inst.vm_state)

    def list(self, ctx: RequestContext, server_uuid: str) -> list[dict[str, Any]]:
        inst = self._instance(ctx, server_uuid, LIST)
        return self.ports.interfaces(inst.uuid)

    def show(self, ctx: RequestContext, server_uuid: str, port_id: str) -> dict[str, Any]:
        inst = self._instance(ctx, server_uuid, SHOW)
        for item in self.ports.interfaces(inst.uuid):
            if item["port_id"] == port_id:
                return item
        raise errors.NotFound(f"Instance {inst.uuid} is not attached to port {port_id}.",
                              kind="port", id=port_id)

    def attach(self, ctx: RequestContext, server_uuid: str, *, port_id: str | None = None,
               network_id: str | None = None, fixed_ip: str | None = None,
               tag: str | None = None) -> dict[str, Any]:
        """Attach the port (or a new one on the network); ``tag`` is its device tag."""
        inst = self._instance(ctx, server_uuid, CREATE)
        self._settled(inst, "attach_interface")
        if port_id:
            request: dict[str, Any] = {"port": port_id}
        elif network_id:
            request = {"uuid": network_id, **({"fixed_ip": fixed_ip} if fixed_ip else {})}
        else:
            chosen = self.ports.resolve(ctx, None)
            if not chosen:
                raise errors.InvalidInput("No network is available to attach an interface "
                                          "on: give a net_id or a port_id.", param="net_id")
            request = {"uuid": chosen[0]["network_id"]}
        resolved = self.ports.resolve(ctx, [request])[0]
        if tag is not None:
            resolved = {**resolved, "tag": tag}
        made = self.ports.attach(inst.uuid, inst.project_id, resolved,
                                 list(inst.security_groups or []), inst.host or "")
        return self.show(ctx, inst.uuid, made)

    def detach(self, ctx: RequestContext, server_uuid: str, port_id: str) -> None:
        inst = self._instance(ctx, server_uuid, DELETE)
        self._settled(inst, "detach_interface")
        self.ports.detach(inst.uuid, port_id)
