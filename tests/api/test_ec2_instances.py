"""Read-only instance views through boto3: servers booted through the
OpenStack compute API, seen by DescribeInstances (ids, filters, paging, the
``instance_running`` / ``instance_stopped`` waiters, errors, another
project's instance), and the project's network as its default VPC and
subnet (DescribeVpcs / DescribeSubnets)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from tests.conftest import unique
from tests.support.compute_api import Api, delete_all, wait_for
from tests.support.ec2 import FAST, Project, error, ids_of, instances

INSTANCE = re.compile(r"i-[0-9a-f]{17}")
RESERVATION = re.compile(r"r-[0-9a-f]{17}")
AMI = re.compile(r"ami-[0-9a-f]{17}")
PREFIX = unique("ec2-inst")


@dataclass
class Booted:
    """Two servers of one reservation and one of another, all ACTIVE."""

    pair: list[str]  # server uuids, launch order
    single: str
    key_name: str
    image_ami: str
    ids: dict[str, str]  # EC2 instance id by server uuid


def boot(project: Project, image: str, name: str, count: int = 1, wait: bool = True,
         **extra) -> list[str]:
    full = f"{PREFIX}-{name}"
    project.compute.ok("POST", "/servers", {"server": {
        "name": full, "imageRef": image, "flavorRef": "1",
        "min_count": count, "max_count": count, **extra}}, status=202)
    names = [full] if count == 1 else [f"{full}-{i}" for i in range(1, count + 1)]
    listed = {s["name"]: s["id"] for s in
              project.compute.ok("GET", f"/servers?name=^{full}")["servers"]}
    ids = [listed[n] for n in names]
    if wait:
        for sid in ids:
            wait_for(project.compute, sid, "ACTIVE")
    return ids


@pytest.fixture(scope="module")
def booted(demo, other, image) -> Booted:
    key_name = unique("inst-key")
    demo.compute.ok("POST", "/os-keypairs", {"keypair": {"name": key_name}})
    pair = boot(demo, image, "pair", count=2, key_name=key_name,
                metadata={"role": "web", "tier": "front"})
    single = boot(demo, image, "single")[0]
    ami = demo.ec2.describe_images(Filters=[{"Name": "name", "Values": ["nimbus-tiny"]}]
                                   )["Images"][0]["ImageId"]
    found = demo.ec2.describe_instances(
        Filters=[{"Name": "tag:Name", "Values": [f"{PREFIX}-*"]}])
    by_name = {_tags(i)["Name"]: i["InstanceId"]
               for r in found["Reservations"] for i in r["Instances"]}
    names = {pair[0]: f"{PREFIX}-pair-1", pair[1]: f"{PREFIX}-pair-2",
             single: f"{PREFIX}-single"}
    yield Booted(pair, single, key_name, ami, {u: by_name[n] for u, n in names.items()})
    for project in (demo, other):
        listed = project.compute.ok("GET", f"/servers?name=^{PREFIX}")["servers"]
        delete_all(project.compute, [s["id"] for s in listed])
    demo.compute("DELETE", f"/os-keypairs/{key_name}")


def _tags(instance: dict) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in instance.get("Tags", [])}


# ---- DescribeInstances ---------------------------------------------------

def test_describe_by_id_shows_the_server(demo, booted):
    first, second = (booted.ids[u] for u in booted.pair)
    answer = demo.ec2.describe_instances(InstanceIds=[second, first])
    (reservation,) = answer["Reservations"]
    assert RESERVATION.fullmatch(reservation["ReservationId"])
    assert reservation["OwnerId"] == demo.account
    one, two = reservation["Instances"]
    assert [one["InstanceId"], two["InstanceId"]] == [first, second]
    assert INSTANCE.fullmatch(first)
    assert [one["AmiLaunchIndex"], two["AmiLaunchIndex"]] == [0, 1]
    assert one["State"] == {"Code": 16, "Name": "running"}
    assert one["ImageId"] == booted.image_ami and AMI.fullmatch(one["ImageId"])
    assert one["InstanceType"] == "m1.tiny"
    assert one["KeyName"] == booted.key_name
    ip = one["PrivateIpAddress"]
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", ip)
    assert one["PrivateDnsName"] == f"ip-{ip.replace('.', '-')}.RegionOne.compute.internal"
    assert one["PublicDnsName"] == ""
    assert one["Placement"]["Tenancy"] == "default" and one["Placement"]["AvailabilityZone"]
    assert one["LaunchTime"].year >= 2020
    assert one["Architecture"] == "x86_64"
    assert one["RootDeviceType"] == "instance-store"
    assert one["Hypervisor"] == "xen" and one["VirtualizationType"] == "hvm"
    assert one["Monitoring"] == {"State": "disabled"}
    assert _tags(one) == {"Name": f"{PREFIX}-pair-1", "role": "web", "tier": "front"}
    assert one["VpcId"].startswith("vpc-") and one["SubnetId"].startswith("subnet-")


def test_reservations_group_instances(demo, booted):
    found = demo.ec2.describe_instances(InstanceIds=list(booted.ids.values()))
    groups = sorted(sorted(i["InstanceId"] for i in r["Instances"])
                    for r in found["Reservations"])
    assert groups == sorted([sorted(booted.ids[u] for u in booted.pair),
                             [booted.ids[booted.single]]])


def test_ids_accept_upper_case(demo, booted):
    wanted = booted.ids[booted.single]
    (inst,) = instances(demo.ec2, InstanceIds=[wanted.upper().replace("I-", "i-")])
    assert inst["InstanceId"] == wanted


@pytest.mark.parametrize("name", [
    "instance-id", "instance-state-name", "instance-state-code", "instance-type",
    "image-id", "key-name", "availability-zone", "private-ip-address",
    "private-dns-name", "reservation-id", "tag:role", "tag-key", "tag-value"])
def test_filters(demo, booted, name):
    first = booted.ids[booted.pair[0]]
    (inst,) = instances(demo.ec2, InstanceIds=[first])
    (reservation,) = demo.ec2.describe_instances(InstanceIds=[first])["Reservations"]
    value = {"instance-id": first, "instance-state-name": "running",
             "instance-state-code": "16", "instance-type": "m1.tiny",
             "image-id": booted.image_ami, "key-name": booted.key_name,
             "availability-zone": inst["Placement"]["AvailabilityZone"],
             "private-ip-address": inst["PrivateIpAddress"],
             "private-dns-name": inst["PrivateDnsName"],
             "reservation-id": reservation["ReservationId"],
             "tag:role": "web", "tag-key": "tier", "tag-value": "front"}[name]
    mine = set(booted.ids.values())
    found = ids_of(demo.ec2, [{"Name": name, "Values": [value]}])
    assert first in found
    narrowing = {"instance-id", "key-name", "private-ip-address", "private-dns-name",
                 "reservation-id", "tag:role", "tag-key", "tag-value"}
    if name in narrowing:
        assert found & mine <= set(booted.ids[u] for u in booted.pair)
    if name in ("instance-id", "private-ip-address", "private-dns-name"):
        assert found == {first}
    nothing = ids_of(demo.ec2, [{"Name": name, "Values": ["no-such-value-*x"]}])
    assert first not in nothing


def test_filters_by_name_tag_and_wildcards(demo, booted):
    found = ids_of(demo.ec2, [{"Name": "tag:Name", "Values": [f"{PREFIX}-pair-?"]}])
    assert found == {booted.ids[u] for u in booted.pair}
    both = ids_of(demo.ec2, [{"Name": "tag:Name", "Values": [f"{PREFIX}-*"]},
                             {"Name": "instance-state-name", "Values": ["running"]}])
    assert both == set(booted.ids.values())


def test_unknown_filter_is_refused(demo, booted):
    assert error(demo.ec2.describe_instances,
                 Filters=[{"Name": "no-such-filter", "Values": ["x"]}]) == \
        ("InvalidParameterValue", 400)


def test_paginator_walks_every_instance(demo, booted):
    pages = demo.ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "tag:Name", "Values": [f"{PREFIX}-*"]}],
        PaginationConfig={"PageSize": 5})
    seen = [i["InstanceId"] for p in pages for r in p["Reservations"] for i in r["Instances"]]
    assert sorted(seen) == sorted(booted.ids.values())
    everything = [i["InstanceId"] for p in demo.ec2.get_paginator("describe_instances")
                  .paginate(PaginationConfig={"PageSize": 5})
                  for r in p["Reservations"] for i in r["Instances"]]
    assert len(everything) == len(set(everything))
    assert set(booted.ids.values()) <= set(everything)
    first = demo.ec2.describe_instances(MaxResults=5)
    if "NextToken" in first:
        rest = demo.ec2.describe_instances(MaxResults=5, NextToken=first["NextToken"])
        a = {i["InstanceId"] for r in first["Reservations"] for i in r["Instances"]}
        b = {i["InstanceId"] for r in rest["Reservations"] for i in r["Instances"]}
        assert not a & b


def test_errors(demo, booted):
    assert error(demo.ec2.describe_instances, InstanceIds=["i-00000000000000000"]) == \
        ("InvalidInstanceID.NotFound", 400)
    # all or nothing: one unknown id fails the call
    assert error(demo.ec2.describe_instances,
                 InstanceIds=[booted.ids[booted.single], "i-0123456789abcdef0"]) == \
        ("InvalidInstanceID.NotFound", 400)
    assert error(demo.ec2.describe_instances, InstanceIds=["i-nothex"]) == \
        ("InvalidInstanceID.Malformed", 400)
    assert error(demo.ec2.describe_instances, InstanceIds=["ami-0123456789abcdef0"]) == \
        ("InvalidInstanceID.Malformed", 400)
    assert error(demo.ec2.describe_instances, InstanceIds=[booted.ids[booted.single]],
                 MaxResults=5) == ("InvalidParameterCombination", 400)
    assert error(demo.ec2.describe_instances, MaxResults=4) == ("InvalidParameterValue", 400)
    assert error(demo.ec2.describe_instances, MaxResults=5, NextToken="garbage!") == \
        ("InvalidPaginationToken", 400)
    assert error(demo.ec2.describe_instances, DryRun=True) == ("DryRunOperation", 412)


def test_another_projects_instance_is_not_found(demo, other, booted):
    mine = booted.ids[booted.single]
    assert error(other.ec2.describe_instances, InstanceIds=[mine]) == \
        ("InvalidInstanceID.NotFound", 400)
    assert mine not in {i["InstanceId"] for i in instances(other.ec2)}


def test_instance_running_waiter(demo, other, image):
    (sid,) = boot(other, image, "waited", wait=False)
    found = other.ec2.describe_instances(
        Filters=[{"Name": "tag:Name", "Values": [f"{PREFIX}-waited"]}])
    (inst,) = [i for r in found["Reservations"] for i in r["Instances"]]
    assert inst["State"]["Name"] in ("pending", "running")
    other.ec2.get_waiter("instance_running").wait(InstanceIds=[inst["InstanceId"]],
                                                  WaiterConfig=FAST)
    (done,) = instances(other.ec2, InstanceIds=[inst["InstanceId"]])
    assert done["State"] == {"Code": 16, "Name": "running"}
    assert done["PrivateIpAddress"] and done["PrivateDnsName"].startswith("ip-")
    assert wait_for(other.compute, sid, "ACTIVE")["id"] == sid
    # the other project sees its own instance, demo does not
    assert error(demo.ec2.describe_instances, InstanceIds=[inst["InstanceId"]]) == \
        ("InvalidInstanceID.NotFound", 400)


def test_stopped_server_is_stopped(demo, booted):
    sid = booted.single
    wanted = booted.ids[sid]
    demo.compute.ok("POST", f"/servers/{sid}/action", {"os-stop": None})
    demo.ec2.get_waiter("instance_stopped").wait(InstanceIds=[wanted], WaiterConfig=FAST)
    (inst,) = instances(demo.ec2, InstanceIds=[wanted])
    assert inst["State"] == {"Code": 80, "Name": "stopped"}
    assert wanted in ids_of(demo.ec2, [{"Name": "instance-state-name",
                                        "Values": ["stopped"]}])
    assert wanted in ids_of(demo.ec2, [{"Name": "instance-state-code", "Values": ["80"]}])
    demo.compute.ok("POST", f"/servers/{sid}/action", {"os-start": None})
    demo.ec2.get_waiter("instance_running").wait(InstanceIds=[wanted], WaiterConfig=FAST)


# ---- DescribeVpcs / DescribeSubnets --------------------------------------

def test_default_vpc_and_subnet(demo, other):
    (vpc,) = demo.ec2.describe_vpcs()["Vpcs"]
    assert re.fullmatch(r"vpc-[0-9a-f]{17}", vpc["VpcId"])
    assert vpc["IsDefault"] is True and vpc["State"] == "available"
    assert vpc["OwnerId"] == demo.account and vpc["InstanceTenancy"] == "default"
    assert demo.ec2.describe_vpcs()["Vpcs"][0]["VpcId"] == vpc["VpcId"]  # stable
    (theirs,) = other.ec2.describe_vpcs()["Vpcs"]
    assert theirs["VpcId"] != vpc["VpcId"] and theirs["CidrBlock"] == vpc["CidrBlock"]
    assert demo.ec2.describe_vpcs(VpcIds=[vpc["VpcId"]])["Vpcs"] == [vpc]
    assert demo.ec2.describe_vpcs(Filters=[{"Name": "is-default",
                                            "Values": ["true"]}])["Vpcs"] == [vpc]
    assert demo.ec2.describe_vpcs(Filters=[{"Name": "is-default",
                                            "Values": ["false"]}])["Vpcs"] == []
    assert error(demo.ec2.describe_vpcs, VpcIds=[theirs["VpcId"]]) == \
        ("InvalidVpcID.NotFound", 400)

    (subnet,) = demo.ec2.describe_subnets()["Subnets"]
    assert re.fullmatch(r"subnet-[0-9a-f]{17}", subnet["SubnetId"])
    assert subnet["VpcId"] == vpc["VpcId"] and subnet["CidrBlock"] == vpc["CidrBlock"]
    assert subnet["DefaultForAz"] is True and subnet["State"] == "available"
    assert subnet["AvailabilityZone"]
    assert demo.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
                                     )["Subnets"] == [subnet]
    assert demo.ec2.describe_subnets(
        Filters=[{"Name": "default-for-az", "Values": ["true"]},
                 {"Name": "availability-zone", "Values": [subnet["AvailabilityZone"]]}]
    )["Subnets"] == [subnet]
    assert error(demo.ec2.describe_subnets, SubnetIds=["subnet-0123456789abcdef0"]) == \
        ("InvalidSubnetID.NotFound", 400)
    assert subnet["OwnerId"] == demo.account
    assert subnet["SubnetArn"] == \
        f"arn:aws:ec2:RegionOne:{demo.account}:subnet/{subnet['SubnetId']}"
    for owner in (demo.account, demo.id):
        for describe, key in ((demo.ec2.describe_vpcs, "Vpcs"),
                              (demo.ec2.describe_subnets, "Subnets")):
            assert describe(Filters=[{"Name": "owner-id", "Values": [owner]}])[key]
            assert describe(Filters=[{"Name": "owner-id", "Values": [other.id]}])[key] == []


def test_the_owner_is_the_projects_account_id(demo, other, booted):
    """Every EC2 answer names a project by one twelve-digit account id, its own."""
    first = booted.ids[booted.pair[0]]
    (reservation,) = demo.ec2.describe_instances(InstanceIds=[first])["Reservations"]
    account = reservation["OwnerId"]
    assert re.fullmatch(r"[0-9]{12}", account) and account != demo.id
    (group,) = demo.ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"]
    owners = {account, demo.account, group["OwnerId"],
              demo.ec2.describe_subnets()["Subnets"][0]["OwnerId"],
              demo.ec2.describe_instances(InstanceIds=[first])["Reservations"][0]["OwnerId"]}
    assert owners == {account}
    assert re.fullmatch(r"[0-9]{12}", other.account) and other.account != account
    for owner in (account, demo.id):
        assert first in ids_of(demo.ec2, [{"Name": "owner-id", "Values": [owner]}])
    for owner in (other.account, other.id, "0000000000*"):
        assert first not in ids_of(demo.ec2, [{"Name": "owner-id", "Values": [owner]}])
    assert first in ids_of(demo.ec2, [{"Name": "owner-id", "Values": [account[:6] + "*"]}])


def test_instances_sit_in_the_default_subnet(demo, booted):
    (vpc,) = demo.ec2.describe_vpcs()["Vpcs"]
    (subnet,) = demo.ec2.describe_subnets()["Subnets"]
    (inst,) = instances(demo.ec2, InstanceIds=[booted.ids[booted.pair[0]]])
    assert (inst["VpcId"], inst["SubnetId"]) == (vpc["VpcId"], subnet["SubnetId"])


def test_failed_build_is_terminated_with_its_fault(server, admin_session, other, image):
    admin = Api(f"{server.url}/compute/v2.1", admin_session)
    admin.ok("PUT", f"/os-quota-sets/{other.id}", {"quota_set": {"ram": -1}})
    flavor = unique("inst-huge")
    admin.ok("POST", "/flavors", {"flavor": {"name": flavor, "id": flavor,
                                             "ram": 10 ** 6, "vcpus": 1, "disk": 1}})
    try:
        (sid,) = boot(other, image, "doomed", wait=False, flavorRef=flavor)
        wait_for(other.compute, sid, "ERROR")
        (inst,) = instances(other.ec2, Filters=[{"Name": "tag:Name",
                                                 "Values": [f"{PREFIX}-doomed"]}])
        assert inst["State"] == {"Code": 48, "Name": "terminated"}
        assert inst["StateReason"]["Code"] == "Server.InternalError"
        assert inst["StateReason"]["Message"].startswith("No valid host was found")
        assert inst["InstanceType"] == flavor and "PrivateIpAddress" not in inst
        assert inst["PrivateDnsName"] == ""
    finally:
        delete_all(other.compute, [s["id"] for s in other.compute.ok(
            "GET", f"/servers?name=^{PREFIX}-doomed")["servers"]])
        admin("DELETE", f"/flavors/{flavor}")
