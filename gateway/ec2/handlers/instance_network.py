"""An instance's network as DescribeInstances shows it: its interfaces (the
server's ports, by device index), and from the primary one its subnet, VPC,
private address and public (floating) address. An instance without ports yet
(just launched, or failed before it had any) shows the subnet and VPC of the
first network it asked for. All instances of a call in a fixed few queries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.compute.models import Instance
from core.compute.raw_values import json_value
from core.context import RequestContext
from gateway.ec2.handlers.base import Ec2Deps
from gateway.ec2.handlers.interface_views import InterfaceViews
from gateway.ec2.handlers.network_names import Where


@dataclass(frozen=True)
class NetView:
    interfaces: list[dict[str, Any]] = field(default_factory=list)
    private_ip: str | None = None
    public_ip: str | None = None
    subnet_id: str | None = None
    vpc_id: str | None = None


def _public(interfaces: Sequence[Mapping[str, Any]]) -> str | None:
    """The primary interface's public address, else the first one found."""
    for nic in interfaces:
        for candidate in [nic.get("Association")] + [a.get("Association") for a in
                                                     nic.get("PrivateIpAddresses", [])]:
            if candidate:
                return candidate["PublicIp"]
    return None


class InstanceNetwork:
    def __init__(self, deps: Ec2Deps) -> None:
        self.deps = deps
        self.views = InterfaceViews(deps)

    def of(self, ctx: RequestContext, instances: Sequence[Instance],
           instance_ids: Mapping[str, str], fresh: bool = False,
           where: Where | None = None) -> dict[str, NetView]:
        """``fresh``: instances just recorded (no ports yet); ``where``: the
        subnet they asked for, if the caller knows it (then nothing is read)."""
        uuids = [i.uuid for i in instances]
        if fresh and where is not None:
            return {u: NetView(subnet_id=where.subnet_id, vpc_id=where.vpc_id) for u in uuids}
        found = {} if fresh else self.deps.network.attachments.of_instances(uuids)
        nics = self.views.instance_interfaces(ctx, found, instance_ids) if found else {}
        out: dict[str, NetView] = {}
        for uuid, items in nics.items():
            first = items[0]
            out[uuid] = NetView(items, first.get("PrivateIpAddress"), _public(items),
                                first.get("SubnetId"), first.get("VpcId"))
        rest = [i for i in instances if i.uuid not in out]
        asked = {i.uuid: next((r["network_id"] for r in json_value(i.requested_networks) or []
                               if r.get("network_id")), None) for i in rest}
        wanted = {n for n in asked.values() if n}
        if not wanted:
            return out
        places = self.views.names.of_networks(wanted)
        for uuid, network_id in asked.items():
            place = places.get(network_id or "")
            if place is not None:
                out[uuid] = NetView(subnet_id=place.subnet_id, vpc_id=place.vpc_id)
        return out
