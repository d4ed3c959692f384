"""EC2's names for networks and routers: a network is a subnet, the router it
is attached to is its VPC (``core.network.topology``).

The shared default network is each project's default subnet and the
bootstrap router each project's default VPC, under IDs derived from the
project id (as DescribeVpcs and DescribeSubnets have always shown them);
other networks and routers have ``subnet-`` and ``vpc-`` IDs of the mapping.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core import errors
from core.context import RequestContext
from core.idmap.ids import Ec2Ids, Kind, canonical_id, derived_id
from core.network.services import NetworkServices
from core.network.topology import Placement


@dataclass(frozen=True)
class Where:
    """A network's EC2 names: its subnet and its VPC (None: not routed)."""

    subnet_id: str
    vpc_id: str | None


def default_subnet_id(project_id: str) -> str:
    return derived_id("subnet", project_id)


def default_vpc_id(project_id: str) -> str:
    return derived_id("vpc", project_id)


class NetworkNames:
    def __init__(self, ids: Ec2Ids, network: NetworkServices) -> None:
        self.ids = ids
        self.network = network

    def of_networks(self, network_ids: Iterable[str], project_id: str) -> dict[str, Where]:
        """Subnet and VPC IDs of networks, as project ``project_id`` sees them."""
        places = self.network.topology.placements(network_ids)
        subnets = self.ids.ec2_ids_for(Kind.SUBNET, [
            (p.network_id, p.project_id) for p in places.values() if not p.is_default])
        vpcs = self.ids.ec2_ids_for(Kind.VPC, [
            (p.router_id, p.router_project_id) for p in places.values()
            if p.router_id and not p.default_vpc])
        return {n: Where(self._subnet(p, subnets, project_id), self._vpc(p, vpcs, project_id))
                for n, p in places.items()}

    @staticmethod
    def _subnet(place: Placement, subnets: dict[str, str], project_id: str) -> str:
        if place.is_default:
            return default_subnet_id(project_id)
        return subnets[place.network_id]

    @staticmethod
    def _vpc(place: Placement, vpcs: dict[str, str], project_id: str) -> str | None:
        if place.default_vpc:
            return default_vpc_id(project_id)
        return vpcs.get(place.router_id or "")

    def network_of_subnet(self, ctx: RequestContext, subnet_id: str) -> str:
        """The network a ``subnet-`` ID names, if the caller may use it
        (InvalidSubnetID.NotFound otherwise)."""
        canonical = canonical_id(Kind.SUBNET, subnet_id)
        project = ctx.project_id or ""
        if canonical == default_subnet_id(project):
            found = self.network.topology.default_network_id()
        else:
            found = self.ids.os_uuids_for(Kind.SUBNET, [canonical]).get(canonical)
        if found is None:
            raise errors.NotFound(kind="subnet", id=canonical)
        try:
            net = self.network.networks.get(ctx, found)
        except errors.NotFound:
            raise errors.NotFound(kind="subnet", id=canonical) from None
        if net.get("router:external"):
            raise errors.NotFound(kind="subnet", id=canonical)
        return found
