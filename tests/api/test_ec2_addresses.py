"""Elastic IPs through boto3 and the aws CLI: allocate, associate (and move with
AllowReassociation), disassociate, release, describe with filters, the quota,
every error code, another project's addresses, DryRun — and the address seen
by DescribeInstances (PublicIpAddress, PublicDnsName, ip-address / dns-name
filters) and by the compute API (``OS-EXT-IPS:type: floating``)."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import unique
from tests.support.compute_api import delete_all, wait_for
from tests.support.ec2 import aws_with_endpoint, error

ALLOCATION = re.compile(r"eipalloc-[0-9a-f]{17}")
ASSOCIATION = re.compile(r"eipassoc-[0-9a-f]{17}")
PREFIX = unique("ec2-eip")


@pytest.fixture(scope="module")
def servers(demo, image):
    """Two ACTIVE servers of the demo project: (uuid, EC2 id) each."""
    demo.compute.ok("POST", "/servers", {"server": {
        "name": PREFIX, "imageRef": image, "flavorRef": "1", "min_count": 2,
        "max_count": 2}}, status=202)
    ids = [s["id"] for s in demo.compute.ok("GET", f"/servers?name=^{PREFIX}")["servers"]]
    for sid in ids:
        wait_for(demo.compute, sid, "ACTIVE")
    found = demo.ec2.describe_instances(Filters=[{"Name": "tag:Name",
                                                  "Values": [f"{PREFIX}-*"]}])
    by_name = {t["Value"]: i["InstanceId"] for r in found["Reservations"]
               for i in r["Instances"] for t in i["Tags"] if t["Key"] == "Name"}
    listed = {s["name"]: s["id"] for s in
              demo.compute.ok("GET", f"/servers?name=^{PREFIX}")["servers"]}
    yield [(listed[n], by_name[n]) for n in sorted(listed)]
    delete_all(demo.compute, ids)


def release_all(ec2) -> None:
    for a in ec2.describe_addresses()["Addresses"]:
        if a.get("AssociationId"):
            ec2.disassociate_address(AssociationId=a["AssociationId"])
        ec2.release_address(AllocationId=a["AllocationId"])


def test_allocate_associate_and_see_it_everywhere(server, demo, servers):
    (uuid, iid), _ = servers
    made = demo.ec2.allocate_address(Domain="vpc")
    ip, alloc = made["PublicIp"], made["AllocationId"]
    try:
        assert ALLOCATION.fullmatch(alloc) and made["Domain"] == "vpc"
        assert ip.startswith("203.0.113.")
        (shown,) = demo.ec2.describe_addresses(AllocationIds=[alloc])["Addresses"]
        assert shown["PublicIp"] == ip and "AssociationId" not in shown
        assoc = demo.ec2.associate_address(AllocationId=alloc, InstanceId=iid)["AssociationId"]
        assert ASSOCIATION.fullmatch(assoc)
        # idempotent, as AWS: the same address on the same instance
        assert demo.ec2.associate_address(AllocationId=alloc, InstanceId=iid)[
            "AssociationId"] == assoc
        (shown,) = demo.ec2.describe_addresses(PublicIps=[ip])["Addresses"]
        assert (shown["AssociationId"], shown["InstanceId"]) == (assoc, iid)
        instance = demo.ec2.describe_instances(InstanceIds=[iid])["Reservations"][0][
            "Instances"][0]
        domain = server.env.get("NIMBUS_EC2_PUBLIC_DOMAIN", "compute.nimbus.test")
        assert instance["PublicIpAddress"] == ip
        assert instance["PublicDnsName"] == f"ec2-{ip.replace('.', '-')}.{domain}"
        assert shown["PrivateIpAddress"] == instance["PrivateIpAddress"]
        for f in ({"Name": "ip-address", "Values": [ip]},
                  {"Name": "dns-name", "Values": [instance["PublicDnsName"]]}):
            hits = demo.ec2.describe_instances(Filters=[f])["Reservations"]
            assert [i["InstanceId"] for r in hits for i in r["Instances"]] == [iid]
        # the compute API lists it as a floating address of the same network
        addresses = demo.compute.ok("GET", f"/servers/{uuid}")["server"]["addresses"]
        (network,) = addresses.values()
        kinds = {a["addr"]: a["OS-EXT-IPS:type"] for a in network}
        assert kinds[ip] == "floating" and kinds[instance["PrivateIpAddress"]] == "fixed"
        for name, values in (("allocation-id", [alloc]), ("association-id", [assoc]),
                             ("public-ip", [ip]), ("instance-id", [iid]),
                             ("domain", ["vpc"])):
            got = demo.ec2.describe_addresses(Filters=[{"Name": name, "Values": values}])
            assert [a["AllocationId"] for a in got["Addresses"]] == [alloc], name
        assert error(demo.ec2.release_address, AllocationId=alloc) \
            == ("InvalidIPAddress.InUse", 400)
        assert error(demo.ec2.disassociate_address, AssociationId=assoc, DryRun=True) \
            == ("DryRunOperation", 412)
        demo.ec2.disassociate_address(AssociationId=assoc)
        instance = demo.ec2.describe_instances(InstanceIds=[iid])["Reservations"][0][
            "Instances"][0]
        assert "PublicIpAddress" not in instance and instance["PublicDnsName"] == ""
        assert error(demo.ec2.disassociate_address, AssociationId=assoc) \
            == ("InvalidAssociationID.NotFound", 400)
    finally:
        release_all(demo.ec2)
    assert error(demo.ec2.describe_addresses, AllocationIds=[alloc]) \
        == ("InvalidAllocationID.NotFound", 400)


def test_openstack_cli_shows_the_floating_address(cli, demo, servers):
    uuid, iid = servers[0]
    alloc = demo.ec2.allocate_address(Domain="vpc")
    try:
        demo.ec2.associate_address(AllocationId=alloc["AllocationId"], InstanceId=iid)
        shown = cli.json("demo", "server", "show", uuid)
        text = json.dumps(shown["addresses"])
        assert alloc["PublicIp"] in text
    finally:
        release_all(demo.ec2)


def test_reassociation_needs_allow_reassociation(demo, servers):
    (_, first), (_, second) = servers
    alloc = demo.ec2.allocate_address(Domain="vpc")["AllocationId"]
    other_alloc = demo.ec2.allocate_address()["AllocationId"]
    try:
        demo.ec2.associate_address(AllocationId=alloc, InstanceId=first)
        with pytest.raises(Exception) as info:
            demo.ec2.associate_address(AllocationId=alloc, InstanceId=second)
        assert info.value.response["Error"]["Code"] == "Resource.AlreadyAssociated"
        assert alloc in info.value.response["Error"]["Message"]
        moved = demo.ec2.associate_address(AllocationId=alloc, InstanceId=second,
                                           AllowReassociation=True)["AssociationId"]
        (shown,) = demo.ec2.describe_addresses(AllocationIds=[alloc])["Addresses"]
        assert (shown["InstanceId"], shown["AssociationId"]) == (second, moved)
        # a second address for the same instance takes over from the first
        demo.ec2.associate_address(AllocationId=other_alloc, InstanceId=second)
        (shown,) = demo.ec2.describe_addresses(AllocationIds=[alloc])["Addresses"]
        assert "InstanceId" not in shown
    finally:
        release_all(demo.ec2)


def test_address_errors(demo, other, servers):
    _, iid = servers[0]
    for call, kwargs, code in (
            (demo.ec2.associate_address, {"AllocationId": "eipalloc-0123456789abcdef0",
                                          "InstanceId": iid}, "InvalidAllocationID.NotFound"),
            (demo.ec2.associate_address, {"AllocationId": "eipalloc-zz",
                                          "InstanceId": iid}, "InvalidAllocationID.Malformed"),
            (demo.ec2.associate_address, {"PublicIp": "198.51.100.7", "InstanceId": iid},
             "InvalidAddress.NotFound"),
            (demo.ec2.disassociate_address, {"AssociationId": "eipassoc-0123456789abcdef0"},
             "InvalidAssociationID.NotFound"),
            (demo.ec2.disassociate_address, {"AssociationId": "eipassoc-1"},
             "InvalidAssociationID.Malformed"),
            (demo.ec2.release_address, {"AllocationId": "eipalloc-0123456789abcdef0"},
             "InvalidAllocationID.NotFound"),
            (demo.ec2.release_address, {}, "MissingParameter"),
            (demo.ec2.describe_addresses, {"PublicIps": ["198.51.100.7"]},
             "InvalidAddress.NotFound"),
            (demo.ec2.describe_addresses, {"Filters": [{"Name": "color", "Values": ["x"]}]},
             "InvalidParameterValue"),
            (demo.ec2.allocate_address, {"Domain": "classic"}, "InvalidParameterValue"),
            (demo.ec2.allocate_address, {"DryRun": True}, "DryRunOperation")):
        assert error(call, **kwargs)[0] == code, (call, kwargs)
    alloc = demo.ec2.allocate_address()["AllocationId"]
    try:
        assert error(demo.ec2.associate_address, AllocationId=alloc) \
            == ("MissingParameter", 400)
        assert error(demo.ec2.associate_address, AllocationId=alloc,
                     InstanceId="i-0123456789abcdef0") == ("InvalidInstanceID.NotFound", 400)
        assert error(demo.ec2.associate_address, AllocationId=alloc, InstanceId=iid,
                     DryRun=True) == ("DryRunOperation", 412)
        assert error(demo.ec2.release_address, AllocationId=alloc, DryRun=True) \
            == ("DryRunOperation", 412)
        # another project's address and instance are not found
        assert error(other.ec2.release_address, AllocationId=alloc) \
            == ("InvalidAllocationID.NotFound", 400)
        assert error(other.ec2.describe_addresses, AllocationIds=[alloc]) \
            == ("InvalidAllocationID.NotFound", 400)
        theirs = other.ec2.allocate_address()["AllocationId"]
        assert error(other.ec2.associate_address, AllocationId=theirs, InstanceId=iid) \
            == ("InvalidInstanceID.NotFound", 400)
        other.ec2.release_address(AllocationId=theirs)
        assert demo.ec2.describe_addresses(AllocationIds=[alloc])["Addresses"]
    finally:
        release_all(demo.ec2)


def test_quota_is_address_limit_exceeded(demo, other, admin_session, server):
    quota = f"{server.url}/compute/v2.1/os-quota-sets/{other.id}"
    admin_session.put(quota, json={"quota_set": {"floating_ips": 2}})
    try:
        allocated = [other.ec2.allocate_address()["AllocationId"] for _ in range(2)]
        with pytest.raises(Exception) as info:
            other.ec2.allocate_address()
        assert info.value.response["Error"]["Code"] == "AddressLimitExceeded"
        assert info.value.response["Error"]["Message"] == \
            "The maximum number of addresses has been reached."
        other.ec2.release_address(AllocationId=allocated[0])
        allocated[0] = other.ec2.allocate_address()["AllocationId"]
    finally:
        release_all(other.ec2)
        admin_session.put(quota, json={"quota_set": {"floating_ips": 10}})


def test_terminating_an_instance_disassociates_its_address(demo, image):
    demo.compute.ok("POST", "/servers", {"server": {
        "name": f"{PREFIX}-doomed", "imageRef": image, "flavorRef": "1"}}, status=202)
    (sid,) = [s["id"] for s in demo.compute.ok(
        "GET", f"/servers?name=^{PREFIX}-doomed$")["servers"]]
    wait_for(demo.compute, sid, "ACTIVE")
    iid = demo.ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [
        f"{PREFIX}-doomed"]}])["Reservations"][0]["Instances"][0]["InstanceId"]
    alloc = demo.ec2.allocate_address()["AllocationId"]
    try:
        demo.ec2.associate_address(AllocationId=alloc, InstanceId=iid)
        delete_all(demo.compute, [sid])
        (shown,) = demo.ec2.describe_addresses(AllocationIds=[alloc])["Addresses"]
        assert "InstanceId" not in shown and "AssociationId" not in shown
    finally:
        release_all(demo.ec2)


def test_aws_cli_addresses(server, endpoint, demo, servers):
    _, iid = servers[0]
    made = aws_with_endpoint(server, endpoint, "allocate-address", "--domain", "vpc")
    assert made.returncode == 0, made.stderr
    alloc = json.loads(made.stdout)["AllocationId"]
    try:
        ran = aws_with_endpoint(server, endpoint, "associate-address",
                                "--allocation-id", alloc, "--instance-id", iid)
        assert ran.returncode == 0, ran.stderr
        shown = aws_with_endpoint(server, endpoint, "describe-addresses", "--filters",
                                  f"Name=instance-id,Values={iid}",
                                  "--query", "Addresses[].AllocationId")
        assert json.loads(shown.stdout) == [alloc]
        busy = aws_with_endpoint(server, endpoint, "release-address", "--allocation-id", alloc)
        assert busy.returncode != 0 and "InvalidIPAddress.InUse" in busy.stderr
        assoc = json.loads(ran.stdout)["AssociationId"]
        assert aws_with_endpoint(server, endpoint, "disassociate-address", "--association-id",
                                 assoc).returncode == 0
        assert aws_with_endpoint(server, endpoint, "release-address", "--allocation-id",
                                 alloc).returncode == 0
    finally:
        release_all(demo.ec2)
