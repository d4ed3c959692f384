"""Network interfaces through boto3: ports of the Network API under ``eni-`` IDs.
Create (addresses, groups, description, tags) with the ``network_interface_available``
waiter, describe with filters and pages, attach to an instance and detach (never
the primary one), private addresses assigned and unassigned, attributes, delete,
and every error code; the default subnet's ports seen by both APIs."""

from __future__ import annotations

import ipaddress
import re

import pytest

from tests.conftest import unique
from tests.support.compute_api import delete_all, wait_for
from tests.support.ec2 import error

pytestmark = pytest.mark.usefixtures("no_server_errors")
ENI = re.compile(r"eni-[0-9a-f]{17}")
ATTACH = re.compile(r"eni-attach-[0-9a-f]{17}")
PREFIX = unique("ec2-eni")


@pytest.fixture(scope="module")
def subnet(demo) -> dict:
    (found,) = demo.ec2.describe_subnets(Filters=[
        {"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    return found


@pytest.fixture(scope="module")
def server_pair(demo, image):
    """An ACTIVE server of the demo project: (uuid, EC2 id)."""
    made = demo.compute.ok("POST", "/servers", {"server": {
        "name": PREFIX, "imageRef": image, "flavorRef": "1"}}, status=202)["server"]
    wait_for(demo.compute, made["id"], "ACTIVE")
    found = demo.ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [PREFIX]}])
    (inst,) = [i for r in found["Reservations"] for i in r["Instances"]]
    yield made["id"], inst["InstanceId"]
    delete_all(demo.compute, [made["id"]])


def free_address(subnet: dict, offset: int) -> str:
    net = ipaddress.ip_network(subnet["CidrBlock"])
    return str(net.network_address + net.num_addresses - 2 - offset)


def test_lifecycle_with_the_waiter(demo, subnet):
    ec2 = demo.ec2
    made = ec2.create_network_interface(
        SubnetId=subnet["SubnetId"], Description="web",
        TagSpecifications=[{"ResourceType": "network-interface",
                            "Tags": [{"Key": "role", "Value": "web"}]}])["NetworkInterface"]
    eni = made["NetworkInterfaceId"]
    try:
        assert ENI.fullmatch(eni)
        assert made["Status"] == "available" and made["Description"] == "web"
        assert made["SubnetId"] == subnet["SubnetId"] and made["VpcId"] == subnet["VpcId"]
        assert made["OwnerId"] == subnet["OwnerId"]
        assert made["MacAddress"].startswith("fa:16:3e:")
        (address,) = made["PrivateIpAddresses"]
        assert address["Primary"] and address["PrivateIpAddress"] == made["PrivateIpAddress"]
        assert ipaddress.ip_address(made["PrivateIpAddress"]) in ipaddress.ip_network(
            subnet["CidrBlock"])
        assert [g["GroupName"] for g in made["Groups"]] == ["default"]
        assert "Attachment" not in made
        ec2.get_waiter("network_interface_available").wait(
            NetworkInterfaceIds=[eni], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
        (shown,) = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])[
            "NetworkInterfaces"]
        assert shown["TagSet"] == [{"Key": "role", "Value": "web"}]
        for name, value in (("network-interface-id", eni), ("subnet-id", subnet["SubnetId"]),
                            ("vpc-id", subnet["VpcId"]), ("status", "available"),
                            ("description", "web"), ("owner-id", subnet["OwnerId"]),
                            ("private-ip-address", made["PrivateIpAddress"]),
                            ("addresses.private-ip-address", made["PrivateIpAddress"]),
                            ("tag:role", "web")):
            found = ec2.describe_network_interfaces(Filters=[{"Name": name,
                                                              "Values": [value]}])
            assert eni in [n["NetworkInterfaceId"] for n in found["NetworkInterfaces"]], name
        none = ec2.describe_network_interfaces(Filters=[{"Name": "status",
                                                         "Values": ["in-use"]}])
        assert eni not in [n["NetworkInterfaceId"] for n in none["NetworkInterfaces"]]
    finally:
        ec2.delete_network_interface(NetworkInterfaceId=eni)
    assert error(ec2.describe_network_interfaces, NetworkInterfaceIds=[eni]) == (
        "InvalidNetworkInterfaceID.NotFound", 400)
    assert error(ec2.delete_network_interface, NetworkInterfaceId=eni) == (
        "InvalidNetworkInterfaceID.NotFound", 400)


def test_addresses_given_counted_assigned_and_unassigned(demo, subnet):
    ec2 = demo.ec2
    first, second = free_address(subnet, 0), free_address(subnet, 1)
    made = ec2.create_network_interface(SubnetId=subnet["SubnetId"], PrivateIpAddress=first,
                                        SecondaryPrivateIpAddressCount=1)["NetworkInterface"]
    eni = made["NetworkInterfaceId"]
    try:
        addresses = [a["PrivateIpAddress"] for a in made["PrivateIpAddresses"]]
        assert first in addresses and len(addresses) == 2
        assert error(ec2.create_network_interface, SubnetId=subnet["SubnetId"],
                     PrivateIpAddress=first) == ("InvalidIPAddress.InUse", 400)
        assert error(ec2.create_network_interface, SubnetId=subnet["SubnetId"],
                     PrivateIpAddress="192.0.2.77") == ("InvalidParameterValue", 400)
        assigned = ec2.assign_private_ip_addresses(NetworkInterfaceId=eni,
                                                   PrivateIpAddresses=[second])
        assert assigned["AssignedPrivateIpAddresses"] == [{"PrivateIpAddress": second}]
        counted = ec2.assign_private_ip_addresses(NetworkInterfaceId=eni,
                                                  SecondaryPrivateIpAddressCount=2)
        assert len(counted["AssignedPrivateIpAddresses"]) == 2
        (shown,) = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])[
            "NetworkInterfaces"]
        held = [a["PrivateIpAddress"] for a in shown["PrivateIpAddresses"]]
        assert len(held) == 5 and second in held
        ec2.unassign_private_ip_addresses(NetworkInterfaceId=eni, PrivateIpAddresses=[second])
        (shown,) = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])[
            "NetworkInterfaces"]
        assert second not in [a["PrivateIpAddress"] for a in shown["PrivateIpAddresses"]]
        primary = shown["PrivateIpAddress"]
        assert error(ec2.unassign_private_ip_addresses, NetworkInterfaceId=eni,
                     PrivateIpAddresses=[primary]) == ("InvalidParameterValue", 400)
        assert error(ec2.unassign_private_ip_addresses, NetworkInterfaceId=eni,
                     PrivateIpAddresses=["192.0.2.9"]) == ("InvalidParameterValue", 400)
    finally:
        ec2.delete_network_interface(NetworkInterfaceId=eni)


def test_attributes(demo, subnet):
    ec2 = demo.ec2
    eni = ec2.create_network_interface(SubnetId=subnet["SubnetId"])["NetworkInterface"][
        "NetworkInterfaceId"]
    group = ec2.create_security_group(GroupName=unique("eni-sg"), Description="eni")["GroupId"]
    try:
        def attribute(name: str) -> dict:
            return ec2.describe_network_interface_attribute(NetworkInterfaceId=eni,
                                                            Attribute=name)
        assert attribute("sourceDestCheck")["SourceDestCheck"] == {"Value": True}
        ec2.modify_network_interface_attribute(NetworkInterfaceId=eni,
                                               SourceDestCheck={"Value": False})
        assert attribute("sourceDestCheck")["SourceDestCheck"] == {"Value": False}
        ec2.modify_network_interface_attribute(NetworkInterfaceId=eni,
                                               Description={"Value": "db"})
        assert attribute("description")["Description"] == {"Value": "db"}
        ec2.modify_network_interface_attribute(NetworkInterfaceId=eni, Groups=[group])
        assert [g["GroupId"] for g in attribute("groupSet")["Groups"]] == [group]
        found = ec2.describe_network_interfaces(Filters=[{"Name": "group-id",
                                                          "Values": [group]}])
        assert [n["NetworkInterfaceId"] for n in found["NetworkInterfaces"]] == [eni]
        assert error(ec2.modify_network_interface_attribute, NetworkInterfaceId=eni,
                     Groups=["sg-0123456789abcdef0"]) == ("InvalidGroup.NotFound", 400)
    finally:
        ec2.delete_network_interface(NetworkInterfaceId=eni)
        ec2.delete_security_group(GroupId=group)


def test_attach_and_detach(demo, subnet, server_pair):
    ec2 = demo.ec2
    _uuid, iid = server_pair
    eni = ec2.create_network_interface(SubnetId=subnet["SubnetId"])["NetworkInterface"][
        "NetworkInterfaceId"]
    try:
        attachment = ec2.attach_network_interface(NetworkInterfaceId=eni, InstanceId=iid,
                                                  DeviceIndex=1)["AttachmentId"]
        assert ATTACH.fullmatch(attachment)
        (shown,) = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])[
            "NetworkInterfaces"]
        assert shown["Status"] == "in-use"
        assert shown["Attachment"]["AttachmentId"] == attachment
        assert shown["Attachment"]["InstanceId"] == iid
        assert shown["Attachment"]["DeviceIndex"] == 1
        assert shown["Attachment"]["Status"] == "attached"
        for name, value in (("attachment.instance-id", iid),
                            ("attachment.attachment-id", attachment), ("status", "in-use")):
            found = ec2.describe_network_interfaces(Filters=[{"Name": name,
                                                              "Values": [value]}])
            assert eni in [n["NetworkInterfaceId"] for n in found["NetworkInterfaces"]]
        inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        by_index = {n["Attachment"]["DeviceIndex"]: n for n in inst["NetworkInterfaces"]}
        assert sorted(by_index) == [0, 1] and by_index[1]["NetworkInterfaceId"] == eni
        primary = by_index[0]
        assert inst["PrivateIpAddress"] == primary["PrivateIpAddress"]
        assert (inst["SubnetId"], inst["VpcId"]) == (subnet["SubnetId"], subnet["VpcId"])
        for name, value in (("network-interface.network-interface-id", eni),
                            ("network-interface.subnet-id", subnet["SubnetId"]),
                            ("subnet-id", subnet["SubnetId"]), ("vpc-id", subnet["VpcId"])):
            hits = ec2.describe_instances(Filters=[{"Name": name, "Values": [value]}])
            assert iid in [i["InstanceId"] for r in hits["Reservations"]
                           for i in r["Instances"]], name
        # in use: neither attached again nor deleted
        assert error(ec2.attach_network_interface, NetworkInterfaceId=eni, InstanceId=iid,
                     DeviceIndex=2) == ("InvalidNetworkInterface.InUse", 400)
        assert error(ec2.delete_network_interface, NetworkInterfaceId=eni) == (
            "InvalidNetworkInterface.InUse", 400)
        # the primary interface stays
        primary_attachment = primary["Attachment"]["AttachmentId"]
        assert error(ec2.detach_network_interface, AttachmentId=primary_attachment) == (
            "OperationNotPermitted", 400)
        other = ec2.create_network_interface(SubnetId=subnet["SubnetId"])[
            "NetworkInterface"]["NetworkInterfaceId"]
        try:
            assert error(ec2.attach_network_interface, NetworkInterfaceId=other,
                         InstanceId=iid, DeviceIndex=1) == ("InvalidParameterValue", 400)
        finally:
            ec2.delete_network_interface(NetworkInterfaceId=other)
        ec2.detach_network_interface(AttachmentId=attachment)
        ec2.get_waiter("network_interface_available").wait(
            NetworkInterfaceIds=[eni], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
        assert error(ec2.detach_network_interface, AttachmentId=attachment) == (
            "InvalidAttachmentID.NotFound", 400)
        inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        assert [n["NetworkInterfaceId"] for n in inst["NetworkInterfaces"]] == [
            primary["NetworkInterfaceId"]]
    finally:
        ec2.delete_network_interface(NetworkInterfaceId=eni)


def test_errors(demo, other, subnet, server_pair):
    ec2 = demo.ec2
    missing = "eni-0123456789abcdef0"
    assert error(ec2.describe_network_interfaces, NetworkInterfaceIds=[missing]) == (
        "InvalidNetworkInterfaceID.NotFound", 400)
    assert error(ec2.describe_network_interfaces, NetworkInterfaceIds=["eni-x"]) == (
        "InvalidNetworkInterfaceID.Malformed", 400)
    assert error(ec2.create_network_interface, SubnetId="subnet-0123456789abcdef0") == (
        "InvalidSubnetID.NotFound", 400)
    assert error(ec2.attach_network_interface, NetworkInterfaceId=missing,
                 InstanceId=server_pair[1], DeviceIndex=1) == (
        "InvalidNetworkInterfaceID.NotFound", 400)
    assert error(ec2.detach_network_interface, AttachmentId="eni-attach-0123456789abcdef0"
                 ) == ("InvalidAttachmentID.NotFound", 400)
    eni = ec2.create_network_interface(SubnetId=subnet["SubnetId"])["NetworkInterface"][
        "NetworkInterfaceId"]
    try:
        assert error(ec2.attach_network_interface, NetworkInterfaceId=eni,
                     InstanceId="i-0123456789abcdef0", DeviceIndex=1) == (
            "InvalidInstanceID.NotFound", 400)
        # another project sees none of it
        assert error(other.ec2.describe_network_interfaces, NetworkInterfaceIds=[eni]) == (
            "InvalidNetworkInterfaceID.NotFound", 400)
        assert error(other.ec2.delete_network_interface, NetworkInterfaceId=eni) == (
            "InvalidNetworkInterfaceID.NotFound", 400)
        assert eni not in [n["NetworkInterfaceId"] for n in
                           other.ec2.describe_network_interfaces()["NetworkInterfaces"]]
        assert error(ec2.delete_network_interface, NetworkInterfaceId=eni,
                     DryRun=True) == ("DryRunOperation", 412)
    finally:
        ec2.delete_network_interface(NetworkInterfaceId=eni)


def test_pages(demo, subnet):
    ec2 = demo.ec2
    made = [ec2.create_network_interface(SubnetId=subnet["SubnetId"], Description=PREFIX)[
        "NetworkInterface"]["NetworkInterfaceId"] for _ in range(6)]
    try:
        pages = ec2.get_paginator("describe_network_interfaces").paginate(
            Filters=[{"Name": "description", "Values": [PREFIX]}],
            PaginationConfig={"PageSize": 5})
        seen = [n["NetworkInterfaceId"] for p in pages for n in p["NetworkInterfaces"]]
        assert sorted(seen) == sorted(made)
    finally:
        for eni in made:
            ec2.delete_network_interface(NetworkInterfaceId=eni)
