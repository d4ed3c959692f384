"""The EC2 VPC family through boto3 (and the aws CLI): VPCs, subnets, route
tables, internet gateways and DHCP options over the network model — the
waiters, filters, tags, every error code, another project's view, and the
default VPC and subnet (the bootstrap's router and shared network)."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.ec2 import aws_with_endpoint, error

VPC = re.compile(r"vpc-[0-9a-f]{17}")
SUBNET = re.compile(r"subnet-[0-9a-f]{17}")
pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.fixture(scope="module")
def vpc(demo):
    made = demo.ec2.create_vpc(CidrBlock="10.42.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "team", "Value": "blue"}]}])["Vpc"]
    yield made
    for s in demo.ec2.describe_subnets(Filters=[{"Name": "vpc-id",
                                                  "Values": [made["VpcId"]]}])["Subnets"]:
        demo.ec2.delete_subnet(SubnetId=s["SubnetId"])
    for g in demo.ec2.describe_internet_gateways()["InternetGateways"]:
        for a in g["Attachments"]:
            if a["VpcId"] == made["VpcId"]:
                demo.ec2.detach_internet_gateway(InternetGatewayId=g["InternetGatewayId"],
                                                 VpcId=made["VpcId"])
    demo.ec2.delete_vpc(VpcId=made["VpcId"])


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


def test_create_vpc_subnet_and_describe(demo, other, vpc):
    vid = vpc["VpcId"]
    assert VPC.fullmatch(vid) and vpc["CidrBlock"] == "10.42.0.0/16"
    assert vpc["OwnerId"] == demo.account and not vpc["IsDefault"]
    assert vpc["DhcpOptionsId"] == "default"
    demo.ec2.get_waiter("vpc_available").wait(VpcIds=[vid])
    assert demo.ec2.describe_vpcs(Filters=[{"Name": "tag:team", "Values": ["blue"]}]
                                  )["Vpcs"][0]["VpcId"] == vid
    assert demo.ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.42.*"]}]
                                  )["Vpcs"][0]["VpcId"] == vid
    assert error(other.ec2.describe_vpcs, VpcIds=[vid]) == ("InvalidVpcID.NotFound", 400)
    sub = demo.ec2.create_subnet(VpcId=vid, CidrBlock="10.42.1.0/24", TagSpecifications=[
        {"ResourceType": "subnet", "Tags": [{"Key": "Name", "Value": "web"}]}])["Subnet"]
    sid = sub["SubnetId"]
    assert SUBNET.fullmatch(sid) and sub["VpcId"] == vid and sub["State"] == "available"
    assert sub["Tags"] == [{"Key": "Name", "Value": "web"}]
    assert sub["AvailableIpAddressCount"] == 253  # .2-.254 (.1 is the router's)
    demo.ec2.get_waiter("subnet_available").wait(SubnetIds=[sid])
    got = demo.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vid]},
                                             {"Name": "cidr-block", "Values": ["10.42.1.0/24"]}])
    assert [s["SubnetId"] for s in got["Subnets"]] == [sid]
    assert error(demo.ec2.create_subnet, VpcId=vid, CidrBlock="10.43.0.0/24") == \
        ("InvalidSubnet.Range", 400)
    assert error(demo.ec2.create_subnet, VpcId=vid, CidrBlock="10.42.0.0/29") == \
        ("InvalidSubnet.Range", 400)
    assert error(demo.ec2.create_subnet, VpcId=vid, CidrBlock="10.42.1.128/25") == \
        ("InvalidSubnet.Conflict", 400)
    assert error(demo.ec2.create_subnet, VpcId="vpc-0123456789abcdef0",
                 CidrBlock="10.42.2.0/24") == ("InvalidVpcID.NotFound", 400)
    assert error(demo.ec2.describe_subnets, SubnetIds=["subnet-0123456789abcdef0"]) == \
        ("InvalidSubnetID.NotFound", 400)
    assert error(demo.ec2.delete_vpc, VpcId=vid) == ("DependencyViolation", 400)
    demo.ec2.modify_subnet_attribute(SubnetId=sid, MapPublicIpOnLaunch={"Value": True})
    assert demo.ec2.describe_subnets(SubnetIds=[sid])["Subnets"][0]["MapPublicIpOnLaunch"]
    # paging
    first = demo.ec2.describe_subnets(MaxResults=5)
    assert len(first["Subnets"]) <= 5


def test_vpc_attributes(demo, vpc):
    vid = vpc["VpcId"]
    got = demo.ec2.describe_vpc_attribute(VpcId=vid, Attribute="enableDnsHostnames")
    assert got["EnableDnsHostnames"] == {"Value": False}
    demo.ec2.modify_vpc_attribute(VpcId=vid, EnableDnsHostnames={"Value": True})
    got = demo.ec2.describe_vpc_attribute(VpcId=vid, Attribute="enableDnsHostnames")
    assert got["EnableDnsHostnames"] == {"Value": True}
    assert demo.ec2.describe_vpc_attribute(VpcId=vid, Attribute="enableDnsSupport"
                                           )["EnableDnsSupport"] == {"Value": True}


def test_vpc_range_and_missing(demo):
    assert error(demo.ec2.create_vpc, CidrBlock="10.0.0.0/8") == ("InvalidVpc.Range", 400)
    assert error(demo.ec2.create_vpc, CidrBlock="nonsense")[0] == "InvalidParameterValue"
    assert error(demo.ec2.delete_vpc, VpcId="vpc-0123456789abcdef0") == \
        ("InvalidVpcID.NotFound", 400)
    assert error(demo.ec2.delete_vpc, VpcId="vpc-xyz") == ("InvalidVpcID.Malformed", 400)


def test_route_tables_and_internet_gateway(demo, vpc):
    vid = vpc["VpcId"]
    (sub,) = demo.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vid]}])["Subnets"]
    (main,) = demo.ec2.describe_route_tables(Filters=[
        {"Name": "vpc-id", "Values": [vid]}, {"Name": "association.main",
                                              "Values": ["true"]}])["RouteTables"]
    assert main["Associations"][0]["Main"] is True
    igw = demo.ec2.create_internet_gateway()["InternetGateway"]
    gid = igw["InternetGatewayId"]
    assert igw["Attachments"] == []
    rtb = demo.ec2.create_route_table(VpcId=vid)["RouteTable"]
    rid = rtb["RouteTableId"]
    assert [r["GatewayId"] for r in rtb["Routes"]] == ["local"]
    assert error(demo.ec2.create_route, RouteTableId=rid, DestinationCidrBlock="0.0.0.0/0",
                 GatewayId=gid) == ("InvalidParameterValue", 400)  # not attached to the VPC
    assert error(demo.ec2.detach_internet_gateway, InternetGatewayId=gid, VpcId=vid) == \
        ("Gateway.NotAttached", 400)
    demo.ec2.attach_internet_gateway(InternetGatewayId=gid, VpcId=vid)
    assert error(demo.ec2.attach_internet_gateway, InternetGatewayId=gid, VpcId=vid) == \
        ("Resource.AlreadyAssociated", 400)
    (shown,) = demo.ec2.describe_internet_gateways(InternetGatewayIds=[gid])["InternetGateways"]
    assert shown["Attachments"] == [{"VpcId": vid, "State": "available"}]
    demo.ec2.create_route(RouteTableId=rid, DestinationCidrBlock="0.0.0.0/0", GatewayId=gid)
    assert error(demo.ec2.create_route, RouteTableId=rid, DestinationCidrBlock="0.0.0.0/0",
                 GatewayId=gid) == ("RouteAlreadyExists", 400)
    demo.ec2.replace_route(RouteTableId=rid, DestinationCidrBlock="0.0.0.0/0", GatewayId=gid)
    assert error(demo.ec2.replace_route, RouteTableId=rid, DestinationCidrBlock="1.0.0.0/8",
                 GatewayId=gid) == ("InvalidRoute.NotFound", 400)
    routes = demo.ec2.describe_route_tables(RouteTableIds=[rid])["RouteTables"][0]["Routes"]
    assert routes[1] == {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": gid,
                         "State": "active", "Origin": "CreateRoute"}
    assoc = demo.ec2.associate_route_table(RouteTableId=rid, SubnetId=sub["SubnetId"])
    assoc_id = assoc["AssociationId"]
    assert assoc_id.startswith("rtbassoc-")
    assert error(demo.ec2.associate_route_table, RouteTableId=rid,
                 SubnetId=sub["SubnetId"]) == ("Resource.AlreadyAssociated", 400)
    assert error(demo.ec2.delete_route_table, RouteTableId=rid) == ("DependencyViolation", 400)
    assert error(demo.ec2.delete_route_table, RouteTableId=main["RouteTableId"]) == \
        ("DependencyViolation", 400)
    assert error(demo.ec2.delete_vpc, VpcId=vid) == ("DependencyViolation", 400)
    assert error(demo.ec2.delete_internet_gateway, InternetGatewayId=gid) == \
        ("DependencyViolation", 400)
    got = demo.ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id",
                                                   "Values": [sub["SubnetId"]]}])
    assert [t["RouteTableId"] for t in got["RouteTables"]] == [rid]
    demo.ec2.disassociate_route_table(AssociationId=assoc_id)
    assert error(demo.ec2.disassociate_route_table, AssociationId=assoc_id) == \
        ("InvalidAssociationID.NotFound", 400)
    demo.ec2.detach_internet_gateway(InternetGatewayId=gid, VpcId=vid)
    routes = demo.ec2.describe_route_tables(RouteTableIds=[rid])["RouteTables"][0]["Routes"]
    assert routes[1]["State"] == "blackhole"
    demo.ec2.delete_route(RouteTableId=rid, DestinationCidrBlock="0.0.0.0/0")
    assert error(demo.ec2.delete_route, RouteTableId=rid, DestinationCidrBlock="0.0.0.0/0") \
        == ("InvalidRoute.NotFound", 400)
    demo.ec2.delete_route_table(RouteTableId=rid)
    assert error(demo.ec2.describe_route_tables, RouteTableIds=[rid]) == \
        ("InvalidRouteTableID.NotFound", 400)
    demo.ec2.delete_internet_gateway(InternetGatewayId=gid)
    assert error(demo.ec2.describe_internet_gateways, InternetGatewayIds=[gid]) == \
        ("InvalidInternetGatewayID.NotFound", 400)


def test_dhcp_options(demo, vpc):
    vid = vpc["VpcId"]
    made = demo.ec2.create_dhcp_options(DhcpConfigurations=[
        {"Key": "domain-name-servers", "Values": ["10.42.0.2", "8.8.8.8"]},
        {"Key": "domain-name", "Values": ["example.internal"]}])["DhcpOptions"]
    did = made["DhcpOptionsId"]
    assert did.startswith("dopt-") and made["OwnerId"] == demo.account
    demo.ec2.associate_dhcp_options(DhcpOptionsId=did, VpcId=vid)
    assert demo.ec2.describe_vpcs(VpcIds=[vid])["Vpcs"][0]["DhcpOptionsId"] == did
    assert error(demo.ec2.delete_dhcp_options, DhcpOptionsId=did) == \
        ("DependencyViolation", 400)
    got = demo.ec2.describe_dhcp_options(Filters=[{"Name": "key",
                                                   "Values": ["domain-name"]}])["DhcpOptions"]
    assert did in [d["DhcpOptionsId"] for d in got]
    demo.ec2.associate_dhcp_options(DhcpOptionsId="default", VpcId=vid)
    demo.ec2.delete_dhcp_options(DhcpOptionsId=did)
    assert error(demo.ec2.describe_dhcp_options, DhcpOptionsIds=[did]) == \
        ("InvalidDhcpOptionID.NotFound", 400)
    assert error(demo.ec2.create_dhcp_options, DhcpConfigurations=[
        {"Key": "colour", "Values": ["red"]}])[0] == "InvalidParameterValue"


def test_delete_subnet_and_vpc_and_cli(server, endpoint, demo):
    made = json.loads(aws_with_endpoint(server, endpoint, "create-vpc", "--cidr-block",
                                        "10.77.0.0/16").stdout)["Vpc"]
    vid = made["VpcId"]
    sid = demo.ec2.create_subnet(VpcId=vid, CidrBlock="10.77.0.0/24")["Subnet"]["SubnetId"]
    listed = json.loads(aws_with_endpoint(server, endpoint, "describe-subnets",
                                          "--subnet-ids", sid).stdout)["Subnets"]
    assert listed[0]["VpcId"] == vid
    demo.ec2.delete_subnet(SubnetId=sid)
    assert error(demo.ec2.delete_subnet, SubnetId=sid) == ("InvalidSubnetID.NotFound", 400)
    demo.ec2.delete_vpc(VpcId=vid)
    assert error(demo.ec2.describe_vpcs, VpcIds=[vid]) == ("InvalidVpcID.NotFound", 400)
