"""Elastic IPs: Allocate/Associate/Disassociate/Release/DescribeAddresses over
the floating addresses of :mod:`core.network.floating`.

An address is allocated under an ``eipalloc-`` ID and associated with an
instance under an ``eipassoc-`` ID; both are minted when that happens. The
instance then shows it as ``PublicIpAddress`` (and ``PublicDnsName``), and the
compute API lists it under the server's network as a ``floating`` address.
Every address is a VPC address (``Domain`` ``vpc``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core import errors
from core.context import RequestContext
from core.idmap.ids import Kind, canonical_id, derived_id
from core.idmap.tag_table import resource_tags
from core.network import floating as fl
from core.network.floating import FloatingAddress
from core.tagging.rules import Resource, check_tags
from core.tagging.service import TagService
from gateway.ec2.api import Call, action
from gateway.ec2.errors import Ec2Error
from gateway.ec2.filters import Filters
from gateway.ec2.handlers.base import Ec2Deps, Handler
from gateway.ec2.handlers.tags import tag_specifications

POOL = "amazon"  # AWS's name for its own public IPv4 pool

ADDRESS_FILTERS: Filters[dict[str, Any]] = Filters({
    "allocation-id": lambda a: a["AllocationId"],
    "association-id": lambda a: a.get("AssociationId"),
    "public-ip": lambda a: a["PublicIp"],
    "instance-id": lambda a: a.get("InstanceId"),
    "domain": lambda a: a["Domain"],
    "private-ip-address": lambda a: a.get("PrivateIpAddress"),
    "network-border-group": lambda a: a["NetworkBorderGroup"],
    "public-ipv4-pool": lambda a: a["PublicIpv4Pool"],
    "network-interface-owner-id": lambda a: a.get("NetworkInterfaceOwnerId"),
}, tags=lambda a: {t["Key"]: t["Value"] for t in a["Tags"]})


class Addresses(Handler):
    def __init__(self, deps: Ec2Deps) -> None:
        super().__init__(deps)
        self.floating: fl.FloatingIpService = deps.floating_ips
        self.tags: TagService = deps.tags

    # ---- lookups ----------------------------------------------------------------
    def _own(self, ctx: RequestContext, *, allocation_id: str | None = None,
             public_ip: str | None = None) -> FloatingAddress:
        """One of the caller's addresses by ``eipalloc-`` ID or address."""
        uuid = self.os_id(Kind.ADDRESS, allocation_id) if allocation_id else None
        for address in self.floating.list_addresses(ctx):
            if (uuid and address.allocation_id == uuid) or \
                    (not uuid and address.address == public_ip):
                return address
        if allocation_id:
            raise errors.NotFound(kind="floating_ip", id=allocation_id)
        raise errors.NotFound(kind="floating_ip", id=public_ip, by="address")

    def _instance_uuid(self, ctx: RequestContext, ec2_id: str) -> str:
        canonical = canonical_id(Kind.INSTANCE, ec2_id)
        inst = self.deps.servers.get(ctx, self.os_id(Kind.INSTANCE, canonical))
        if inst.project_id != ctx.project_id:  # an admin's view of another project's
            raise errors.NotFound(kind="instance", id=canonical)
        return inst.uuid

    def _views(self, ctx: RequestContext,
               addresses: Sequence[FloatingAddress]) -> list[dict[str, Any]]:
        project = ctx.project_id or ""
        ids = self.deps.ids
        allocations = ids.existing(Kind.ADDRESS, [a.allocation_id for a in addresses])
        associations = ids.existing(Kind.ASSOCIATION, [a.association_id for a in addresses
                                                       if a.association_id])
        instances = ids.existing(Kind.INSTANCE, [a.instance_uuid for a in addresses
                                                 if a.instance_uuid])
        tags = resource_tags(ids.db, Kind.ADDRESS, project,
                             [a.allocation_id for a in addresses])
        out = []
        for a in addresses:
            view: dict[str, Any] = {
                "PublicIp": a.address, "AllocationId": allocations.get(a.allocation_id),
                "Domain": "vpc", "PublicIpv4Pool": POOL,
                "NetworkBorderGroup": self.deps.settings.region,
                "Tags": tags.get(a.allocation_id, [])}
            if a.instance_uuid:
                view.update({"AssociationId": associations.get(a.association_id or ""),
                             "InstanceId": instances.get(a.instance_uuid),
                             "PrivateIpAddress": a.fixed_address,
                             "NetworkInterfaceOwnerId": self.account(project),
                             "SubnetId": derived_id("subnet", project)})
            out.append(view)
        return out

    # ---- actions --------------------------------------------------------------------
    @action("AllocateAddress", rules=(fl.CREATE,))
    def allocate_address(self, call: Call) -> dict[str, Any]:
        domain = call.get("Domain", "vpc")
        if domain not in ("vpc", "standard"):
            raise Ec2Error("InvalidParameterValue",
                           f"Invalid value '{domain}' for domain.")
        if call.get("Address"):
            raise Ec2Error("InvalidParameterValue", "Recovering a specific address (Address) "
                           "is not supported by this cloud.")
        pool = call.get("PublicIpv4Pool")
        if pool and pool != POOL:
            raise Ec2Error("InvalidParameterValue", f"The pool ID '{pool}' does not exist")
        tags = tag_specifications(call, "elastic-ip")
        check_tags(tags)
        address = self.floating.allocate(call.ctx)
        allocation = self.deps.ids.existing(Kind.ADDRESS, [address.allocation_id])[
            address.allocation_id]
        if tags:
            self.tags.create(call.ctx, [Resource(Kind.ADDRESS, allocation,
                                                 address.allocation_id)], tags)
        return {"PublicIp": address.address, "AllocationId": allocation, "Domain": "vpc",
                "PublicIpv4Pool": POOL, "NetworkBorderGroup": self.deps.settings.region}

    @action("AssociateAddress", rules=(fl.ADD,))
    def associate_address(self, call: Call) -> dict[str, Any]:
        ctx = call.ctx
        if call.get("NetworkInterfaceId"):
            raise Ec2Error("InvalidParameterValue", "Network interfaces are not supported by "
                           "this cloud: associate the address with an InstanceId.")
        instance_id = call.get("InstanceId")
        if not instance_id:
            raise Ec2Error("MissingParameter",
                           "Either instance ID or network interface id must be specified")
        allocation_id, public_ip = call.get("AllocationId"), call.get("PublicIp")
        if not allocation_id and not public_ip:
            raise Ec2Error("MissingParameter",
                           "The request must contain the parameter AllocationId or PublicIp")
        address = self._own(ctx, allocation_id=allocation_id, public_ip=public_ip)
        uuid = self._instance_uuid(ctx, instance_id)
        private = call.get("PrivateIpAddress")
        if private:
            fixed = [a.address for a in self.deps.servers.addresses([uuid]).get(uuid, [])
                     if a.type == "fixed"]
            if private not in fixed:
                raise Ec2Error("InvalidParameterValue",
                               f"The private IP address {private} is not the instance's.")
        result = self.floating.associate(
            ctx, uuid, allocation_id=address.allocation_id,
            allow_reassociation=bool(call.get("AllowReassociation")))
        association = self.deps.ids.existing(Kind.ASSOCIATION, [result.association_id or ""])
        return {"AssociationId": association.get(result.association_id or "")}

    @action("DisassociateAddress", rules=(fl.REMOVE,))
    def disassociate_address(self, call: Call) -> None:
        ctx = call.ctx
        association_id, public_ip = call.get("AssociationId"), call.get("PublicIp")
        if association_id:
            self.floating.disassociate(ctx, association_id=self.os_id(Kind.ASSOCIATION,
                                                                      association_id))
        elif public_ip:
            address = self._own(ctx, public_ip=public_ip)
            self.floating.disassociate(ctx, address=address.address)
        else:
            raise Ec2Error("MissingParameter",
                           "The request must contain the parameter AssociationId or PublicIp")
        return None

    @action("ReleaseAddress", rules=(fl.DELETE,))
    def release_address(self, call: Call) -> None:
        ctx = call.ctx
        allocation_id, public_ip = call.get("AllocationId"), call.get("PublicIp")
        if not allocation_id and not public_ip:
            raise Ec2Error("MissingParameter",
                           "The request must contain the parameter AllocationId or PublicIp")
        address = self._own(ctx, allocation_id=allocation_id, public_ip=public_ip)
        self.floating.release(ctx, allocation_id=address.allocation_id)
        return None

    @action("DescribeAddresses", rules=(fl.LIST,))
    def describe_addresses(self, call: Call) -> dict[str, Any]:
        ctx = call.ctx
        views = self._views(ctx, self.floating.list_addresses(ctx))
        wanted_ids = [canonical_id(Kind.ADDRESS, v) for v in call.get("AllocationIds", [])]
        wanted_ips = list(call.get("PublicIps", []))
        if wanted_ids:
            known = {v["AllocationId"] for v in views}
            missing = [i for i in dict.fromkeys(wanted_ids) if i not in known]
            if missing:
                raise errors.NotFound(kind="floating_ip", ids=missing)
            views = [v for v in views if v["AllocationId"] in set(wanted_ids)]
        if wanted_ips:
            known = {v["PublicIp"] for v in views}
            missing = [i for i in dict.fromkeys(wanted_ips) if i not in known]
            if missing:
                raise errors.NotFound(kind="floating_ip", ids=missing, by="address")
            views = [v for v in views if v["PublicIp"] in set(wanted_ips)]
        filters = self.owner_filters(call.get("Filters"))
        return {"Addresses": ADDRESS_FILTERS.apply(views, filters)}
