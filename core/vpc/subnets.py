"""EC2 subnets: networks with their one IPv4 subnet, routed by a VPC's router.

CreateSubnet makes the network (named by the subnet's ID unless a name is
given), its subnet (within the VPC's CIDR, overlapping none of its other
subnets) and the router's interface on it, undoing what it made if a step
fails. DeleteSubnet refuses while ports other than the router's use it.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.idmap.ids import Kind, forget, mint_new
from core.idmap.tag_table import forget_tags
from core.network.models import IpAllocation, Network, Port, Subnet
from core.network.routers import INTERFACE
from core.vpc.base import Seen, VpcBase
from core.vpc.errors import DependencyViolation, SubnetConflict, SubnetRangeInvalid
from core.vpc.models import RouteTableAssociation, SubnetRecord
from core.vpc.topology import cidr_of, router_of_networks
from core.vpc.vpcs import PREFIXES, parse_cidr


@dataclass(frozen=True)
class Ec2Subnet:
    network_id: str
    subnet_id: str  # Neutron's subnet
    router_id: str
    project_id: str
    name: str
    cidr_block: str
    available_addresses: int
    is_default: bool
    map_public_ip_on_launch: bool


def _pool_size(subnet: Subnet) -> int:
    return sum(int(ipaddress.IPv4Address(p["end"])) - int(ipaddress.IPv4Address(p["start"]))
               + 1 for p in subnet.allocation_pools or [])


def subnets_of(s: Session, seen: Seen) -> list[Ec2Subnet]:
    routed = [i for r in seen.routers for i in seen.routed.get(r.id, [])]
    nets = {n.id: n for n in s.scalars(select(Network).where(
        Network.id.in_([i.network_id for i in routed])))} if routed else {}
    used = dict(s.execute(select(IpAllocation.subnet_id, func.count()).where(
        IpAllocation.subnet_id.in_([i.subnet.id for i in routed]))
        .group_by(IpAllocation.subnet_id)).tuples().all()) if routed else {}
    mapped = set(s.scalars(select(SubnetRecord.network_id).where(
        SubnetRecord.network_id.in_(list(nets)),
        SubnetRecord.map_public_ip_on_launch.is_(True)))) if nets else set()
    out = []
    for i in routed:
        net = nets.get(i.network_id)
        if net is None:
            continue
        # the router's own interface holds the gateway address, outside the pools
        free = max(_pool_size(i.subnet) - (used.get(i.subnet.id, 0) - 1), 0)
        out.append(Ec2Subnet(net.id, i.subnet.id, i.router_id, net.project_id, net.name,
                             i.subnet.cidr, free, net.is_default, net.id in mapped))
    return out


class Ec2SubnetService(VpcBase):
    def list(self, ctx: RequestContext, ids: Sequence[str] | None = None
             ) -> list[Ec2Subnet]:
        """The subnets of the VPCs the caller sees (those networks of ``ids``;
        NotFound naming any that is none)."""
        found = self.retrying(lambda s: subnets_of(s, self.seen(s, ctx)))
        if ids is not None:
            wanted = set(ids)
            found = [f for f in found if f.network_id in wanted]
            missing = [i for i in dict.fromkeys(ids)
                       if i not in {f.network_id for f in found}]
            if missing:
                raise errors.NotFound(f"Subnets {missing} not found", kind="subnet",
                                      ids=missing)
        return found

    def get(self, ctx: RequestContext, network_id: str) -> Ec2Subnet:
        return self.list(ctx, [network_id])[0]

    def create(self, ctx: RequestContext, router_id: str, cidr: str,
               name: str = "") -> Ec2Subnet:
        net = parse_cidr(cidr)

        def check(s: Session) -> None:
            seen = self.one(s, ctx, router_id)
            routed = seen.routed.get(router_id, [])
            vpc_cidr = ipaddress.IPv4Network(cidr_of(seen.records[router_id], routed))
            if not PREFIXES[0] <= net.prefixlen <= PREFIXES[1] or not net.subnet_of(vpc_cidr):
                raise SubnetRangeInvalid(str(cidr))
            if any(ipaddress.IPv4Network(i.subnet.cidr).overlaps(net) for i in routed):
                raise SubnetConflict(str(cidr))

        self.retrying(check)
        network = self.networks.create(ctx, {"name": name})
        try:
            subnet = self.subnets.create(ctx, {"network_id": network["id"], "cidr": str(net),
                                               "ip_version": 4, "name": name})
            try:
                self.routers.add_interface(ctx, router_id, {"subnet_id": subnet["id"]})
            except errors.InvalidInput:  # a concurrent create took an overlapping CIDR
                raise SubnetConflict(str(cidr)) from None
            with self.db.session() as s:
                ids = mint_new(s, Kind.SUBNET, [(network["id"], network["project_id"])])
                if not name:
                    for row in (s.get(Network, network["id"]), s.get(Subnet, subnet["id"])):
                        if row is not None:
                            row.name = ids[network["id"]]
        except BaseException:
            self._undo(ctx, router_id, network["id"])
            raise
        return self.get(ctx, network["id"])

    def _undo(self, ctx: RequestContext, router_id: str, network_id: str) -> None:
        with self.db.session() as s:
            subnets = list(s.scalars(select(Subnet.id).where(Subnet.network_id == network_id)))
        for subnet_id in subnets:
            with contextlib.suppress(errors.CoreError):
                self.routers.remove_interface(ctx, router_id, {"subnet_id": subnet_id})
        with contextlib.suppress(errors.CoreError):
            self.networks.delete(ctx, network_id)

    def delete(self, ctx: RequestContext, network_id: str) -> None:
        def check(s: Session) -> Ec2Subnet:
            router = router_of_networks(s, [network_id]).get(network_id)
            mine = [x for x in subnets_of(s, self.seen(s, ctx, [router] if router else []))
                    if x.network_id == network_id]
            if not mine:
                raise errors.NotFound(f"Subnet {network_id} not found", kind="subnet",
                                      id=network_id)
            if mine[0].is_default:
                raise DependencyViolation("subnet", network_id, "it is the default subnet, "
                                          "which every project shares")
            if s.scalar(select(Port.id).where(Port.network_id == network_id,
                                              Port.device_owner != INTERFACE).limit(1)):
                raise DependencyViolation("subnet", network_id,
                                          "network interfaces are in use on it")
            return mine[0]

        subnet = self.retrying(check)
        self.routers.remove_interface(ctx, subnet.router_id, {"subnet_id": subnet.subnet_id})
        try:
            self.networks.delete(ctx, network_id)
        except BaseException:
            with contextlib.suppress(errors.CoreError):
                self.routers.add_interface(ctx, subnet.router_id,
                                           {"subnet_id": subnet.subnet_id})
            raise
        with self.db.session() as s:
            assocs = list(s.scalars(select(RouteTableAssociation.id).where(
                RouteTableAssociation.network_id == network_id)))
            s.execute(delete(RouteTableAssociation).where(
                RouteTableAssociation.network_id == network_id))
            forget(s, Kind.ROUTE_TABLE_ASSOCIATION, assocs)
            s.execute(delete(SubnetRecord).where(SubnetRecord.network_id == network_id))
            forget(s, Kind.SUBNET, [network_id])
            forget_tags(s, Kind.SUBNET, [network_id])

    def set_map_public_ip(self, ctx: RequestContext, network_id: str, value: bool) -> None:
        subnet = self.get(ctx, network_id)
        self.enforce(ctx, "network:update_network", subnet.project_id)
        with self.db.session() as s:
            row = s.get(SubnetRecord, network_id)
            if row is None:
                s.add(SubnetRecord(network_id=network_id, map_public_ip_on_launch=value))
            else:
                row.map_public_ip_on_launch = value
