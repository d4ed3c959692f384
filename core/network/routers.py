"""Routers: a project's subnets joined (each by an interface port holding the
subnet's gateway address) and, through a gateway port, an external network —
the path floating IPs need. Static routes (``extraroute``) go through a
subnet the router is on."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.network.base import ResourceService, bump, flag, standard, tags_of, text
from core.network.errors import (
    BadRequest,
    InvalidInput,
    IpAddressInUse,
    NetworkNotFound,
    PortInUse,
    PortNotFound,
    RouterInterfaceInUseByFloatingIP,
    RouterInterfaceNotFound,
    RouterInterfaceNotFoundForSubnet,
    RouterInUse,
    RouterNotFound,
    SubnetNotFound,
)
from core.network.ipam import ROUTER_OWNERS
from core.network.models import FloatingIp, IpAllocation, Network, Port, Router, Subnet
from core.network.networks import NetworkService
from core.network.ports import delete_port_rows, new_port
from core.network.query import Columns
from core.network.subnets import SubnetService, check_routes

INTERFACE = "network:router_interface"
GATEWAY = "network:router_gateway"


def interface_ports(s: Session, router_ids: Sequence[str]) -> dict[str, list[Port]]:
    out: dict[str, list[Port]] = defaultdict(list)
    for port in s.scalars(select(Port).where(Port.device_id.in_(router_ids),
                                             Port.device_owner.in_(ROUTER_OWNERS))):
        out[port.device_id].append(port)
    return out


class RouterService(ResourceService):
    model = Router
    resource = "router"
    columns = Columns.of(Router, "router", texts=("status",), bools=("admin_state_up",))
    not_found = RouterNotFound

    def __init__(self, db, policy, quotas, networks: NetworkService,
                 subnets: SubnetService) -> None:
        super().__init__(db, policy, quotas)
        self.networks = networks
        self.subnets = subnets

    def _views(self, s: Session, rows: Sequence[Router]) -> list[dict[str, Any]]:
        tags = tags_of(s, [r.id for r in rows])
        gw_ports = [r.gw_port_id for r in rows if r.gw_port_id]
        gw_ips: dict[str, list[dict[str, str]]] = defaultdict(list)
        for port, subnet, address in s.execute(select(
                IpAllocation.port_id, IpAllocation.subnet_id, IpAllocation.ip_address)
                .where(IpAllocation.port_id.in_(gw_ports))):
            gw_ips[port].append({"subnet_id": subnet, "ip_address": address})
        return [{**standard(r, tags), "status": r.status, "admin_state_up": r.admin_state_up,
                 "external_gateway_info": ({"network_id": r.gw_network_id,
                                            "enable_snat": r.enable_snat,
                                            "external_fixed_ips": gw_ips[r.gw_port_id or ""]}
                                           if r.gw_network_id else None),
                 "routes": list(r.routes or []), "distributed": False, "ha": False,
                 "availability_zones": ["nova"], "availability_zone_hints": [],
                 "flavor_id": None} for r in rows]

    # ---- create / update / delete ----------------------------------------------------------
    def create(self, ctx: RequestContext, attrs: Mapping[str, Any]) -> dict[str, Any]:
        project = self.owner_for_create(ctx, attrs)
        self.enforce(ctx, "create_router", {"project_id": project})
        for flagged in ("distributed", "ha"):
            if attrs.get(flagged):
                raise InvalidInput(f"{flagged} routers are not supported.", flagged)
        with self.db.session() as s:
            row = Router(project_id=project, name=text(attrs, "name"),
                         description=text(attrs, "description"),
                         admin_state_up=flag(attrs, "admin_state_up", True))
            self.quotas.reserve(s, project, {"routers": 1})
            s.add(row)
            s.flush()
            info = attrs.get("external_gateway_info")
            if info:
                self._set_gateway(s, ctx, row, info, "create_router")
            return self._views(s, [row])[0]

    def update(self, ctx: RequestContext, id: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
        with self.db.session() as s:
            row = self.row(s, ctx, id, "update_router", lock=True)
            for name in ("name", "description"):
                if name in attrs:
                    setattr(row, name, text(attrs, name))
            if "admin_state_up" in attrs:
                row.admin_state_up = flag(attrs, "admin_state_up", True)
            if "external_gateway_info" in attrs:
                info = attrs["external_gateway_info"]
                if info:
                    self._set_gateway(s, ctx, row, info, "update_router")
                else:
                    self._clear_gateway(s, row)
            if "routes" in attrs:
                row.routes = self._checked_routes(s, row, attrs["routes"] or [])
            bump(row)
            s.flush()
            return self._views(s, [row])[0]

    def delete(self, ctx: RequestContext, id: str) -> None:
        with self.db.session() as s:
            row = self.row(s, ctx, id, "delete_router", lock=True)
            if interface_ports(s, [row.id]).get(row.id):
                raise RouterInUse(row.id, "still has ports")
            self._clear_gateway(s, row)
            s.delete(row)
            self.quotas.release(s, row.project_id, {"routers": 1})

    # ---- the gateway -----------------------------------------------------------------------
    def _set_gateway(self, s: Session, ctx: RequestContext, row: Router, info: Any,
                     action: str) -> None:
        if not isinstance(info, Mapping) or "network_id" not in info:
            raise BadRequest("router", "external_gateway_info needs a network_id")
        target = {"project_id": row.project_id}
        if "enable_snat" in info:
            self.enforce(ctx, f"{action}:external_gateway_info:enable_snat", target)
        if info.get("external_fixed_ips"):
            self.enforce(ctx, f"{action}:external_gateway_info:external_fixed_ips", target)
        net = s.scalar(select(Network).where(Network.id == str(info["network_id"]),
                                             self.networks.visible(ctx)))
        if net is None:
            raise NetworkNotFound(str(info["network_id"]))
        if not net.external:
            raise BadRequest("router", f"Network {net.id} is not a valid external network")
        snat = flag(info, "enable_snat", True)
        fixed = info.get("external_fixed_ips") or None
        if row.gw_network_id == net.id and fixed is None:
            row.enable_snat = snat
            return
        self._clear_gateway(s, row)
        port = new_port(s, project_id="", network=net, device_id=row.id, device_owner=GATEWAY,
                        fixed_ips=fixed)
        row.gw_network_id, row.gw_port_id, row.enable_snat = net.id, port.id, snat

    def _clear_gateway(self, s: Session, row: Router) -> None:
        if row.gw_network_id is None:
            return
        if s.scalar(select(FloatingIp.id).where(FloatingIp.router_id == row.id).limit(1)):
            raise errors.Conflict(f"Gateway cannot be updated for router {row.id}, since a "
                                  "gateway to external network is required by one or more "
                                  "floating IPs.", kind="router", id=row.id, state="in-use")
        if row.gw_port_id:
            delete_port_rows(s, [row.gw_port_id])
        row.gw_network_id = row.gw_port_id = None

    # ---- interfaces ------------------------------------------------------------------------
    def add_interface(self, ctx: RequestContext, id: str, body: Mapping[str, Any]
                      ) -> dict[str, Any]:
        subnet_id, port_id = body.get("subnet_id"), body.get("port_id")
        if bool(subnet_id) == bool(port_id):
            raise BadRequest("router", "Either subnet_id or port_id must be specified")
        with self.db.session() as s:
            row = self.row(s, ctx, id, "add_router_interface", lock=True)
            attached = {a.subnet_id for p in interface_ports(s, [row.id]).get(row.id, [])
                        for a in s.scalars(select(IpAllocation).where(
                            IpAllocation.port_id == p.id))}
            if subnet_id:
                subnet = s.scalar(select(Subnet).where(Subnet.id == str(subnet_id),
                                                       self.subnets.visible(ctx)))
                if subnet is None:
                    raise SubnetNotFound(str(subnet_id))
                if not subnet.gateway_ip:
                    raise BadRequest("router", f"Subnet {subnet.id} does not have a gateway IP")
                self._refuse_attach(s, row, subnet, attached)
                net = s.get(Network, subnet.network_id)
                assert net is not None
                holder = s.scalar(select(IpAllocation.port_id).where(
                    IpAllocation.subnet_id == subnet.id,
                    IpAllocation.ip_address == subnet.gateway_ip))
                if holder is not None:
                    raise IpAddressInUse(subnet.gateway_ip, subnet.network_id)
                port = new_port(s, project_id=row.project_id, network=net, device_id=row.id,
                                device_owner=INTERFACE,
                                fixed_ips=[{"subnet_id": subnet.id,
                                            "ip_address": subnet.gateway_ip}])
                subnets = [subnet.id]
            else:
                given = s.scalar(select(Port).where(Port.id == str(port_id)))
                if given is None or (given.project_id != ctx.project_id and not ctx.is_admin):
                    raise PortNotFound(str(port_id))
                port = given
                if port.device_id:
                    raise PortInUse(port.id, port.network_id, port.device_id)
                subnets = list(s.scalars(select(IpAllocation.subnet_id).where(
                    IpAllocation.port_id == port.id)))
                if not subnets:
                    raise BadRequest("router", f"Port {port.id} does not have any fixed IP "
                                     "addresses")
                for sub in s.scalars(select(Subnet).where(Subnet.id.in_(subnets))):
                    self._refuse_attach(s, row, sub, attached)
                port.device_id, port.device_owner, port.status = row.id, INTERFACE, "ACTIVE"
                bump(port)
            bump(row)
            s.flush()
            return {"id": row.id, "tenant_id": row.project_id, "project_id": row.project_id,
                    "port_id": port.id, "network_id": port.network_id,
                    "subnet_id": subnets[0], "subnet_ids": subnets}

    def _refuse_attach(self, s: Session, row: Router, subnet: Subnet, attached: set[str]) -> None:
        if subnet.id in attached:
            raise BadRequest("router", f"Router already has a port on subnet {subnet.id}")
        cidr = ipaddress.ip_network(subnet.cidr)
        for other in s.scalars(select(Subnet).where(Subnet.id.in_(attached))):
            if ipaddress.ip_network(other.cidr).overlaps(cidr):
                raise BadRequest("router", f"Cidr {subnet.cidr} of subnet {subnet.id} "
                                 f"overlaps with cidr {other.cidr} of subnet {other.id}")

    def remove_interface(self, ctx: RequestContext, id: str, body: Mapping[str, Any]
                         ) -> dict[str, Any]:
        subnet_id, port_id = body.get("subnet_id"), body.get("port_id")
        if not subnet_id and not port_id:
            raise BadRequest("router", "Either subnet_id or port_id must be specified")
        with self.db.session() as s:
            row = self.row(s, ctx, id, "remove_router_interface", lock=True)
            ports = interface_ports(s, [row.id]).get(row.id, [])
            allocations = {p.id: list(s.scalars(select(IpAllocation.subnet_id).where(
                IpAllocation.port_id == p.id))) for p in ports}
            if port_id:
                port = next((p for p in ports if p.id == port_id), None)
                if port is None:
                    raise RouterInterfaceNotFound(row.id, str(port_id))
                if subnet_id and subnet_id not in allocations[port.id]:
                    raise errors.Conflict(f"Subnet {subnet_id} is not on port {port_id}.",
                                          kind="router", id=row.id)
            else:
                port = next((p for p in ports if subnet_id in allocations[p.id]), None)
                if port is None:
                    raise RouterInterfaceNotFoundForSubnet(row.id, str(subnet_id))
            subnets = allocations[port.id]
            for sub in s.scalars(select(Subnet).where(Subnet.id.in_(subnets))):
                cidr = ipaddress.ip_network(sub.cidr)
                for fixed in s.scalars(select(FloatingIp.fixed_ip_address).where(
                        FloatingIp.router_id == row.id)):
                    if fixed and ipaddress.ip_address(fixed) in cidr:
                        raise RouterInterfaceInUseByFloatingIP(row.id, sub.id)
            delete_port_rows(s, [port.id])
            bump(row)
            return {"id": row.id, "tenant_id": row.project_id, "project_id": row.project_id,
                    "port_id": port.id, "network_id": port.network_id,
                    "subnet_id": subnets[0] if subnets else None, "subnet_ids": subnets}

    # ---- static routes -----------------------------------------------------------------------
    def _checked_routes(self, s: Session, row: Router, routes: Any) -> list[dict[str, str]]:
        checked = check_routes(routes, "routes")
        cidrs = [ipaddress.ip_network(c) for c in s.scalars(select(Subnet.cidr).where(
            Subnet.id.in_(select(IpAllocation.subnet_id).where(IpAllocation.port_id.in_(
                [p.id for p in interface_ports(s, [row.id]).get(row.id, [])])))))]
        for route in checked:
            hop = ipaddress.ip_address(route["nexthop"])
            if not any(hop in c for c in cidrs):
                raise errors.InvalidInput(
                    f"Invalid format for routes: {route}, the nexthop is not connected with "
                    "router", param="routes")
        unique = []
        for route in checked:
            if route not in unique:
                unique.append(route)
        return unique

    def add_extraroutes(self, ctx: RequestContext, id: str, routes: Any) -> dict[str, Any]:
        return self._edit_routes(ctx, id, routes, add=True)

    def remove_extraroutes(self, ctx: RequestContext, id: str, routes: Any) -> dict[str, Any]:
        return self._edit_routes(ctx, id, routes, add=False)

    def _edit_routes(self, ctx: RequestContext, id: str, routes: Any, add: bool
                     ) -> dict[str, Any]:
        action = "add_extraroutes" if add else "remove_extraroutes"
        with self.db.session() as s:
            row = self.row(s, ctx, id, action, lock=True)
            given = (self._checked_routes(s, row, routes) if add
                     else check_routes(routes, "routes"))
            current = list(row.routes or [])
            if add:
                current += [r for r in given if r not in current]
            else:
                current = [r for r in current if r not in given]
            row.routes = current
            bump(row)
            s.flush()
            return self._views(s, [row])[0]


def router_path(s: Session, subnet_id: str, external_network_id: str) -> str | None:
    """The router joining the subnet to the external network, if any."""
    return s.scalar(select(Router.id).where(
        Router.gw_network_id == external_network_id,
        Router.id.in_(select(Port.device_id).where(
            Port.device_owner.in_(ROUTER_OWNERS),
            Port.id.in_(select(IpAllocation.port_id).where(
                IpAllocation.subnet_id == subnet_id))))).order_by(Router.created_at))


