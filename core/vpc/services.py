"""The VPC family's services, built together over the network services."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from core.context import RequestContext
from core.db import Database
from core.idmap.ids import Kind
from core.network.services import NetworkServices
from core.policy import PolicyEnforcer
from core.settings import Settings
from core.vpc.dhcp_options import DhcpOptionsService
from core.vpc.gateways import GatewayService
from core.vpc.models import InternetGateway, RouteTable
from core.vpc.route_tables import RouteTableService
from core.vpc.security_groups import VpcSecurityGroups
from core.vpc.subnets import Ec2SubnetService
from core.vpc.topology import default_router_id
from core.vpc.vpcs import VpcService


@dataclass(frozen=True)
class VpcServices:
    vpcs: VpcService
    subnets: Ec2SubnetService
    route_tables: RouteTableService
    gateways: GatewayService
    dhcp_options: DhcpOptionsService
    security_groups: VpcSecurityGroups

    def shared(self, ctx: RequestContext, kind: Kind, os_uuids: Iterable[str]) -> set[str]:
        """Which of ``os_uuids`` (of ``kind``) are the default VPC's objects,
        which every project sees (and may tag, for itself)."""
        wanted = list(os_uuids)
        with self.vpcs.db.session() as s:
            router = default_router_id(s)
            if router is None or not wanted:
                return set()
            if kind == Kind.VPC:
                return {router} & set(wanted)
            if kind == Kind.SUBNET:
                return {i.network_id for i in self.vpcs.seen(s, ctx, [router]).routed.get(
                    router, [])} & set(wanted)
            if kind == Kind.ROUTE_TABLE:
                return set(s.scalars(select(RouteTable.id).where(
                    RouteTable.router_id == router, RouteTable.id.in_(wanted))))
            if kind == Kind.INTERNET_GATEWAY:
                return set(s.scalars(select(InternetGateway.id).where(
                    InternetGateway.router_id == router, InternetGateway.id.in_(wanted))))
        return set()


def build_vpc(db: Database, policy: PolicyEnforcer, settings: Settings,
              network: NetworkServices) -> VpcServices:
    args = (db, policy, settings, network.routers, network.networks, network.subnets)
    groups = VpcSecurityGroups(*args, network.nova_security_groups)
    for service in (network.nova_security_groups, network.security_groups.groups):
        service.guards.append(groups.guard)  # whichever API deletes a group
    vpcs = VpcService(*args)
    vpcs.groups = groups
    return VpcServices(vpcs=vpcs, subnets=Ec2SubnetService(*args),
                       route_tables=RouteTableService(*args), gateways=GatewayService(*args),
                       dhcp_options=DhcpOptionsService(*args), security_groups=groups)
