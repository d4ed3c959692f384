"""RunInstances' network parameters as a boot request's ``networks``.

``SubnetId`` and ``PrivateIpAddress`` name the one network (and address) of
the instance; ``NetworkInterfaces`` names each interface by its
``DeviceIndex``: an existing interface (``NetworkInterfaceId``, its port is
bound to the server) or a new one on a subnet (the default one when none is
named), with its address and groups. Neither: the default subnet. The
groups named must be in the subnet's VPC (InvalidParameter otherwise, as
AWS); with none named, an instance in a VPC with a default group of its own
gets that group (``gateway.ec2.handlers.group_vpcs``). The compute service
checks the rest (an address in use or outside the subnet, a
port taken meanwhile) when it takes the request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core import errors
from core.context import RequestContext
from core.idmap.ids import Kind, canonical_id
from gateway.ec2.api import Call
from gateway.ec2.errors import Ec2Error
from gateway.ec2.handlers.base import Ec2Deps, Handler
from gateway.ec2.handlers.group_vpcs import GroupVpcs
from gateway.ec2.handlers.network_names import NetworkNames

UNSUPPORTED = ("PrivateIpAddresses", "SecondaryPrivateIpAddressCount", "Ipv6Addresses",
               "Ipv6AddressCount", "Ipv4Prefixes", "Ipv4PrefixCount")


@dataclass(frozen=True)
class BootNetworks:
    """``networks`` for the boot request and the groups the interfaces name
    (sg- IDs as OpenStack ids; None: the instance-level ones)."""

    networks: Any
    groups: list[str] | None = None


class RunNetworks(Handler):
    def __init__(self, deps: Ec2Deps) -> None:
        super().__init__(deps)
        self.names = NetworkNames(deps.ids, deps.network)
        self.vpcs = GroupVpcs(deps, self.names)

    def _network(self, ctx: RequestContext, subnet_id: str | None) -> str:
        if subnet_id:
            return self.names.network_of_subnet(ctx, subnet_id)
        found = self.deps.network.topology.default_network_id()
        if found is None:
            raise Ec2Error("VPCIdNotSpecified", "No default VPC for this user.")
        return found

    def of(self, call: Call) -> BootNetworks:
        ctx = call.ctx
        nics = list(call.get("NetworkInterfaces", []))
        subnet, private = call.get("SubnetId"), call.get("PrivateIpAddress")
        if not nics:
            given = self._instance_groups(call)
            if not subnet and not private:
                if given:  # groups given: they must be the default VPC's
                    found = self.deps.network.topology.default_network_id()
                    if found:
                        self.vpcs.check(ctx, found, given)
                return BootNetworks("default")
            network = self._network(ctx, subnet)
            self.vpcs.check(ctx, network, given)
            default = None if given else self.vpcs.default_group(network)
            entry = {"uuid": network}
            if private:
                entry["fixed_ip"] = private
            return BootNetworks([entry], [default] if default else None)
        if subnet or private:
            raise Ec2Error("InvalidParameterCombination", "Network interfaces and an "
                           "instance-level subnet ID or private IP address may not be "
                           "specified on the same request")
        if call.get("SecurityGroupIds") or call.get("SecurityGroups"):
            raise Ec2Error("InvalidParameterCombination", "Network interfaces and an "
                           "instance-level security groups may not be specified on the same "
                           "request")
        indexes = [n.get("DeviceIndex") for n in nics]
        if sorted(i for i in indexes if i is not None) != list(range(len(nics))):
            raise Ec2Error("InvalidParameterValue", "Each network interface needs a "
                           "DeviceIndex, 0 for the primary one and the next ones in turn.")
        networks: list[dict[str, str]] = []
        groups: list[str] = []
        for nic in sorted(nics, key=lambda n: n["DeviceIndex"]):
            networks.append(self._interface(ctx, nic, groups))
        if not groups and "uuid" in networks[0]:
            default = self.vpcs.default_group(networks[0]["uuid"])
            groups = [default] if default else []
        return BootNetworks(networks, list(dict.fromkeys(groups)) or None)

    def _instance_groups(self, call: Call) -> list[str]:
        """The uuids of the instance-level groups named (by ID, or by name:
        the caller's groups of that name; names of none are left to compute)."""
        out = list(self._group_ids(call.get("SecurityGroupIds", [])))
        for name in dict.fromkeys(call.get("SecurityGroups", [])):
            try:
                out.append(self.deps.security_groups.find(call.ctx, name).uuid)
            except (errors.NotFound, errors.Forbidden):
                continue
        return out

    def _interface(self, ctx: RequestContext, nic: Mapping[str, Any],
                   groups: list[str]) -> dict[str, str]:
        for name in UNSUPPORTED:
            if nic.get(name):
                raise Ec2Error("InvalidParameterValue", f"{name} of a network interface is "
                               "not supported at launch by this cloud: assign addresses "
                               "with AssignPrivateIpAddresses.")
        if nic.get("AssociatePublicIpAddress"):
            raise Ec2Error("InvalidParameterValue", "Public addresses are not given at "
                           "launch by this cloud: use AllocateAddress and AssociateAddress.")
        if nic.get("NetworkInterfaceId"):
            if nic.get("SubnetId") or nic.get("PrivateIpAddress") or nic.get("Groups"):
                raise Ec2Error("InvalidParameterCombination", "A network interface ID may "
                               "not be specified with a subnet, address or groups.")
            return {"port": self._free_port(ctx, nic["NetworkInterfaceId"])}
        entry = {"uuid": self._network(ctx, nic.get("SubnetId"))}
        if nic.get("PrivateIpAddress"):
            entry["fixed_ip"] = nic["PrivateIpAddress"]
        named = self._group_ids(nic.get("Groups") or [])
        self.vpcs.check(ctx, entry["uuid"], named)
        groups.extend(named)
        return entry

    def _group_ids(self, values: Sequence[str]) -> list[str]:
        if not values:
            return []
        found = self.os_ids(Kind.SECURITY_GROUP, values)
        return [found[canonical_id(Kind.SECURITY_GROUP, v)] for v in values]

    def _free_port(self, ctx: RequestContext, eni_id: str) -> str:
        canonical = canonical_id(Kind.NETWORK_INTERFACE, eni_id)
        port_id = self.os_id(Kind.NETWORK_INTERFACE, canonical)
        try:
            port = self.deps.network.ports.get(ctx, port_id)
        except errors.NotFound:
            raise errors.NotFound(kind="port", id=canonical) from None
        if port["project_id"] != ctx.project_id:
            raise errors.NotFound(kind="port", id=canonical)
        if port["device_id"] or port["device_owner"]:
            raise errors.Conflict(kind="port", id=port_id, state="in-use")
        return port_id
