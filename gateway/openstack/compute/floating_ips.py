"""Nova's floating IP proxies (deprecated in 2.36, as Nova has them below it):
``/os-floating-ips``, ``/os-floating-ip-pools`` and the ``addFloatingIp`` /
``removeFloatingIp`` server actions — over the Network API's floating IPs."""

from __future__ import annotations

from typing import Any

from connexion import NoContent

from core import errors
from core.context import RequestContext
from core.network.floating import ADD, REMOVE, AlreadyAssociated, FloatingAddress
from gateway.openstack.compute import microversions
from gateway.openstack.compute.base import Handler


def floating_view(a: FloatingAddress) -> dict[str, Any]:
    return {"id": a.allocation_id, "ip": a.address, "pool": a.pool,
            "fixed_ip": a.fixed_address, "instance_id": a.instance_uuid}


class FloatingIps(Handler):
    def list(self):
        microversions.require_proxy()  # 404 from 2.36, as Nova
        addresses = self.deps.floating_ips.list_addresses(self.context())
        return {"floating_ips": [floating_view(a) for a in addresses]}

    def show(self, floating_ip_id: str):
        microversions.require_proxy()  # 404 from 2.36, as Nova
        return {"floating_ip": floating_view(self._find(self.context(), floating_ip_id))}

    def create(self, body: dict | None = None):
        microversions.require_proxy()  # 404 from 2.36, as Nova
        pool = (body or {}).get("pool")
        if pool is not None and not isinstance(pool, str):
            raise errors.InvalidInput("Invalid input for field/attribute pool.")
        made = self.deps.floating_ips.allocate(self.context(), pool)
        return {"floating_ip": floating_view(made)}

    def delete(self, floating_ip_id: str):
        microversions.require_proxy()  # 404 from 2.36, as Nova
        ctx = self.context()
        found = self._find(ctx, floating_ip_id)
        if found.instance_uuid:  # Nova disassociates, then releases
            self.deps.floating_ips.disassociate(ctx, address=found.address)
        self.deps.floating_ips.release(ctx, allocation_id=found.allocation_id)
        return NoContent, 202

    def pools(self):
        microversions.require_proxy()  # 404 from 2.36, as Nova
        names = self.deps.floating_ips.pools(self.context())
        return {"floating_ip_pools": [{"name": n} for n in names]}

    def _find(self, ctx: RequestContext, ident: str) -> FloatingAddress:
        for a in self.deps.floating_ips.list_addresses(ctx):
            if a.allocation_id == ident:
                return a
        raise errors.NotFound(f"Floating IP not found for ID {ident}", kind="floating_ip",
                              id=ident)


def floating_action(handler: Handler, ctx: RequestContext, server_uuid: str, name: str,
                    arg: Any) -> None:
    """``addFloatingIp`` / ``removeFloatingIp`` on a server the caller may see."""
    address = arg.get("address") if isinstance(arg, dict) else None
    if not isinstance(address, str) or not address:
        raise errors.InvalidInput("Missing parameter: address")
    floating = handler.deps.floating_ips
    inst = handler.deps.servers.get(ctx, server_uuid)
    # As Nova: the action's rule right after the server, before the address.
    rule = REMOVE if name == "removeFloatingIp" else ADD
    handler.auth.policy.enforce(rule, {"project_id": inst.project_id,
                                       "user_id": inst.user_id}, ctx)
    held = {a.address: a for a in floating.list_addresses(ctx)}
    if address not in held:
        raise errors.NotFound(f"floating IP not found: {address}", kind="floating_ip",
                              id=address)
    if name == "removeFloatingIp":
        if held[address].instance_uuid != inst.uuid:
            raise errors.Conflict(f"Floating IP {address} is not associated with instance "
                                  f"{inst.uuid}.", kind="floating_ip", id=address)
        floating.disassociate(ctx, address=address)
        return
    fixed = arg.get("fixed_address")
    if fixed is not None:
        mine = [a.address for a in handler.deps.servers.addresses([inst.uuid]).get(inst.uuid, [])
                if a.type == "fixed"]
        if fixed not in mine:
            raise errors.InvalidInput(f"Specified fixed address {fixed} not assigned to "
                                      "instance")
    try:
        floating.associate(ctx, inst.uuid, address=address, fixed_address=fixed,
                           exclusive=False)
    except AlreadyAssociated:
        raise errors.InvalidInput("floating IP is already associated") from None
