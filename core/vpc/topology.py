"""Which routers are VPCs to a project and which networks are their subnets,
read from the network model, and the VPC records they get on first sight.

A project sees as VPCs its own routers and the default VPC: the router on the
shared default network (``core.network.bootstrap``), which every project sees
as its default VPC, as the default network is every project's default subnet.
A network is a subnet of the VPC whose router has an interface on it; the
router's subnet there is the EC2 subnet's CIDR.

A router made through the Network API gets its record, its main route table
and, if it has an external gateway, an attached internet gateway when EC2
first sees it (:func:`ensure_records`, like the ID map's minting on first
sight). Its CIDR is not stored: it is the smallest network holding all its
subnets, or :data:`FALLBACK_CIDR` while it has none (:func:`derived_cidr`).
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.context import RequestContext
from core.idmap.ids import Kind, mint_new
from core.network.models import IpAllocation, Network, Port, Router, Subnet
from core.network.routers import INTERFACE
from core.network.topology import routers_of_networks
from core.vpc.models import InternetGateway, RouteTable, RouteTableAssociation, VpcRecord

FALLBACK_CIDR = "10.0.0.0/16"


@dataclass(frozen=True)
class Interface:
    """A router's interface on a subnet: the EC2 subnet (network) it routes."""

    router_id: str
    network_id: str
    subnet: Subnet


def default_router_id(s: Session) -> str | None:
    """The router on the shared default network (the default VPC), if any."""
    return s.scalar(select(Port.device_id).where(
        Port.device_owner == INTERFACE,
        Port.network_id.in_(select(Network.id).where(Network.is_default.is_(True))))
        .order_by(Port.created_at).limit(1))


def visible_routers(s: Session, ctx: RequestContext,
                    ids: Sequence[str] | None = None) -> tuple[list[Router], str | None]:
    """The routers ``ctx`` sees as VPCs (only ``ids`` if given), and the
    default VPC's router id."""
    default = default_router_id(s)
    stmt = select(Router).where((Router.project_id == (ctx.project_id or ""))
                                | (Router.id == (default or "")))
    if ids is not None:
        stmt = stmt.where(Router.id.in_(list(ids)))
    return list(s.scalars(stmt.order_by(Router.created_at, Router.id))), default


def interfaces(s: Session, router_ids: Iterable[str]) -> dict[str, list[Interface]]:
    """Each router's interfaces on subnets, in the order they were made."""
    out: dict[str, list[Interface]] = defaultdict(list)
    wanted = list(router_ids)
    if not wanted:
        return out
    rows = s.execute(select(Port.device_id, Port.network_id, Subnet)
                     .join(IpAllocation, IpAllocation.port_id == Port.id)
                     .join(Subnet, Subnet.id == IpAllocation.subnet_id)
                     .where(Port.device_owner == INTERFACE, Port.device_id.in_(wanted))
                     .order_by(Port.created_at, Port.id))
    for router_id, network_id, subnet in rows:
        out[router_id].append(Interface(router_id, network_id, subnet))
    return out


def router_of_networks(s: Session, network_ids: Iterable[str]) -> dict[str, str]:
    """The router (VPC) each network is routed by, for those that are subnets
    (the network domain's answer, without the routers' owners)."""
    return {net: router for net, (router, _owner) in routers_of_networks(s, network_ids).items()}


def derived_cidr(cidrs: Iterable[str]) -> str:
    """The smallest network holding every one of ``cidrs`` (a router made
    through the Network API has no CIDR of its own)."""
    nets = [ipaddress.IPv4Network(c) for c in cidrs]
    if not nets:
        return FALLBACK_CIDR
    net = nets[0]
    while not all(n.subnet_of(net) for n in nets):
        net = net.supernet()
    return str(net)


def cidr_of(record: VpcRecord, routed: Sequence[Interface]) -> str:
    return record.cidr_block or derived_cidr(i.subnet.cidr for i in routed)


def ensure_records(s: Session, routers: Sequence[Router], default_id: str | None
                   ) -> dict[str, VpcRecord]:
    """The VPC records of ``routers``, made (with a main route table and, for
    a router with a gateway, an attached internet gateway) for those seen
    for the first time. The caller retries on IntegrityError (a concurrent
    first sight)."""
    ids = [r.id for r in routers]
    records = {r.router_id: r for r in s.scalars(
        select(VpcRecord).where(VpcRecord.router_id.in_(ids)))} if ids else {}
    new = [r for r in routers if r.id not in records]
    if not new:
        return records
    attached = set(s.scalars(select(InternetGateway.router_id).where(
        InternetGateway.router_id.in_([r.id for r in new]))))
    tables, gateways = [], []
    for router in new:
        record = VpcRecord(router_id=router.id, project_id=router.project_id,
                           is_default=router.id == default_id)
        s.add(record)
        records[router.id] = record
        tables.append(add_main_route_table(s, router.id, router.project_id))
        if router.gw_network_id and router.id not in attached:
            gateway = InternetGateway(project_id=router.project_id, router_id=router.id)
            s.add(gateway)
            gateways.append(gateway)
    s.flush()
    mint_new(s, Kind.VPC, [(r.id, r.project_id) for r in new])
    mint_new(s, Kind.ROUTE_TABLE, [(t.id, t.project_id) for t, _ in tables])
    mint_new(s, Kind.ROUTE_TABLE_ASSOCIATION, [(a.id, t.project_id) for t, a in tables])
    mint_new(s, Kind.INTERNET_GATEWAY, [(g.id, g.project_id) for g in gateways])
    return records


def add_main_route_table(s: Session, router_id: str, project_id: str
                         ) -> tuple[RouteTable, RouteTableAssociation]:
    table = RouteTable(router_id=router_id, project_id=project_id, routes=[])
    s.add(table)
    s.flush()
    assoc = RouteTableAssociation(route_table_id=table.id, router_id=router_id, main=True)
    s.add(assoc)
    return table, assoc
