"""Security groups' VPCs at the EC2 edge (``core.vpc.security_groups``): the
VPC a group shows (its own, or the default VPC for a group without one), the
name it shows (``default`` for a VPC's own default group, whose real name is
its VPC's ID), and AWS's rule for launches and interfaces: an interface's
groups are in its subnet's VPC, and with none named it gets that VPC's
default group."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.context import RequestContext
from core.idmap.ids import Kind, derived_id
from core.network.security_group_types import DEFAULT
from gateway.ec2.errors import Ec2Error
from gateway.ec2.handlers.base import Ec2Deps
from gateway.ec2.handlers.network_names import NetworkNames


@dataclass(frozen=True)
class Shown:
    """A group's VPC ID and the name EC2 shows for it."""

    vpc_id: str
    name: str


class GroupVpcs:
    def __init__(self, deps: Ec2Deps, names: NetworkNames) -> None:
        self.deps = deps
        self.names = names
        self.groups = deps.vpc.security_groups

    def default_vpc(self, ctx: RequestContext) -> str:
        """The default VPC's ID (a derived one while there is no default network)."""
        default = self.names.default()
        return default.vpc_id if default and default.vpc_id else derived_id(
            "vpc", ctx.project_id or "")

    def shown(self, ctx: RequestContext, groups: Iterable[tuple[str, str, str]]
              ) -> dict[str, Shown]:
        """VPC IDs and names of groups given as (uuid, project id, real name)."""
        wanted = list(groups)
        places = self.groups.places(u for u, _, _ in wanted)
        owners = {u: p for u, p, _ in wanted}
        vpcs = self.deps.ids.ec2_ids_for(Kind.VPC, [(p.router_id, owners[u])
                                                    for u, p in places.items()])
        default = self.default_vpc(ctx) if len(places) < len(wanted) else ""
        out = {}
        for uuid, _, name in wanted:
            place = places.get(uuid)
            out[uuid] = Shown(vpcs[place.router_id], DEFAULT if place.is_default else name
                              ) if place else Shown(default, name)
        return out

    def names_of(self, pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
        """EC2's names of groups given as (uuid, real name)."""
        wanted = dict(pairs)
        places = self.groups.places(wanted)
        return {u: DEFAULT if u in places and places[u].is_default else n
                for u, n in wanted.items()}

    # ---- launches and interfaces ----------------------------------------------
    def _router(self, network_id: str) -> str | None:
        """The VPC a network is a subnet of ("" for the default VPC; None: no VPC)."""
        place = self.deps.network.topology.placements([network_id]).get(network_id)
        if place is None or place.router_id is None:
            return None
        return "" if place.default_vpc else place.router_id

    def check(self, ctx: RequestContext, network_id: str, group_uuids: Sequence[str]) -> None:
        """InvalidParameter unless every group is in the network's VPC."""
        router = self._router(network_id) if group_uuids else None
        if router is None:
            return
        places = self.groups.places(group_uuids)
        for uuid in group_uuids:
            place = places.get(uuid)
            if (place.router_id if place else "") != router:
                sg = self.deps.ids.ec2_ids_for(Kind.SECURITY_GROUP,
                                               [(uuid, ctx.project_id or "")])[uuid]
                subnet = self.names.of_networks([network_id])[network_id].subnet_id
                raise Ec2Error("InvalidParameter", f"Security group {sg} and subnet "
                                                   f"{subnet} belong to different networks.")

    def default_group(self, network_id: str) -> str | None:
        """The uuid of the default group of the network's VPC, when that VPC
        has one of its own (None: the project's ``default`` applies)."""
        router = self._router(network_id)
        return self.groups.default_of(router) if router else None
