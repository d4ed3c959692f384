"""EC2's names for networks and routers: a network is a subnet, the router it
is attached to is its VPC (``core.network.topology``), each under the ``subnet-``
or ``vpc-`` ID of the mapping (minted on first sight). The shared default
network and the bootstrap router are every project's default subnet and
default VPC: one ID each, the same for all projects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core import errors
from core.context import RequestContext
from core.idmap.ids import Ec2Ids, Kind, canonical_id
from core.network.services import NetworkServices


@dataclass(frozen=True)
class Where:
    """A network's EC2 names: its subnet and its VPC (None: not routed)."""

    subnet_id: str
    vpc_id: str | None


class NetworkNames:
    def __init__(self, ids: Ec2Ids, network: NetworkServices) -> None:
        self.ids = ids
        self.network = network
        # The default network and its router are made once, by the bootstrap,
        # and never change: their names are read once (when found).
        self._default: Where | None = None

    def of_networks(self, network_ids: Iterable[str]) -> dict[str, Where]:
        """Subnet and VPC IDs of networks."""
        places = self.network.topology.placements(network_ids)
        subnets = self.ids.ec2_ids_for(Kind.SUBNET, [
            (p.network_id, p.project_id) for p in places.values()])
        vpcs = self.ids.ec2_ids_for(Kind.VPC, [
            (p.router_id, p.router_project_id) for p in places.values() if p.router_id])
        return {n: Where(subnets[n], vpcs.get(p.router_id or "")) for n, p in places.items()}

    def default(self) -> Where | None:
        """The default subnet and VPC (None: no default network)."""
        if self._default is None:
            network_id = self.network.topology.default_network_id()
            if network_id is None:
                return None
            where = self.of_networks([network_id])[network_id]
            if where.vpc_id is None:
                return where  # not routed yet: read again next time
            self._default = where
        return self._default

    def network_of_subnet(self, ctx: RequestContext, subnet_id: str) -> str:
        """The network a ``subnet-`` ID names, if the caller may use it
        (InvalidSubnetID.NotFound otherwise)."""
        canonical = canonical_id(Kind.SUBNET, subnet_id)
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
