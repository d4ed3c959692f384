"""Elastic IPs: Allocate/Associate/Disassociate/Release/DescribeAddresses over
the floating addresses of :mod:`core.network.floating`.

An address is allocated under an ``eipalloc-`` ID and associated with an
instance under an ``eipassoc-`` ID; both are minted when that happens. The
instance then shows it as ``PublicIpAddress`` (and ``PublicDnsName``), and the
compute API lists it under the server's network as a ``floating`` address.
Every address is a VPC address (``Domain`` ``vpc``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core import errors
from core.context import RequestContext
from core.idmap.ids import Kind, canonical_id, derived_id
from core.idmap.tag_table import resource_tags
from core.network import floating as fl
from core.network.floating import FloatingAddress
from core.tagging.rules import Resource, TagLimitExceeded, check_tags
from core.tagging.service import TagService
from gateway.ec2.api import Call, action
from gateway.ec2.errors import Ec2Error
from gateway.ec2.filters import Filters
from gateway.ec2.handlers.base import Ec2Deps, Handler
from gateway.ec2.handlers.tags import tag_specifications

POOL = "amazon"  # AWS's name for its own public IPv4 pool
ADDRESS_ERRORS: Mapping[type[errors.CoreError], str] = {
    errors.QuotaExceeded: "AddressLimitExceeded", TagLimitExceeded: "TagLimitExceeded",
    fl.NoAddressesLeft: "InsufficientAddressCapacity"}
MESSAGES = {"AddressLimitExceeded": "The maximum number of addresses has been reached."}

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
    def _allocation_uuid(self, ec2_id: str) -> str:
        canonical = canonical_id(Kind.ADDRESS, ec2_id)
        uuid = self.deps.ids.os_uuids_for(Kind.ADDRESS, [canonical]).get(canonical)
        if uuid is None:
            raise Ec2Error("InvalidAllocationID.NotFound",
                           f"The allocation ID '{canonical}' does not exist")
        return uuid

    def _own(self, ctx: RequestContext, *, allocation_id: str | None = None,
             public_ip: str | None = None) -> FloatingAddress:
        """One of the caller's addresses by ``eipalloc-`` ID or address."""
        uuid = self._allocation_uuid(allocation_id) if allocation_id else None
        for address in self.floating.list_addresses(ctx):
            if (uuid and address.allocation_id == uuid) or \
                    (not uuid and address.address == public_ip):
                return address
        if allocation_id:
            raise Ec2Error("InvalidAllocationID.NotFound",
                           f"The allocation ID '{allocation_id}' does not exist")
        raise Ec2Error("InvalidAddress.NotFound", f"Address '{public_ip}' not found.")

    def _instance_uuid(self, ctx: RequestContext, ec2_id: str) -> str:
        canonical = canonical_id(Kind.INSTANCE, ec2_id)
        uuid = self.deps.ids.os_uuids_for(Kind.INSTANCE, [canonical]).get(canonical)
        try:
            if uuid is None:
                raise errors.NotFound(canonical)
            inst = self.deps.servers.get(ctx, uuid)
            if inst.project_id != ctx.project_id:
                raise errors.NotFound(canonical)
        except errors.NotFound:
            raise Ec2Error("InvalidInstanceID.NotFound",
                           f"The instance ID '{canonical}' does not exist") from None
        return uuid

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
                             "NetworkInterfaceOwnerId": project,
                             "SubnetId": derived_id("subnet", project)})
            out.append(view)
        return out

    # ---- actions --------------------------------------------------------------------
    @action("AllocateAddress", rules=(fl.CREATE,), errors=ADDRESS_ERRORS)
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
        try:
            address = self.floating.allocate(call.ctx)
        except errors.QuotaExceeded:
            raise Ec2Error("AddressLimitExceeded", MESSAGES["AddressLimitExceeded"]) from None
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
        try:
            result = self.floating.associate(
                ctx, uuid, allocation_id=address.allocation_id,
                allow_reassociation=bool(call.get("AllowReassociation")))
        except fl.AlreadyAssociated:
            associated = self.deps.ids.existing(Kind.ASSOCIATION, [address.association_id or ""])
            allocation = self.deps.ids.existing(Kind.ADDRESS, [address.allocation_id])
            raise Ec2Error("Resource.AlreadyAssociated",
                           f"resource {allocation.get(address.allocation_id)} is already "
                           f"associated with associate-id "
                           f"{associated.get(address.association_id or '')}") from None
        except fl.InstanceNotReady:
            raise Ec2Error("IncorrectInstanceState",
                           f"The instance '{canonical_id(Kind.INSTANCE, instance_id)}' is not "
                           "in a valid state for this operation.") from None
        association = self.deps.ids.existing(Kind.ASSOCIATION, [result.association_id or ""])
        return {"AssociationId": association.get(result.association_id or "")}

    @action("DisassociateAddress", rules=(fl.REMOVE,))
    def disassociate_address(self, call: Call) -> None:
        ctx = call.ctx
        association_id, public_ip = call.get("AssociationId"), call.get("PublicIp")
        if association_id:
            canonical = canonical_id(Kind.ASSOCIATION, association_id)
            uuid = self.deps.ids.os_uuids_for(Kind.ASSOCIATION, [canonical]).get(canonical)
            try:
                if uuid is None:
                    raise errors.NotFound(canonical)
                self.floating.disassociate(ctx, association_id=uuid)
            except errors.NotFound:
                raise Ec2Error("InvalidAssociationID.NotFound",
                               f"The association ID '{canonical}' does not exist") from None
        elif public_ip:
            address = self._own(ctx, public_ip=public_ip)
            if address.instance_uuid is None:
                raise Ec2Error("InvalidAssociationID.NotFound",
                               f"The address '{public_ip}' is not associated")
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
        try:
            self.floating.release(ctx, allocation_id=address.allocation_id)
        except fl.AddressInUse:
            raise Ec2Error("InvalidIPAddress.InUse",
                           f"Address {address.address} is in use.") from None
        except errors.NotFound:  # released by a concurrent call
            raise Ec2Error("InvalidAllocationID.NotFound",
                           f"The allocation ID '{allocation_id or public_ip}' does not "
                           "exist") from None
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
                raise Ec2Error("InvalidAllocationID.NotFound",
                               f"The allocation ID '{missing[0]}' does not exist")
            views = [v for v in views if v["AllocationId"] in set(wanted_ids)]
        if wanted_ips:
            known = {v["PublicIp"] for v in views}
            missing = [i for i in dict.fromkeys(wanted_ips) if i not in known]
            if missing:
                raise Ec2Error("InvalidAddress.NotFound", f"Address '{missing[0]}' not found.")
            views = [v for v in views if v["PublicIp"] in set(wanted_ips)]
        return {"Addresses": ADDRESS_FILTERS.apply(views, call.get("Filters"))}
