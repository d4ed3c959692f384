"""The EC2 VPC family through boto3 (and the aws CLI): VPCs, subnets, route
tables, internet gateways and DHCP options over the network model — the
waiters, filters, tags, every error code, another project's view, and the
default VPC and subnet (the bootstrap's router and shared network).

VPCs and subnets are made in a project of the module's own (``mine``): a
subnet in ``demo`` would be where every other test's instance there launches."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.ec2 import Project, aws_with_endpoint, error, new_project

VPC = re.compile(r"vpc-[0-9a-f]{17}")
SUBNET = re.compile(r"subnet-[0-9a-f]{17}")
pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.fixture(scope="module")
def mine(server, admin_session, endpoint) -> Project:
    """The module's own project, with an EC2 credential of its own."""
    return new_project(server, admin_session, endpoint, "ec2-vpc")


@pytest.fixture(scope="module")
def vpc(mine):
    made = mine.ec2.create_vpc(CidrBlock="10.42.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "team", "Value": "blue"}]}])["Vpc"]
    yield made
    for s in mine.ec2.describe_subnets(Filters=[{"Name": "vpc-id",
                                                  "Values": [made["VpcId"]]}])["Subnets"]:
        mine.ec2.delete_subnet(SubnetId=s["SubnetId"])
    for g in mine.ec2.describe_internet_gateways()["InternetGateways"]:
        for a in g["Attachments"]:
            if a["VpcId"] == made["VpcId"]:
                mine.ec2.detach_internet_gateway(InternetGatewayId=g["InternetGatewayId"],
                                                 VpcId=made["VpcId"])
    mine.ec2.delete_vpc(VpcId=made["VpcId"])


def test_default_vpc_and_subnet_are_the_bootstraps(demo, other):
    (vpc,) = demo.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    assert VPC.fullmatch(vpc["VpcId"]) and vpc["State"] == "available"
    (theirs,) = other.ec2.describe_vpcs()["Vpcs"]
    assert theirs["VpcId"] == vpc["VpcId"] and theirs["IsDefault"]  # one shared default VPC
    attrs = {a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]]
             for a in demo.ec2.describe_account_attributes()["AccountAttributes"]}
    assert attrs["default-vpc"] == [vpc["VpcId"]]
    (subnet,) = other.ec2.describe_subnets()["Subnets"]
    assert SUBNET.fullmatch(subnet["SubnetId"]) and subnet["VpcId"] == vpc["VpcId"]
    assert subnet["DefaultForAz"] and subnet["CidrBlock"] == vpc["CidrBlock"]
    assert subnet["AvailableIpAddressCount"] > 0
    # the bootstrap's router has its gateway: an internet gateway attached to it
    gws = other.ec2.describe_internet_gateways(Filters=[
        {"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])["InternetGateways"]
    assert len(gws) == 1
    (main,) = other.ec2.describe_route_tables(Filters=[
        {"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["RouteTables"]
    assert main["Routes"][0] == {"DestinationCidrBlock": vpc["CidrBlock"], "GatewayId": "local",
                                 "State": "active", "Origin": "CreateRouteTable"}
    assert error(demo.ec2.delete_vpc, VpcId=vpc["VpcId"])[0] in (
        "DependencyViolation", "UnauthorizedOperation")
    # each project tags the default VPC for itself
    demo.ec2.create_tags(Resources=[vpc["VpcId"]], Tags=[{"Key": "mine", "Value": "demo"}])
    assert {"Key": "mine", "Value": "demo"} in demo.ec2.describe_vpcs(
        VpcIds=[vpc["VpcId"]])["Vpcs"][0]["Tags"]
    assert other.ec2.describe_vpcs(VpcIds=[vpc["VpcId"]])["Vpcs"][0]["Tags"] == []
    demo.ec2.delete_tags(Resources=[vpc["VpcId"]], Tags=[{"Key": "mine"}])


def test_create_vpc_subnet_and_describe(mine, other, vpc):
    vid = vpc["VpcId"]
    assert VPC.fullmatch(vid) and vpc["CidrBlock"] == "10.42.0.0/16"
    assert vpc["OwnerId"] == mine.account and not vpc["IsDefault"]
    assert vpc["DhcpOptionsId"] == "default"
    mine.ec2.get_waiter("vpc_available").wait(VpcIds=[vid])
    assert mine.ec2.describe_vpcs(Filters=[{"Name": "tag:team", "Values": ["blue"]}]
                                  )["Vpcs"][0]["VpcId"] == vid
    assert mine.ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.42.*"]}]
                                  )["Vpcs"][0]["VpcId"] == vid
    assert error(other.ec2.describe_vpcs, VpcIds=[vid]) == ("InvalidVpcID.NotFound", 400)
    sub = mine.ec2.create_subnet(VpcId=vid, CidrBlock="10.42.1.0/24", TagSpecifications=[
        {"ResourceType": "subnet", "Tags": [{"Key": "Name", "Value": "web"}]}])["Subnet"]
    sid = sub["SubnetId"]
    assert SUBNET.fullmatch(sid) and sub["VpcId"] == vid and sub["State"] == "available"
    assert sub["Tags"] == [{"Key": "Name", "Value": "web"}]
    assert sub["AvailableIpAddressCount"] == 253  # .2-.254 (.1 is the router's)
    mine.ec2.get_waiter("subnet_available").wait(SubnetIds=[sid])
    got = mine.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vid]},
                                             {"Name": "cidr-block", "Values": ["10.42.1.0/24"]}])
    assert [s["SubnetId"] for s in got["Subnets"]] == [sid]
    assert error(mine.ec2.create_subnet, VpcId=vid, CidrBlock="10.43.0.0/24") == \
        ("InvalidSubnet.Range", 400)
    assert error(mine.ec2.create_subnet, VpcId=vid, CidrBlock="10.42.0.0/29") == \
        ("InvalidSubnet.Range", 400)
    assert error(mine.ec2.create_subnet, VpcId=vid, CidrBlock="10.42.1.128/25") == \
        ("InvalidSubnet.Conflict", 400)
    assert error(mine.ec2.create_subnet, VpcId="vpc-0123456789abcdef0",
                 CidrBlock="10.42.2.0/24") == ("InvalidVpcID.NotFound", 400)
    assert error(mine.ec2.describe_subnets, SubnetIds=["subnet-0123456789abcdef0"]) == \
        ("InvalidSubnetID.NotFound", 400)
    assert error(mine.ec2.delete_vpc, VpcId=vid) == ("DependencyViolation", 400)
    mine.ec2.modify_subnet_attribute(SubnetId=sid, MapPublicIpOnLaunch={"Value": True})
    assert mine.ec2.describe_subnets(SubnetIds=[sid])["Subnets"][0]["MapPublicIpOnLaunch"]
    # paging
    first = mine.ec2.describe_subnets(MaxResults=5)
    assert len(first["Subnets"]) <= 5


def test_vpc_attributes(mine, vpc):
    vid = vpc["VpcId"]
    got = mine.ec2.describe_vpc_attribute(VpcId=vid, Attribute="enableDnsHostnames")
    assert got["EnableDnsHostnames"] == {"Value": False}
    mine.ec2.modify_vpc_attribute(VpcId=vid, EnableDnsHostnames={"Value": True})
    got = mine.ec2.describe_vpc_attribute(VpcId=vid, Attribute="enableDnsHostnames")
    assert got["EnableDnsHostnames"] == {"Value": True}
    assert mine.ec2.describe_vpc_attribute(VpcId=vid, Attribute="enableDnsSupport"
                                           )["EnableDnsSupport"] == {"Value": True}


def test_vpc_range_and_missing(mine):
    assert error(mine.ec2.create_vpc, CidrBlock="10.0.0.0/8") == ("InvalidVpc.Range", 400)
    assert error(mine.ec2.create_vpc, CidrBlock="nonsense")[0] == "InvalidParameterValue"
    assert error(mine.ec2.delete_vpc, VpcId="vpc-0123456789abcdef0") == \
        ("InvalidVpcID.NotFound", 400)
    assert error(mine.ec2.delete_vpc, VpcId="vpc-xyz") == ("InvalidVpcID.Malformed", 400)


def test_route_tables_and_internet_gateway(mine, vpc):
    vid = vpc["VpcId"]
    # a subnet of its own: the one test_create_vpc_subnet_and_describe makes may not
    # exist here (another worker, another order)
    sub = mine.ec2.create_subnet(VpcId=vid, CidrBlock="10.42.3.0/24")["Subnet"]
    (main,) = mine.ec2.describe_route_tables(Filters=[
        {"Name": "vpc-id", "Values": [vid]}, {"Name": "association.main",
                                              "Values": ["true"]}])["RouteTables"]
    assert main["Associations"][0]["Main"] is True
    igw = mine.ec2.create_internet_gateway()["InternetGateway"]
    gid = igw["InternetGatewayId"]
    assert igw["Attachments"] == []
    rtb = mine.ec2.create_route_table(VpcId=vid)["RouteTable"]
    rid = rtb["RouteTableId"]
    assert [r["GatewayId"] for r in rtb["Routes"]] == ["local"]
    assert error(mine.ec2.create_route, RouteTableId=rid, DestinationCidrBlock="0.0.0.0/0",
                 GatewayId=gid) == ("InvalidParameterValue", 400)  # not attached to the VPC
    assert error(mine.ec2.detach_internet_gateway, InternetGatewayId=gid, VpcId=vid) == \
        ("Gateway.NotAttached", 400)
    mine.ec2.attach_internet_gateway(InternetGatewayId=gid, VpcId=vid)
    assert error(mine.ec2.attach_internet_gateway, InternetGatewayId=gid, VpcId=vid) == \
        ("Resource.AlreadyAssociated", 400)
    (shown,) = mine.ec2.describe_internet_gateways(InternetGatewayIds=[gid])["InternetGateways"]
    assert shown["Attachments"] == [{"VpcId": vid, "State": "available"}]
    mine.ec2.create_route(RouteTableId=rid, DestinationCidrBlock="0.0.0.0/0", GatewayId=gid)
    assert error(mine.ec2.create_route, RouteTableId=rid, DestinationCidrBlock="0.0.0.0/0",
                 GatewayId=gid) == ("RouteAlreadyExists", 400)
    mine.ec2.replace_route(RouteTableId=rid, DestinationCidrBlock="0.0.0.0/0", GatewayId=gid)
    assert error(mine.ec2.replace_route, RouteTableId=rid, DestinationCidrBlock="1.0.0.0/8",
                 GatewayId=gid) == ("InvalidRoute.NotFound", 400)
    routes = mine.ec2.describe_route_tables(RouteTableIds=[rid])["RouteTables"][0]["Routes"]
    assert routes[1] == {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": gid,
                         "State": "active", "Origin": "CreateRoute"}
    assoc = mine.ec2.associate_route_table(RouteTableId=rid, SubnetId=sub["SubnetId"])
    assoc_id = assoc["AssociationId"]
    assert assoc_id.startswith("rtbassoc-")
    assert error(mine.ec2.associate_route_table, RouteTableId=rid,
                 SubnetId=sub["SubnetId"]) == ("Resource.AlreadyAssociated", 400)
    assert error(mine.ec2.delete_route_table, RouteTableId=rid) == ("DependencyViolation", 400)
    assert error(mine.ec2.delete_route_table, RouteTableId=main["RouteTableId"]) == \
        ("DependencyViolation", 400)
    assert error(mine.ec2.delete_vpc, VpcId=vid) == ("DependencyViolation", 400)
    assert error(mine.ec2.delete_internet_gateway, InternetGatewayId=gid) == \
        ("DependencyViolation", 400)
    got = mine.ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id",
                                                   "Values": [sub["SubnetId"]]}])
    assert [t["RouteTableId"] for t in got["RouteTables"]] == [rid]
    mine.ec2.disassociate_route_table(AssociationId=assoc_id)
    assert error(mine.ec2.disassociate_route_table, AssociationId=assoc_id) == \
        ("InvalidAssociationID.NotFound", 400)
    mine.ec2.detach_internet_gateway(InternetGatewayId=gid, VpcId=vid)
    routes = mine.ec2.describe_route_tables(RouteTableIds=[rid])["RouteTables"][0]["Routes"]
    assert routes[1]["State"] == "blackhole"
    mine.ec2.delete_route(RouteTableId=rid, DestinationCidrBlock="0.0.0.0/0")
    assert error(mine.ec2.delete_route, RouteTableId=rid, DestinationCidrBlock="0.0.0.0/0") \
        == ("InvalidRoute.NotFound", 400)
    mine.ec2.delete_route_table(RouteTableId=rid)
    assert error(mine.ec2.describe_route_tables, RouteTableIds=[rid]) == \
        ("InvalidRouteTableID.NotFound", 400)
    mine.ec2.delete_internet_gateway(InternetGatewayId=gid)
    assert error(mine.ec2.describe_internet_gateways, InternetGatewayIds=[gid]) == \
        ("InvalidInternetGatewayID.NotFound", 400)


def test_dhcp_options(mine, vpc):
    vid = vpc["VpcId"]
    made = mine.ec2.create_dhcp_options(DhcpConfigurations=[
        {"Key": "domain-name-servers", "Values": ["10.42.0.2", "8.8.8.8"]},
        {"Key": "domain-name", "Values": ["example.internal"]}])["DhcpOptions"]
    did = made["DhcpOptionsId"]
    assert did.startswith("dopt-") and made["OwnerId"] == mine.account
    mine.ec2.associate_dhcp_options(DhcpOptionsId=did, VpcId=vid)
    assert mine.ec2.describe_vpcs(VpcIds=[vid])["Vpcs"][0]["DhcpOptionsId"] == did
    assert error(mine.ec2.delete_dhcp_options, DhcpOptionsId=did) == \
        ("DependencyViolation", 400)
    got = mine.ec2.describe_dhcp_options(Filters=[{"Name": "key",
                                                   "Values": ["domain-name"]}])["DhcpOptions"]
    assert did in [d["DhcpOptionsId"] for d in got]
    mine.ec2.associate_dhcp_options(DhcpOptionsId="default", VpcId=vid)
    mine.ec2.delete_dhcp_options(DhcpOptionsId=did)
    assert error(mine.ec2.describe_dhcp_options, DhcpOptionsIds=[did]) == \
        ("InvalidDhcpOptionID.NotFound", 400)
    assert error(mine.ec2.create_dhcp_options, DhcpConfigurations=[
        {"Key": "colour", "Values": ["red"]}])[0] == "InvalidParameterValue"


def test_delete_subnet_and_vpc_and_cli(server, endpoint, mine):
    made = json.loads(aws_with_endpoint(server, endpoint, "create-vpc", "--cidr-block",
                                        "10.77.0.0/16", keys=mine.keys).stdout)["Vpc"]
    vid = made["VpcId"]
    sid = mine.ec2.create_subnet(VpcId=vid, CidrBlock="10.77.0.0/24")["Subnet"]["SubnetId"]
    listed = json.loads(aws_with_endpoint(server, endpoint, "describe-subnets",
                                          "--subnet-ids", sid, keys=mine.keys).stdout)["Subnets"]
    assert listed[0]["VpcId"] == vid
    mine.ec2.delete_subnet(SubnetId=sid)
    assert error(mine.ec2.delete_subnet, SubnetId=sid) == ("InvalidSubnetID.NotFound", 400)
    mine.ec2.delete_vpc(VpcId=vid)
    assert error(mine.ec2.describe_vpcs, VpcIds=[vid]) == ("InvalidVpcID.NotFound", 400)
