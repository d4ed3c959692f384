"""Network interfaces (ports) as EC2 writes them: ``NetworkInterface`` shapes
for DescribeNetworkInterfaces and ``InstanceNetworkInterface`` shapes inside
instances. Every lookup is one batch for all the interfaces shown (EC2 IDs of
ports, attachments, groups, addresses; subnets and VPCs), so a describe costs
the same few queries for one interface or a thousand."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.context import RequestContext
from core.dns.names import public_dns_name
from core.idmap.ids import Kind
from core.idmap.tag_table import resource_tags
from core.network.attachments import Interface
from core.network.interface_ids import attachment_key
from gateway.ec2.handlers.base import Ec2Deps
from gateway.ec2.handlers.group_vpcs import GroupVpcs
from gateway.ec2.handlers.network_names import NetworkNames, Where


def wire_time(when: datetime) -> str:
    return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}Z"


def private_dns(address: str | None, region: str) -> str:
    if not address:
        return ""
    return f"ip-{address.replace('.', '-')}.{region}.compute.internal"


@dataclass(frozen=True)
class Lookups:
    """The EC2 IDs and names a set of interfaces' views need."""

    enis: Mapping[str, str]
    attachments: Mapping[str, str]
    groups: Mapping[str, str]
    group_names: Mapping[str, str]
    places: Mapping[str, Where]
    instances: Mapping[str, str]
    allocations: Mapping[str, str]
    associations: Mapping[str, str]
    accounts: Mapping[str, str]


class InterfaceViews:
    def __init__(self, deps: Ec2Deps) -> None:
        self.deps = deps
        self.names = NetworkNames(deps.ids, deps.network)
        self.groups = GroupVpcs(deps, self.names)

    def lookups(self, ctx: RequestContext, items: Sequence[Interface],
                instance_ids: Mapping[str, str] | None = None) -> Lookups:
        ids = self.deps.ids
        keys = [(attachment_key(i.port_id, i.device_index), i.project_id) for i in items
                if i.device_id and i.device_index is not None]
        fips = [f for i in items for f in i.floating]
        return Lookups(
            enis=ids.ec2_ids_for(Kind.NETWORK_INTERFACE, [(i.port_id, i.project_id)
                                                          for i in items]),
            attachments=ids.ec2_ids_for(Kind.ATTACHMENT, keys),
            groups=ids.ec2_ids_for(Kind.SECURITY_GROUP, [(u, i.project_id) for i in items
                                                         for u, _ in i.groups]),
            group_names=self.groups.names_of(g for i in items for g in i.groups),
            places=self.names.of_networks({i.network_id for i in items}),
            instances=instance_ids if instance_ids is not None else ids.existing(
                Kind.INSTANCE, [i.device_id for i in items if i.device_id]),
            allocations=ids.existing(Kind.ADDRESS, [f[2] for f in fips]),
            associations=ids.existing(Kind.ASSOCIATION, [f[3] for f in fips if f[3]]),
            accounts=self.deps.ids.accounts.account_ids_for({i.project_id for i in items}))

    def _association(self, item: Interface, address: str | None, found: Lookups,
                     with_ids: bool) -> dict[str, Any] | None:
        settings = self.deps.settings
        for public, fixed, fip, association in item.floating:
            if fixed == address:
                out: dict[str, Any] = {
                    "PublicIp": public, "IpOwnerId": found.accounts.get(item.project_id),
                    "PublicDnsName": public_dns_name(public, settings.ec2_public_domain)}
                if with_ids:
                    out["AllocationId"] = found.allocations.get(fip)
                    out["AssociationId"] = found.associations.get(association)
                return out
        return None

    def _common(self, item: Interface, found: Lookups, full: bool) -> dict[str, Any]:
        region = self.deps.settings.region
        addresses = [f["ip_address"] for f in item.fixed_ips if ":" not in f["ip_address"]]
        primary = addresses[0] if addresses else None
        where = found.places.get(item.network_id)
        view: dict[str, Any] = {
            "NetworkInterfaceId": found.enis[item.port_id],
            "SubnetId": where.subnet_id if where else None,
            "VpcId": where.vpc_id if where else None,
            "Description": item.description, "OwnerId": found.accounts.get(item.project_id),
            "Status": "in-use" if item.device_id else "available",
            "MacAddress": item.mac_address, "PrivateIpAddress": primary,
            "PrivateDnsName": private_dns(primary, region),
            "SourceDestCheck": item.source_dest_check, "InterfaceType": "interface",
            "Groups": [{"GroupId": found.groups.get(u),
                        "GroupName": found.group_names.get(u, n)}
                       for u, n in item.groups],
            "Ipv6Addresses": [],
            "PrivateIpAddresses": [
                {"PrivateIpAddress": a, "Primary": a == primary,
                 "PrivateDnsName": private_dns(a, region),
                 "Association": self._association(item, a, found, full)}
                for a in addresses],
            "Association": self._association(item, primary, found, full),
        }
        if item.device_id and item.device_index is not None:
            attachment: dict[str, Any] = {
                "AttachmentId": found.attachments.get(
                    attachment_key(item.port_id, item.device_index)),
                "DeviceIndex": item.device_index, "Status": "attached",
                "AttachTime": wire_time(item.attached_at) if isinstance(
                    item.attached_at, datetime) else None,
                "DeleteOnTermination": item.compute_made, "NetworkCardIndex": 0}
            if full:
                attachment["InstanceId"] = found.instances.get(item.device_id)
                attachment["InstanceOwnerId"] = found.accounts.get(item.project_id)
            view["Attachment"] = attachment
        return view

    def network_interfaces(self, ctx: RequestContext, items: Sequence[Interface]
                           ) -> list[dict[str, Any]]:
        """``NetworkInterface`` shapes, with their tags."""
        found = self.lookups(ctx, items)
        tags = resource_tags(self.deps.ids.db, Kind.NETWORK_INTERFACE, ctx.project_id or "",
                             [i.port_id for i in items])
        zone = self.deps.settings.default_availability_zone
        out = []
        for item in items:
            view = self._common(item, found, True)
            view.update(AvailabilityZone=zone, RequesterManaged=False,
                        TagSet=tags.get(item.port_id, []))
            out.append(view)
        return out

    def instance_interfaces(self, ctx: RequestContext,
                            by_instance: Mapping[str, Sequence[Interface]],
                            instance_ids: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
        """``InstanceNetworkInterface`` shapes, by server uuid."""
        items = [i for group in by_instance.values() for i in group]
        if not items:
            return {}
        found = self.lookups(ctx, items, instance_ids)
        return {uuid: [self._common(i, found, False) for i in group]
                for uuid, group in by_instance.items()}
