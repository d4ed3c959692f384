"""CreateVpc, DeleteVpc, DescribeVpcs, Modify/DescribeVpcAttribute and the DHCP
options actions, over :mod:`core.vpc`.

A VPC is a router (its ``vpc-`` ID is the router's in the ID map); the
default VPC is the router on the shared default network, the same for every
project (as the default network is every project's default subnet). A
router made with ``openstack router create`` is a VPC whose CIDR is the
smallest network holding its subnets (10.0.0.0/16 while it has none).
"""

from __future__ import annotations

from typing import Any

from core.context import RequestContext
from core.idmap.ids import Kind
from core.vpc.base import bool_value
from core.vpc.dhcp_options import OptionsSet
from core.vpc.vpcs import Vpc
from gateway.ec2.api import Call, action
from gateway.ec2.errors import Ec2Error
from gateway.ec2.filters import Filters
from gateway.ec2.handlers.vpc_common import GET_ROUTER, UPDATE_ROUTER, VpcHandler, tag_dict

VPC_FILTERS: Filters[dict[str, Any]] = Filters({
    "vpc-id": lambda v: v["VpcId"],
    "cidr": lambda v: v["CidrBlock"],
    "cidr-block-association.cidr-block": lambda v: v["CidrBlock"],
    "cidr-block-association.association-id":
        lambda v: [a["AssociationId"] for a in v["CidrBlockAssociationSet"]],
    "cidr-block-association.state": lambda v: "associated",
    "dhcp-options-id": lambda v: v["DhcpOptionsId"],
    "state": lambda v: v["State"],
    "is-default": lambda v: v["IsDefault"],
    "owner-id": lambda v: v["OwnerId"],
}, tags=tag_dict)

DHCP_FILTERS: Filters[dict[str, Any]] = Filters({
    "dhcp-options-id": lambda d: d["DhcpOptionsId"],
    "key": lambda d: [c["Key"] for c in d["DhcpConfigurations"]],
    "value": lambda d: [v["Value"] for c in d["DhcpConfigurations"] for v in c["Values"]],
    "owner-id": lambda d: d["OwnerId"],
}, tags=tag_dict)


class Vpcs(VpcHandler):
    # ---- views ---------------------------------------------------------------
    def vpc_views(self, ctx: RequestContext, vpcs: list[Vpc]) -> list[dict[str, Any]]:
        objects = [(v.router_id, v.project_id) for v in vpcs]
        ids = self.ec2(Kind.VPC, objects)
        assocs = self.ec2(Kind.VPC_CIDR_ASSOCIATION, objects)
        dhcp = self.deps.ids.existing(Kind.DHCP_OPTIONS,
                                      [v.dhcp_options_id for v in vpcs if v.dhcp_options_id])
        # every project's default VPC is its own, as in AWS (one router serves all)
        owner = {v.router_id: ctx.project_id or "" if v.is_default else v.project_id
                 for v in vpcs}
        owners = self.accounts(owner.values())
        tags = self.tags(ctx, Kind.VPC, [v.router_id for v in vpcs])
        return [{"VpcId": ids[v.router_id], "OwnerId": owners[owner[v.router_id]],
                 "State": "available", "CidrBlock": v.cidr_block,
                 "DhcpOptionsId": dhcp.get(v.dhcp_options_id or "", "default"),
                 "InstanceTenancy": "default", "IsDefault": v.is_default,
                 "CidrBlockAssociationSet": [{
                     "AssociationId": assocs[v.router_id], "CidrBlock": v.cidr_block,
                     "CidrBlockState": {"State": "associated"}}],
                 "Tags": tags.get(v.router_id, [])} for v in vpcs]

    # ---- VPCs ----------------------------------------------------------------
    @action("DescribeVpcs", rules=(GET_ROUTER,))
    def describe_vpcs(self, call: Call) -> dict[str, Any]:
        wanted = self.wanted(call, Kind.VPC, "VpcIds")
        views = self.vpc_views(call.ctx, self.deps.vpc.vpcs.list(call.ctx, wanted))
        views = VPC_FILTERS.apply(views, self.owner_filters(call.get("Filters")))
        chunk, token = self.paged(call, views, "VpcId", "VpcIds", "vpcIds")
        return {"Vpcs": chunk, "NextToken": token}

    @action("CreateVpc", rules=("network:create_router",))
    def create_vpc(self, call: Call) -> dict[str, Any]:
        cidr = call.get("CidrBlock")
        if not cidr:
            raise Ec2Error("MissingParameter",
                           "The request must contain the parameter cidrBlock")
        if call.get("InstanceTenancy") not in (None, "default"):
            raise Ec2Error("InvalidParameterValue", "Only the default tenancy is available.")
        name = next((t["Value"] for s in call.get("TagSpecifications", [])
                     for t in s.get("Tags") or [] if t.get("Key") == "Name"), "")
        vpc = self.deps.vpc.vpcs.create(call.ctx, cidr, name or "")
        (view,) = self.vpc_views(call.ctx, [vpc])
        view["Tags"] = self.tag_new(call, Kind.VPC, "vpc", vpc.router_id, view["VpcId"])
        return {"Vpc": view}

    @action("DeleteVpc", rules=("network:delete_router",))
    def delete_vpc(self, call: Call) -> None:
        router = self.os_id(Kind.VPC, self.required(call, "VpcId", "vpcId"))
        self.deps.vpc.vpcs.delete(call.ctx, router)

    @action("ModifyVpcAttribute", rules=(UPDATE_ROUTER,))
    def modify_vpc_attribute(self, call: Call) -> None:
        router = self.os_id(Kind.VPC, self.required(call, "VpcId", "vpcId"))
        given = [(name, call.get(param)) for name, param in
                 (("enableDnsSupport", "EnableDnsSupport"),
                  ("enableDnsHostnames", "EnableDnsHostnames"))
                 if call.get(param) is not None]
        if len(given) != 1:
            raise Ec2Error("InvalidParameterCombination",
                           "Exactly one attribute may be modified in one request: "
                           "EnableDnsSupport or EnableDnsHostnames.")
        name, value = given[0]
        self.deps.vpc.vpcs.set_attribute(call.ctx, router, name, bool_value(value, name))

    @action("DescribeVpcAttribute", rules=(GET_ROUTER,))
    def describe_vpc_attribute(self, call: Call) -> dict[str, Any]:
        vpc_id = self.required(call, "VpcId", "vpcId")
        attribute = self.required(call, "Attribute", "attribute")
        vpc = self.deps.vpc.vpcs.get(call.ctx, self.os_id(Kind.VPC, vpc_id))
        values = {"enableDnsSupport": ("EnableDnsSupport", vpc.enable_dns_support),
                  "enableDnsHostnames": ("EnableDnsHostnames", vpc.enable_dns_hostnames),
                  "enableNetworkAddressUsageMetrics":
                      ("EnableNetworkAddressUsageMetrics", False)}
        if attribute not in values:
            raise Ec2Error("InvalidParameterValue",
                           f"Value ({attribute}) for parameter attribute is invalid.")
        member, value = values[attribute]
        return {"VpcId": vpc_id.lower(), member: {"Value": value}}

    # ---- DHCP options --------------------------------------------------------
    def dhcp_views(self, ctx: RequestContext, sets: list[OptionsSet]) -> list[dict[str, Any]]:
        ids = self.ec2(Kind.DHCP_OPTIONS, [(o.id, o.project_id) for o in sets])
        tags = self.tags(ctx, Kind.DHCP_OPTIONS, [o.id for o in sets])
        owners = self.accounts(o.project_id for o in sets)
        return [{"DhcpOptionsId": ids[o.id], "OwnerId": owners[o.project_id],
                 "DhcpConfigurations": [{"Key": k, "Values": [{"Value": v} for v in vs]}
                                        for k, vs in sorted(o.options.items())],
                 "Tags": tags.get(o.id, [])} for o in sets]

    @action("CreateDhcpOptions", rules=(UPDATE_ROUTER,))
    def create_dhcp_options(self, call: Call) -> dict[str, Any]:
        configs = call.get("DhcpConfigurations", [])
        if not configs:
            raise Ec2Error("MissingParameter",
                           "The request must contain the parameter dhcpConfiguration")
        options: dict[str, list[str]] = {}
        for c in configs:
            if not c.get("Key"):
                raise Ec2Error("MissingParameter", "Every DHCP configuration needs a Key.")
            options.setdefault(c["Key"], []).extend(c.get("Values") or [])
        made = self.deps.vpc.dhcp_options.create(call.ctx, options)
        (view,) = self.dhcp_views(call.ctx, [made])
        view["Tags"] = self.tag_new(call, Kind.DHCP_OPTIONS, "dhcp-options", made.id,
                                    view["DhcpOptionsId"])
        return {"DhcpOptions": view}

    @action("DescribeDhcpOptions", rules=(GET_ROUTER,))
    def describe_dhcp_options(self, call: Call) -> dict[str, Any]:
        wanted = self.wanted(call, Kind.DHCP_OPTIONS, "DhcpOptionsIds")
        views = self.dhcp_views(call.ctx, self.deps.vpc.dhcp_options.list(call.ctx, wanted))
        views = DHCP_FILTERS.apply(views, self.owner_filters(call.get("Filters")))
        chunk, token = self.paged(call, views, "DhcpOptionsId", "DhcpOptionsIds",
                                  "dhcpOptionsIds")
        return {"DhcpOptions": chunk, "NextToken": token}

    @action("DeleteDhcpOptions", rules=(UPDATE_ROUTER,))
    def delete_dhcp_options(self, call: Call) -> None:
        options = self.os_id(Kind.DHCP_OPTIONS,
                             self.required(call, "DhcpOptionsId", "dhcpOptionsId"))
        self.deps.vpc.dhcp_options.delete(call.ctx, options)

    @action("AssociateDhcpOptions", rules=(UPDATE_ROUTER,))
    def associate_dhcp_options(self, call: Call) -> None:
        given = self.required(call, "DhcpOptionsId", "dhcpOptionsId")
        router = self.os_id(Kind.VPC, self.required(call, "VpcId", "vpcId"))
        options = None if given == "default" else self.os_id(Kind.DHCP_OPTIONS, given)
        self.deps.vpc.dhcp_options.associate(call.ctx, options, router)
