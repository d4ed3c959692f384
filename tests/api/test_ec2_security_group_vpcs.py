"""Security groups in VPCs through boto3, in projects of this module's own: each
VPC made by CreateVpc has a default group (shown as ``default``; its Neutron
name is the VPC's ID), CreateSecurityGroup with a VpcId puts a group in that
VPC, Describe and its filters show the right VpcId, DeleteVpc takes the
default group along and refuses while other groups are in the VPC, and
launches and interfaces refuse groups of another VPC than their subnet's —
with every error code (InvalidVpcID.NotFound / .Malformed,
InvalidGroup.Duplicate, CannotDelete, DependencyViolation, InvalidParameter)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import new_project
from tests.conftest import unique
from tests.support.ec2 import error

pytestmark = pytest.mark.usefixtures("no_server_errors")
PREFIX = unique("sgvpc")


def failure(call, **kwargs) -> tuple[str, str]:
    """The code and message of a call that must fail."""
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def groups(ec2, **filters: str) -> list[dict]:
    return ec2.describe_security_groups(Filters=[
        {"Name": k.replace("_", "-"), "Values": [v]} for k, v in filters.items()])[
        "SecurityGroups"]


@pytest.fixture(scope="module")
def mine(other):
    return other


@pytest.fixture(scope="module")
def stranger(server, admin_session, identity_url, endpoint):
    """A third project: its VPCs are not the first one's."""
    return new_project(server, admin_session, identity_url, endpoint, "sgvpc-stranger")


@pytest.fixture(scope="module")
def default_vpc(mine) -> str:
    (vpc,) = mine.ec2.describe_vpcs(Filters=[{"Name": "is-default",
                                               "Values": ["true"]}])["Vpcs"]
    return vpc["VpcId"]


@pytest.fixture(scope="module")
def vpc(mine):
    """A VPC of the module's project with a subnet."""
    ec2 = mine.ec2
    made = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=made, CidrBlock="10.77.1.0/24")["Subnet"]["SubnetId"]
    yield made, subnet
    for n in ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id",
                                                       "Values": [subnet]}])[
            "NetworkInterfaces"]:
        ec2.delete_network_interface(NetworkInterfaceId=n["NetworkInterfaceId"])
    ec2.delete_subnet(SubnetId=subnet)
    for g in groups(ec2, vpc_id=made):
        if g["GroupName"] != "default":
            ec2.delete_security_group(GroupId=g["GroupId"])
    ec2.delete_vpc(VpcId=made)


def test_each_vpc_has_a_default_group(server, mine, vpc, default_vpc):
    ec2 = mine.ec2
    vid, _ = vpc
    (group,) = groups(ec2, vpc_id=vid)
    assert (group["GroupName"], group["VpcId"], group["OwnerId"]) == ("default", vid,
                                                                      mine.account)
    assert groups(ec2, vpc_id=vid, group_name="default") == [group]
    # AWS's default rules: everything from the group's members, everything out
    (ingress,) = group["IpPermissions"]
    assert ingress["IpProtocol"] == "-1"
    assert [p["GroupId"] for p in ingress["UserIdGroupPairs"]] == [group["GroupId"]]
    assert any(r["CidrIp"] == "0.0.0.0/0" for p in group["IpPermissionsEgress"]
               for r in p["IpRanges"])
    # two groups named "default" to EC2, one per VPC
    found = {g["VpcId"]: g["GroupId"] for g in groups(ec2, group_name="default")}
    assert set(found) == {default_vpc, vid}
    # by name, "default" is the default VPC's, as in AWS
    (named,) = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"]
    assert named["GroupId"] == found[default_vpc] and named["VpcId"] == default_vpc
    # the Network API's name of it is the VPC's ID ("default" is the project's group)
    listed = mine.session.get(f"{server.url}/networking/v2.0/security-groups",
                              params={"name": vid}).json()["security_groups"]
    assert len(listed) == 1
    # ... and it cannot delete it either
    r = mine.session.delete(f"{server.url}/networking/v2.0/security-groups/"
                            f"{listed[0]['id']}", raise_exc=False)
    assert r.status_code == 409
    assert error(ec2.delete_security_group, GroupId=group["GroupId"]) == ("CannotDelete", 400)


def test_create_group_in_a_vpc(mine, stranger, vpc, default_vpc):
    ec2 = mine.ec2
    vid, _ = vpc
    name = f"{PREFIX}-web"
    made = ec2.create_security_group(GroupName=name, Description="web", VpcId=vid)["GroupId"]
    try:
        (shown,) = ec2.describe_security_groups(GroupIds=[made])["SecurityGroups"]
        assert (shown["GroupName"], shown["VpcId"]) == (name, vid)
        assert {g["GroupId"] for g in groups(ec2, vpc_id=vid)} == {
            made, groups(ec2, vpc_id=vid, group_name="default")[0]["GroupId"]}
        assert made not in {g["GroupId"] for g in groups(ec2, vpc_id=default_vpc)}
        assert [g["GroupId"] for g in groups(ec2, vpc_id=vid, group_name=name)] == [made]
        # a rule naming it: the referenced group's VPC
        plain = ec2.create_security_group(GroupName=f"{PREFIX}-plain",
                                          Description="default VPC")["GroupId"]
        try:
            added = ec2.authorize_security_group_ingress(GroupId=plain, IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                 "UserIdGroupPairs": [{"GroupId": made}]}])["SecurityGroupRules"]
            assert added[0]["ReferencedGroupInfo"]["VpcId"] == vid
            rules = ec2.describe_security_group_rules(Filters=[
                {"Name": "group-id", "Values": [plain]}])["SecurityGroupRules"]
            (ref,) = [r for r in rules if r.get("ReferencedGroupInfo")]
            assert ref["ReferencedGroupInfo"] == {"GroupId": made, "UserId": mine.account,
                                                  "VpcId": vid}
            (plain_view,) = ec2.describe_security_groups(GroupIds=[plain])["SecurityGroups"]
            assert plain_view["VpcId"] == default_vpc
            # names are unique across a project's VPCs here (Neutron's rule)
            code, message = failure(ec2.create_security_group, GroupName=f"{PREFIX}-plain",
                                    Description="again", VpcId=vid)
            assert code == "InvalidGroup.Duplicate" and "unique across VPCs" in message
            assert error(ec2.create_security_group, GroupName=name, Description="again",
                         VpcId=vid) == ("InvalidGroup.Duplicate", 400)
            assert error(ec2.create_security_group, GroupName=name,
                         Description="again") == ("InvalidGroup.Duplicate", 400)
        finally:
            ec2.revoke_security_group_ingress(GroupId=plain, IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                 "UserIdGroupPairs": [{"GroupId": made}]}])
            ec2.delete_security_group(GroupId=plain)
        # the default VPC named explicitly: a plain group
        explicit = ec2.create_security_group(GroupName=f"{PREFIX}-explicit",
                                             Description="x", VpcId=default_vpc)["GroupId"]
        assert ec2.describe_security_groups(GroupIds=[explicit])["SecurityGroups"][0][
            "VpcId"] == default_vpc
        ec2.delete_security_group(GroupId=explicit)
    finally:
        ec2.delete_security_group(GroupId=made)
    assert error(ec2.describe_security_groups, GroupIds=[made]) == (
        "InvalidGroup.NotFound", 400)


def test_vpc_errors(mine, stranger):
    ec2 = mine.ec2
    theirs = stranger.ec2.create_vpc(CidrBlock="10.78.0.0/16")["Vpc"]["VpcId"]
    try:
        for vpc_id in (theirs, "vpc-0123456789abcdef0"):
            assert error(ec2.create_security_group, GroupName=f"{PREFIX}-x",
                         Description="x", VpcId=vpc_id) == ("InvalidVpcID.NotFound", 400)
        assert error(ec2.create_security_group, GroupName=f"{PREFIX}-x", Description="x",
                     VpcId="vpc-zz") == ("InvalidVpcID.Malformed", 400)
        assert groups(ec2, group_name=f"{PREFIX}-x") == []
        # the stranger's default groups are theirs alone
        assert groups(ec2, vpc_id=theirs) == []
        assert len(groups(stranger.ec2, vpc_id=theirs)) == 1
    finally:
        stranger.ec2.delete_vpc(VpcId=theirs)


def test_delete_vpc_with_groups(mine):
    ec2 = mine.ec2
    vid = ec2.create_vpc(CidrBlock="10.79.0.0/16")["Vpc"]["VpcId"]
    (default,) = groups(ec2, vpc_id=vid)
    extra = ec2.create_security_group(GroupName=f"{PREFIX}-dep", Description="x",
                                      VpcId=vid)["GroupId"]
    code, message = failure(ec2.delete_vpc, VpcId=vid)
    assert code == "DependencyViolation" and "security groups" in message
    assert error(ec2.delete_security_group, GroupId=default["GroupId"]) == (
        "CannotDelete", 400)
    ec2.delete_security_group(GroupId=extra)
    ec2.delete_vpc(VpcId=vid)
    assert error(ec2.describe_vpcs, VpcIds=[vid]) == ("InvalidVpcID.NotFound", 400)
    # its default group went with it
    assert error(ec2.describe_security_groups, GroupIds=[default["GroupId"]]) == (
        "InvalidGroup.NotFound", 400)
    assert groups(ec2, vpc_id=vid) == []


def test_interfaces_take_groups_of_their_vpc(mine, vpc, default_vpc):
    ec2 = mine.ec2
    vid, subnet = vpc
    (own_default,) = groups(ec2, vpc_id=vid)
    outside = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]
    inside = ec2.create_security_group(GroupName=f"{PREFIX}-eni", Description="x",
                                       VpcId=vid)["GroupId"]
    code, message = failure(ec2.create_network_interface, SubnetId=subnet,
                            Groups=[outside["GroupId"]])
    assert code == "InvalidParameter"
    assert message == (f"Security group {outside['GroupId']} and subnet {subnet} belong to "
                       "different networks.")
    # none named: the VPC's default group
    eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]
    assert eni["Groups"] == [{"GroupId": own_default["GroupId"], "GroupName": "default"}]
    assert eni["VpcId"] == vid
    named = ec2.create_network_interface(SubnetId=subnet, Groups=[inside])[
        "NetworkInterface"]
    assert [g["GroupId"] for g in named["Groups"]] == [inside]
    assert error(ec2.modify_network_interface_attribute,
                 NetworkInterfaceId=named["NetworkInterfaceId"],
                 Groups=[outside["GroupId"]]) == ("InvalidParameter", 400)
    ec2.modify_network_interface_attribute(NetworkInterfaceId=named["NetworkInterfaceId"],
                                           Groups=[own_default["GroupId"]])
    for made in (eni, named):
        ec2.delete_network_interface(NetworkInterfaceId=made["NetworkInterfaceId"])
    # a group of the default VPC on the default subnet is fine, one of the VPC is not
    (default_subnet,) = ec2.describe_subnets(Filters=[{"Name": "vpc-id",
                                                       "Values": [default_vpc]}])["Subnets"]
    assert error(ec2.create_network_interface, SubnetId=default_subnet["SubnetId"],
                 Groups=[inside]) == ("InvalidParameter", 400)
    ec2.delete_security_group(GroupId=inside)


def test_launches_take_groups_of_their_vpc(mine, vpc):
    ec2 = mine.ec2
    vid, subnet = vpc
    (own_default,) = groups(ec2, vpc_id=vid)
    outside = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]
    (ami,) = ec2.describe_images(Filters=[{"Name": "name", "Values": ["nimbus-tiny"]}])[
        "Images"]

    def launch(**kwargs) -> tuple[str, int]:
        return error(ec2.run_instances, ImageId=ami["ImageId"], MinCount=1, MaxCount=1,
                     InstanceType="m1.tiny", **kwargs)

    assert launch(SubnetId=subnet, SecurityGroupIds=[outside["GroupId"]]) == (
        "InvalidParameter", 400)
    assert launch(SubnetId=subnet, SecurityGroups=["default"]) == ("InvalidParameter", 400)
    assert launch(SecurityGroupIds=[own_default["GroupId"]]) == ("InvalidParameter", 400)
    assert launch(NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet,
                                      "Groups": [outside["GroupId"]]}]) == (
        "InvalidParameter", 400)
    # none named: the instance gets its VPC's default group
    made = ec2.run_instances(ImageId=ami["ImageId"], MinCount=1, MaxCount=1,
                             InstanceType="m1.tiny", SubnetId=subnet)["Instances"][0]
    iid = made["InstanceId"]
    try:
        assert made["VpcId"] == vid
        assert made["SecurityGroups"] == [{"GroupName": "default",
                                           "GroupId": own_default["GroupId"]}]
        ec2.get_waiter("instance_running").wait(
            InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        (nic,) = inst["NetworkInterfaces"]
        assert nic["Groups"] == [{"GroupId": own_default["GroupId"], "GroupName": "default"}]
        # in use: DeleteVpc still refuses (its subnet first)
        assert error(ec2.delete_vpc, VpcId=vid) == ("DependencyViolation", 400)
    finally:
        ec2.terminate_instances(InstanceIds=[iid])
        ec2.get_waiter("instance_terminated").wait(
            InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
