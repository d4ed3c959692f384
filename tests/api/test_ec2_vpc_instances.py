"""Instances and Elastic IPs on network interfaces, through boto3: RunInstances
with SubnetId / PrivateIpAddress and with NetworkInterfaces (a new interface and
an existing one), their errors, an Elastic IP on an interface (and Gateway.NotAttached
for a subnet with no router) — and the same ports seen by the network core the
Network API serves (a port made there is an interface here, an instance's
interface is a port with its device_id). In a project of the module's own
(``mine``): the network it makes would otherwise be where every other test's
instance in ``demo`` launches."""

from __future__ import annotations

import ipaddress

import pytest

from core.context import RequestContext
from core.idmap.ids import Kind
from core.services import build_core
from core.settings import load_settings
from tests.conftest import unique
from tests.support.core_services import RecordingBus
from tests.support.ec2 import Project, error, new_project

pytestmark = pytest.mark.usefixtures("no_server_errors")
PREFIX = unique("ec2-vpc-i")


@pytest.fixture(scope="module")
def core(server):
    """The core services over the test server's database (the Network API's)."""
    services = build_core(load_settings(server.env), bus=RecordingBus(), prepare_keys=False)
    yield services
    services.db.dispose()


@pytest.fixture(scope="module")
def mine(server, admin_session, endpoint) -> Project:
    """The module's own project, with an EC2 credential of its own."""
    return new_project(server, admin_session, endpoint, "ec2-vpc-i")


@pytest.fixture(scope="module")
def member(mine) -> RequestContext:
    return RequestContext(user_id="u-test", project_id=mine.id, roles=("member", "reader"))


@pytest.fixture(scope="module")
def subnet(mine) -> dict:
    """The default subnet (the bootstrap's shared network)."""
    (found,) = mine.ec2.describe_subnets(Filters=[{"Name": "default-for-az",
                                                   "Values": ["true"]}])["Subnets"]
    return found


@pytest.fixture(scope="module")
def ami(mine) -> str:
    (found,) = mine.ec2.describe_images(Filters=[{"Name": "name",
                                                  "Values": ["nimbus-tiny"]}])["Images"]
    return found["ImageId"]


def free_address(subnet: dict, offset: int) -> str:
    net = ipaddress.ip_network(subnet["CidrBlock"])
    return str(net.network_address + net.num_addresses - 12 - offset)


def launch(ec2, ami: str, **kwargs) -> str:
    made = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="m1.tiny",
                             TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                 {"Key": "Name", "Value": PREFIX}]}], **kwargs)
    return made["Instances"][0]["InstanceId"]


def running(ec2, iid: str) -> dict:
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]


def terminate(ec2, *iids: str) -> None:
    ec2.terminate_instances(InstanceIds=list(iids))
    ec2.get_waiter("instance_terminated").wait(InstanceIds=list(iids),
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def test_subnet_and_address_at_launch(mine, ami, subnet, core):
    ec2 = mine.ec2
    address = free_address(subnet, 0)
    made = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="m1.tiny",
                             SubnetId=subnet["SubnetId"], PrivateIpAddress=address)
    (pending,) = made["Instances"]
    iid = pending["InstanceId"]
    try:
        assert (pending["SubnetId"], pending["VpcId"]) == (subnet["SubnetId"],
                                                            subnet["VpcId"])
        inst = running(ec2, iid)
        assert inst["PrivateIpAddress"] == address
        assert (inst["SubnetId"], inst["VpcId"]) == (subnet["SubnetId"], subnet["VpcId"])
        (nic,) = inst["NetworkInterfaces"]
        assert nic["PrivateIpAddress"] == address and nic["SubnetId"] == subnet["SubnetId"]
        assert nic["Attachment"]["DeviceIndex"] == 0
        assert nic["Attachment"]["DeleteOnTermination"] is True
        assert nic["Status"] == "in-use" and nic["OwnerId"] == subnet["OwnerId"]
        assert [g["GroupName"] for g in nic["Groups"]] == ["default"]
        # the same port in the network core: device_id is the server
        uuid = core.ids.os_uuids_for(Kind.INSTANCE, [iid])[iid]
        port_id = core.ids.os_uuids_for(Kind.NETWORK_INTERFACE, [nic["NetworkInterfaceId"]])[
            nic["NetworkInterfaceId"]]
        admin = RequestContext(user_id="u-admin", project_id="x", roles=("admin",),
                               is_admin=True)
        port = core.network.ports.get(admin, port_id)
        assert (port["device_id"], port["device_owner"]) == (uuid, "compute:nova")
        assert [f["ip_address"] for f in port["fixed_ips"]] == [address]
        # taken now
        assert error(ec2.run_instances, ImageId=ami, MinCount=1, MaxCount=1,
                     SubnetId=subnet["SubnetId"], PrivateIpAddress=address) == (
            "InvalidIPAddress.InUse", 400)
    finally:
        terminate(ec2, iid)
    # the port compute made went with the server
    left = ec2.describe_network_interfaces(Filters=[{"Name": "private-ip-address",
                                                     "Values": [address]}])
    assert left["NetworkInterfaces"] == []


def test_network_interfaces_at_launch(mine, ami, subnet):
    ec2 = mine.ec2
    given = ec2.create_network_interface(SubnetId=subnet["SubnetId"], Description=PREFIX)[
        "NetworkInterface"]["NetworkInterfaceId"]
    group = ec2.create_security_group(GroupName=unique("vpc-i-sg"), Description="x")[
        "GroupId"]
    iid = launch(ec2, ami, NetworkInterfaces=[
        {"DeviceIndex": 1, "NetworkInterfaceId": given},
        {"DeviceIndex": 0, "SubnetId": subnet["SubnetId"], "Groups": [group]}])
    try:
        inst = running(ec2, iid)
        by_index = {n["Attachment"]["DeviceIndex"]: n for n in inst["NetworkInterfaces"]}
        assert sorted(by_index) == [0, 1]
        assert by_index[1]["NetworkInterfaceId"] == given
        assert by_index[1]["Attachment"]["DeleteOnTermination"] is False
        assert [g["GroupId"] for g in by_index[0]["Groups"]] == [group]
        assert inst["PrivateIpAddress"] == by_index[0]["PrivateIpAddress"]
        (shown,) = ec2.describe_network_interfaces(NetworkInterfaceIds=[given])[
            "NetworkInterfaces"]
        assert shown["Status"] == "in-use" and shown["Attachment"]["InstanceId"] == iid
        assert error(ec2.run_instances, ImageId=ami, MinCount=1, MaxCount=1,
                     NetworkInterfaces=[{"DeviceIndex": 0, "NetworkInterfaceId": given}]) == (
            "InvalidNetworkInterface.InUse", 400)
        hits = ec2.describe_instances(Filters=[{"Name": "network-interface.network-interface-id",
                                                "Values": [given]}])
        assert [i["InstanceId"] for r in hits["Reservations"] for i in r["Instances"]] == [iid]
    finally:
        terminate(ec2, iid)
    # the interface it was given stays, detached
    (shown,) = ec2.describe_network_interfaces(NetworkInterfaceIds=[given])[
        "NetworkInterfaces"]
    assert shown["Status"] == "available" and "Attachment" not in shown
    ec2.delete_network_interface(NetworkInterfaceId=given)
    ec2.delete_security_group(GroupId=group)  # free: the server's ports are gone


def test_launch_errors(mine, ami, subnet):
    ec2 = mine.ec2

    def code(**kwargs) -> tuple[str, int]:
        return error(ec2.run_instances, ImageId=ami, MinCount=1, MaxCount=1, **kwargs)

    assert code(SubnetId="subnet-0123456789abcdef0") == ("InvalidSubnetID.NotFound", 400)
    assert code(SubnetId="subnet-zz") == ("InvalidSubnetID.Malformed", 400)
    assert code(SubnetId=subnet["SubnetId"], PrivateIpAddress="192.0.2.10") == (
        "InvalidParameterValue", 400)
    assert code(NetworkInterfaces=[{"DeviceIndex": 0,
                                    "NetworkInterfaceId": "eni-0123456789abcdef0"}]) == (
        "InvalidNetworkInterfaceID.NotFound", 400)
    assert code(SubnetId=subnet["SubnetId"], NetworkInterfaces=[
        {"DeviceIndex": 0, "SubnetId": subnet["SubnetId"]}]) == (
        "InvalidParameterCombination", 400)
    assert code(NetworkInterfaces=[{"DeviceIndex": 1, "SubnetId": subnet["SubnetId"]}]) == (
        "InvalidParameterValue", 400)
    # nothing was launched by any of them
    left = ec2.describe_instances(Filters=[{"Name": "instance-state-name",
                                            "Values": ["pending"]}])
    assert all(i.get("PrivateIpAddress") != "192.0.2.10" for r in left["Reservations"]
               for i in r["Instances"])


def test_elastic_ip_on_an_interface(mine, subnet):
    ec2 = mine.ec2
    eni = ec2.create_network_interface(SubnetId=subnet["SubnetId"])["NetworkInterface"]
    eni_id, private = eni["NetworkInterfaceId"], eni["PrivateIpAddress"]
    made = ec2.allocate_address(Domain="vpc")
    try:
        assoc = ec2.associate_address(AllocationId=made["AllocationId"],
                                      NetworkInterfaceId=eni_id)["AssociationId"]
        (shown,) = ec2.describe_addresses(AllocationIds=[made["AllocationId"]])["Addresses"]
        assert shown["Domain"] == "vpc" and shown["AssociationId"] == assoc
        assert shown["NetworkInterfaceId"] == eni_id
        assert shown["NetworkInterfaceOwnerId"] == subnet["OwnerId"]
        assert shown["PrivateIpAddress"] == private
        assert shown["SubnetId"] == subnet["SubnetId"] and "InstanceId" not in shown
        found = ec2.describe_addresses(Filters=[{"Name": "network-interface-id",
                                                 "Values": [eni_id]}])["Addresses"]
        assert [a["AllocationId"] for a in found] == [made["AllocationId"]]
        (nic,) = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni_id])[
            "NetworkInterfaces"]
        assert nic["Association"]["PublicIp"] == made["PublicIp"]
        assert nic["Association"]["AllocationId"] == made["AllocationId"]
        assert nic["Association"]["AssociationId"] == assoc
        assert error(ec2.associate_address, AllocationId=made["AllocationId"],
                     NetworkInterfaceId=eni_id, PrivateIpAddress="192.0.2.1") == (
            "InvalidParameterValue", 400)
        assert error(ec2.associate_address, AllocationId=made["AllocationId"],
                     NetworkInterfaceId="eni-0123456789abcdef0") == (
            "InvalidNetworkInterfaceID.NotFound", 400)
        ec2.disassociate_address(AssociationId=assoc)
        (nic,) = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni_id])[
            "NetworkInterfaces"]
        assert "Association" not in nic
    finally:
        ec2.release_address(AllocationId=made["AllocationId"])
        ec2.delete_network_interface(NetworkInterfaceId=eni_id)


def test_ports_of_the_network_api_are_interfaces(mine, core, member):
    """A network and port made in the network core (what ``openstack network
    create`` / ``port create`` do) are a subnet and an interface in EC2, with
    the same addresses; with no router to the outside, an Elastic IP cannot
    go on it (Gateway.NotAttached)."""
    ec2 = mine.ec2
    net = core.network.networks.create(member, {"name": unique("vpc-net")})
    core.network.subnets.create(member, {"network_id": net["id"], "cidr": "10.77.0.0/24",
                                         "ip_version": 4})
    port = core.network.ports.create(member, {"network_id": net["id"], "name": "p1"})
    made = mine.ec2.allocate_address(Domain="vpc")
    try:
        eni = core.ids.existing(Kind.NETWORK_INTERFACE, [port["id"]])[port["id"]]
        (shown,) = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])[
            "NetworkInterfaces"]
        assert [a["PrivateIpAddress"] for a in shown["PrivateIpAddresses"]] == [
            f["ip_address"] for f in port["fixed_ips"]]
        assert shown["MacAddress"] == port["mac_address"] and "VpcId" not in shown
        subnet_id = shown["SubnetId"]
        assert subnet_id.startswith("subnet-")
        # an interface made through EC2 on that subnet is a port of the network
        other = ec2.create_network_interface(SubnetId=subnet_id, Description="via ec2")[
            "NetworkInterface"]
        ports = core.network.ports.list(member)
        assert "via ec2" in [p["description"] for p in ports if p["network_id"] == net["id"]]
        assert error(ec2.associate_address, AllocationId=made["AllocationId"],
                     NetworkInterfaceId=eni) == ("Gateway.NotAttached", 400)
        ec2.delete_network_interface(NetworkInterfaceId=other["NetworkInterfaceId"])
    finally:
        ec2.release_address(AllocationId=made["AllocationId"])
        core.network.ports.delete(member, port["id"])
        core.network.networks.delete(member, net["id"])
