"""CreateSubnet, DeleteSubnet, DescribeSubnets and ModifySubnetAttribute over
:mod:`core.vpc`: a subnet is a network (its ``subnet-`` ID is the network's)
with its IPv4 subnet, routed by its VPC's router. The default subnet is the
shared default network, the same for every project; a network made with OSC
and added to a router is a subnet of that router's VPC."""

from __future__ import annotations

from typing import Any

from core.context import RequestContext
from core.idmap.ids import Kind
from core.vpc.base import bool_value
from core.vpc.subnets import Ec2Subnet
from gateway.ec2.api import Call, action
from gateway.ec2.errors import Ec2Error
from gateway.ec2.filters import Filters
from gateway.ec2.handlers.vpc_common import GET_ROUTER, VpcHandler, tag_dict

SUBNET_FILTERS: Filters[dict[str, Any]] = Filters({
    "subnet-id": lambda s: s["SubnetId"],
    "vpc-id": lambda s: s["VpcId"],
    "cidr-block": lambda s: s["CidrBlock"],
    "cidr": lambda s: s["CidrBlock"],
    "cidrBlock": lambda s: s["CidrBlock"],
    "availability-zone": lambda s: s["AvailabilityZone"],
    "availability-zone-id": lambda s: s["AvailabilityZoneId"],
    "available-ip-address-count": lambda s: s["AvailableIpAddressCount"],
    "default-for-az": lambda s: s["DefaultForAz"],
    "defaultForAz": lambda s: s["DefaultForAz"],
    "map-public-ip-on-launch": lambda s: s["MapPublicIpOnLaunch"],
    "state": lambda s: s["State"],
    "subnet-arn": lambda s: s["SubnetArn"],
    "owner-id": lambda s: s["OwnerId"],
}, tags=tag_dict)


class Subnets(VpcHandler):
    def subnet_views(self, ctx: RequestContext, subnets: list[Ec2Subnet]
                     ) -> list[dict[str, Any]]:
        settings = self.deps.settings
        ids = self.ec2(Kind.SUBNET, [(s.network_id, s.project_id) for s in subnets])
        vpcs = self.ec2(Kind.VPC, [(s.router_id, s.project_id) for s in subnets])
        # every project's default subnet is its own, as its default VPC
        owner = {s.network_id: ctx.project_id or "" if s.is_default else s.project_id
                 for s in subnets}
        owners = self.accounts(owner.values())
        tags = self.tags(ctx, Kind.SUBNET, [s.network_id for s in subnets])
        zone = settings.default_availability_zone
        out = []
        for s in subnets:
            subnet_id, account = ids[s.network_id], owners[owner[s.network_id]]
            out.append({
                "SubnetId": subnet_id, "VpcId": vpcs[s.router_id], "OwnerId": account,
                "State": "available", "CidrBlock": s.cidr_block,
                "AvailabilityZone": zone,
                "AvailabilityZoneId": f"{settings.region.lower()}-{zone}",
                "AvailableIpAddressCount": s.available_addresses,
                "DefaultForAz": s.is_default, "MapPublicIpOnLaunch": s.map_public_ip_on_launch,
                "AssignIpv6AddressOnCreation": False, "Ipv6CidrBlockAssociationSet": [],
                "SubnetArn": f"arn:aws:ec2:{settings.region}:{account}:subnet/{subnet_id}",
                "Tags": tags.get(s.network_id, [])})
        return out

    @action("DescribeSubnets", rules=(GET_ROUTER, "network:get_network"))
    def describe_subnets(self, call: Call) -> dict[str, Any]:
        wanted = self.wanted(call, Kind.SUBNET, "SubnetIds")
        views = self.subnet_views(call.ctx, self.deps.vpc.subnets.list(call.ctx, wanted))
        views = SUBNET_FILTERS.apply(views, self.owner_filters(call.get("Filters")))
        chunk, token = self.paged(call, views, "SubnetId", "SubnetIds", "subnetIds")
        return {"Subnets": chunk, "NextToken": token}

    @action("CreateSubnet", rules=("network:create_network", "network:create_subnet",
                                   "network:add_router_interface"))
    def create_subnet(self, call: Call) -> dict[str, Any]:
        vpc_id = self.required(call, "VpcId", "vpcId")
        cidr = call.get("CidrBlock")
        if not cidr:
            raise Ec2Error("MissingParameter",
                           "The request must contain the parameter cidrBlock")
        zone = call.get("AvailabilityZone")
        if zone not in (None, self.deps.settings.default_availability_zone):
            raise Ec2Error("InvalidParameterValue",
                           f"Value ({zone}) for parameter availabilityZone is invalid. "
                           f"Subnets can currently only be created in the following "
                           f"availability zones: {self.deps.settings.default_availability_zone}.")
        router = self.os_id(Kind.VPC, vpc_id)
        name = next((t["Value"] for s in call.get("TagSpecifications", [])
                     for t in s.get("Tags") or [] if t.get("Key") == "Name"), "")
        made = self.deps.vpc.subnets.create(call.ctx, router, cidr, name or "")
        (view,) = self.subnet_views(call.ctx, [made])
        view["Tags"] = self.tag_new(call, Kind.SUBNET, "subnet", made.network_id,
                                    view["SubnetId"])
        return {"Subnet": view}

    @action("DeleteSubnet", rules=("network:delete_network", "network:remove_router_interface"))
    def delete_subnet(self, call: Call) -> None:
        network = self.os_id(Kind.SUBNET, self.required(call, "SubnetId", "subnetId"))
        self.deps.vpc.subnets.delete(call.ctx, network)

    @action("ModifySubnetAttribute", rules=("network:update_network",))
    def modify_subnet_attribute(self, call: Call) -> None:
        network = self.os_id(Kind.SUBNET, self.required(call, "SubnetId", "subnetId"))
        value = call.get("MapPublicIpOnLaunch")
        others = [k for k in ("AssignIpv6AddressOnCreation", "MapCustomerOwnedIpOnLaunch",
                              "EnableDns64", "PrivateDnsHostnameTypeOnLaunch",
                              "EnableResourceNameDnsARecordOnLaunch",
                              "EnableResourceNameDnsAAAARecordOnLaunch", "EnableLniAtDeviceIndex",
                              "DisableLniAtDeviceIndex", "CustomerOwnedIpv4Pool")
                  if call.get(k) is not None]
        if others or value is None:
            raise Ec2Error("InvalidParameterValue",
                           "Only MapPublicIpOnLaunch can be modified on this cloud's subnets.")
        self.deps.vpc.subnets.set_map_public_ip(call.ctx, network,
                                                bool_value(value, "MapPublicIpOnLaunch"))
