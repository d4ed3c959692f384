"""EC2 security groups through boto3 and the aws CLI: create, describe (ids,
names, filters, paging), authorize and revoke ingress and egress (IpPermissions
and the flat legacy parameters), delete, every error code with AWS's words,
another project's groups, DryRun — and the same groups seen by Nova's
``os-security-groups`` and by DescribeInstances' ``SecurityGroups``."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import unique
from tests.support.compute_api import delete_all, wait_for
from tests.support.ec2 import aws_with_endpoint, error

GROUP_ID = re.compile(r"sg-[0-9a-f]{17}")
PREFIX = unique("ec2-sg")


def name(suffix: str) -> str:
    return f"{PREFIX}-{suffix}"


def group(ec2, group_id: str) -> dict:
    return ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]


def vpc_of(ec2) -> str:
    return ec2.describe_vpcs()["Vpcs"][0]["VpcId"]


# ---- create / describe ------------------------------------------------------------

def test_default_group_has_the_usual_rules(demo):
    (default,) = demo.ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"]
    assert GROUP_ID.fullmatch(default["GroupId"])
    assert default["OwnerId"] == demo.account and default["VpcId"] == vpc_of(demo.ec2)
    assert default["SecurityGroupArn"] == \
        f"arn:aws:ec2:RegionOne:{demo.account}:security-group/{default['GroupId']}"
    assert default["IpPermissions"] == [{
        "IpProtocol": "-1", "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [],
        "UserIdGroupPairs": [{"GroupId": default["GroupId"], "UserId": demo.account,
                              "GroupName": "default"}]}]
    assert default["IpPermissionsEgress"] == [{
        "IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [],
        "PrefixListIds": [], "UserIdGroupPairs": []}]


def test_create_describe_and_see_it_in_nova(demo):
    vpc = vpc_of(demo.ec2)
    made = demo.ec2.create_security_group(
        GroupName=name("web"), Description="web tier", VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group",
                            "Tags": [{"Key": "tier", "Value": "front"}]}])
    gid = made["GroupId"]
    assert GROUP_ID.fullmatch(gid) and made["Tags"] == [{"Key": "tier", "Value": "front"}]
    shown = group(demo.ec2, gid)
    assert (shown["GroupName"], shown["Description"], shown["VpcId"]) == \
        (name("web"), "web tier", vpc)
    assert shown["IpPermissions"] == [] and shown["IpPermissionsEgress"] == []
    assert shown["Tags"] == [{"Key": "tier", "Value": "front"}]
    by_name = demo.ec2.describe_security_groups(GroupNames=[name("web")])["SecurityGroups"]
    assert [g["GroupId"] for g in by_name] == [gid]
    nova = demo.compute.ok("GET", "/os-security-groups")["security_groups"]
    (mine,) = [g for g in nova if g["name"] == name("web")]
    assert mine["description"] == "web tier" and mine["tenant_id"] == demo.id
    # the waiter polls DescribeSecurityGroups until the group is there
    demo.ec2.get_waiter("security_group_exists").wait(GroupIds=[gid])


def test_create_errors(demo):
    demo.ec2.create_security_group(GroupName=name("dup"), Description="d")
    assert error(demo.ec2.create_security_group, GroupName=name("dup"),
                 Description="d") == ("InvalidGroup.Duplicate", 400)
    assert error(demo.ec2.create_security_group, GroupName="default",
                 Description="d") == ("InvalidGroup.Duplicate", 400)
    assert error(demo.ec2.create_security_group, GroupName="sg-12345", Description="d") \
        == ("InvalidParameterValue", 400)
    assert error(demo.ec2.create_security_group, GroupName=name("x"), Description="d",
                 VpcId="vpc-0123456789abcdef0") == ("InvalidVpcID.NotFound", 400)
    assert error(demo.ec2.create_security_group, GroupName="x" * 256, Description="d") \
        == ("InvalidParameterValue", 400)
    assert error(demo.ec2.create_security_group, GroupName=name("y"), Description="d",
                 TagSpecifications=[{"ResourceType": "instance", "Tags": [
                     {"Key": "a", "Value": "b"}]}]) == ("InvalidParameterValue", 400)
    assert error(demo.ec2.create_security_group, GroupName=name("y"), Description="d",
                 DryRun=True) == ("DryRunOperation", 412)
    assert not demo.ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [name("y")]}])["SecurityGroups"]


def test_describe_errors(demo):
    assert error(demo.ec2.describe_security_groups, GroupIds=["sg-0123456789abcdef0"]) \
        == ("InvalidGroup.NotFound", 400)
    assert error(demo.ec2.describe_security_groups, GroupIds=["sg-xyz"]) \
        == ("InvalidGroupId.Malformed", 400)
    assert error(demo.ec2.describe_security_groups, GroupNames=[name("nope")]) \
        == ("InvalidGroup.NotFound", 400)
    assert error(demo.ec2.describe_security_groups, Filters=[{"Name": "color",
                                                               "Values": ["red"]}]) \
        == ("InvalidParameterValue", 400)
    assert error(demo.ec2.describe_security_groups, GroupIds=["sg-0123456789abcdef0"],
                 MaxResults=5) == ("InvalidParameterCombination", 400)


def test_describe_filters_and_paging(demo):
    ids = [demo.ec2.create_security_group(GroupName=name(f"page-{i}"),
                                          Description=f"page {i}")["GroupId"]
           for i in range(6)]
    demo.ec2.authorize_security_group_ingress(GroupId=ids[0], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "192.0.2.0/24"}]}])
    demo.ec2.create_tags(Resources=[ids[1]], Tags=[{"Key": "role", "Value": "db"}])

    def found(filters):
        return {g["GroupId"] for g in demo.ec2.describe_security_groups(
            Filters=filters)["SecurityGroups"]}

    assert found([{"Name": "group-name", "Values": [name("page-*")]}]) == set(ids)
    assert found([{"Name": "description", "Values": ["page 3"]}]) == {ids[3]}
    assert found([{"Name": "group-id", "Values": [ids[2]]}]) == {ids[2]}
    for owner in (demo.account, demo.id):  # an account id, or the project id
        assert ids[0] in found([{"Name": "vpc-id", "Values": [vpc_of(demo.ec2)]},
                                {"Name": "owner-id", "Values": [owner]}])
        assert ids[0] not in found([{"Name": "owner-id", "Values": ["000000000000"]}])
    assert found([{"Name": "ip-permission.from-port", "Values": ["443"]},
                  {"Name": "ip-permission.cidr", "Values": ["192.0.2.0/24"]}]) == {ids[0]}
    assert found([{"Name": "ip-permission.protocol", "Values": ["tcp"]},
                  {"Name": "group-name", "Values": [name("page-*")]}]) == {ids[0]}
    assert ids[0] not in found([{"Name": "egress.ip-permission.cidr",
                                 "Values": ["0.0.0.0/0"]}])
    assert found([{"Name": "tag:role", "Values": ["db"]}]) == {ids[1]}
    pages = demo.ec2.get_paginator("describe_security_groups").paginate(
        Filters=[{"Name": "group-name", "Values": [name("page-*")]}],
        PaginationConfig={"PageSize": 5})
    sizes, seen = [], []
    for p in pages:
        sizes.append(len(p["SecurityGroups"]))
        seen += [g["GroupId"] for g in p["SecurityGroups"]]
    assert sorted(seen) == sorted(ids) and sizes[0] == 5
    assert error(demo.ec2.describe_security_groups, NextToken="bogus") \
        == ("InvalidPaginationToken", 400)


# ---- rules ---------------------------------------------------------------------------

def test_authorize_and_revoke_ingress(demo):
    gid = demo.ec2.create_security_group(GroupName=name("rules"), Description="r")["GroupId"]
    peer = demo.ec2.create_security_group(GroupName=name("peer"), Description="p")["GroupId"]
    added = demo.ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "10.0.0.28/29", "Description": "office"}]},
        {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1,
         "UserIdGroupPairs": [{"GroupId": peer}]}])
    assert added["Return"] is True and len(added["SecurityGroupRules"]) == 2
    rules = {r["IpProtocol"]: r for r in added["SecurityGroupRules"]}
    assert rules["tcp"]["CidrIpv4"] == "10.0.0.24/29"  # canonical, as AWS stores it
    assert rules["icmp"]["ReferencedGroupInfo"]["GroupId"] == peer
    assert all(r["SecurityGroupRuleId"].startswith("sgr-") and not r["IsEgress"]
               for r in rules.values())
    # the flat legacy parameters (boto3 sends IpProtocol/FromPort/ToPort/CidrIp)
    demo.ec2.authorize_security_group_ingress(GroupName=name("rules"), IpProtocol="udp",
                                              FromPort=53, ToPort=53, CidrIp="0.0.0.0/0")
    demo.ec2.authorize_security_group_ingress(GroupName=name("rules"),
                                              SourceSecurityGroupName=name("peer"))
    perms = {p["IpProtocol"]: p for p in group(demo.ec2, gid)["IpPermissions"]}
    assert perms["tcp"]["IpRanges"] == [{"CidrIp": "10.0.0.24/29", "Description": "office"}]
    assert (perms["tcp"]["FromPort"], perms["tcp"]["ToPort"]) == (22, 22)
    assert perms["udp"]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
    assert perms["-1"]["UserIdGroupPairs"][0]["GroupId"] == peer
    assert "FromPort" not in perms["-1"]
    # Nova shows the same ingress rules
    nova = demo.compute.ok("GET", "/os-security-groups")["security_groups"]
    (mine,) = [g for g in nova if g["name"] == name("rules")]
    assert {(r["ip_protocol"], r["from_port"], r["ip_range"].get("cidr"))
            for r in mine["rules"]} >= {("tcp", 22, "10.0.0.24/29"), ("udp", 53, "0.0.0.0/0")}
    # revoke: by permission, by legacy parameters, by rule id
    demo.ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "10.0.0.24/29"}]}])
    demo.ec2.revoke_security_group_ingress(GroupName=name("rules"), IpProtocol="udp",
                                           FromPort=53, ToPort=53, CidrIp="0.0.0.0/0")
    demo.ec2.revoke_security_group_ingress(GroupId=gid, SecurityGroupRuleIds=[
        rules["icmp"]["SecurityGroupRuleId"]])
    left = group(demo.ec2, gid)["IpPermissions"]
    assert [p["IpProtocol"] for p in left] == ["-1"]
    assert error(demo.ec2.revoke_security_group_ingress, GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "10.0.0.24/29"}]}]) == ("InvalidPermission.NotFound", 400)
    assert error(demo.ec2.revoke_security_group_ingress, GroupId=gid,
                 SecurityGroupRuleIds=["sgr-0123456789abcdef0"]) \
        == ("InvalidSecurityGroupRuleId.NotFound", 400)


def test_authorize_errors_change_nothing(demo):
    gid = demo.ec2.create_security_group(GroupName=name("bad-rules"),
                                         Description="b")["GroupId"]
    ok = {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
          "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    demo.ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[ok])
    with pytest.raises(Exception) as info:
        demo.ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[ok])
    err = info.value.response["Error"]
    assert err["Code"] == "InvalidPermission.Duplicate"
    assert err["Message"] == ('the specified rule "peer: 0.0.0.0/0, TCP, from port: 80, '
                              'to port: 80, ALLOW" already exists')
    new = {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
           "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    cases = [
        ([new, ok], "InvalidPermission.Duplicate"),  # all or nothing
        ([new, new], "InvalidParameterValue"),  # the same permission twice
        ([{**new, "IpRanges": [{"CidrIp": "10.0.0.0/33"}]}], "InvalidParameterValue"),
        ([{**new, "IpRanges": [{"CidrIp": "banana"}]}], "InvalidParameterValue"),
        ([{**new, "FromPort": 70000, "ToPort": 70000}], "InvalidParameterValue"),
        ([{**new, "FromPort": 90, "ToPort": 80}], "InvalidParameterValue"),
        ([{"IpProtocol": "tcp", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
         "InvalidParameterValue"),
        ([{**new, "IpProtocol": "gre"}], "InvalidParameterValue"),
        ([{**new, "IpProtocol": "icmp", "FromPort": 300, "ToPort": 0}],
         "InvalidParameterValue"),
        ([{**new, "IpRanges": [], "UserIdGroupPairs": [
            {"GroupId": "sg-0123456789abcdef0"}]}], "InvalidGroup.NotFound"),
    ]
    for perms, code in cases:
        assert error(demo.ec2.authorize_security_group_ingress, GroupId=gid,
                     IpPermissions=perms) == (code, 400), perms
    with pytest.raises(Exception) as info:
        demo.ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
            {**new, "IpRanges": [{"CidrIp": "10.0.0.0/33"}]}])
    assert info.value.response["Error"]["Message"] == "CIDR block 10.0.0.0/33 is malformed"
    assert [p["FromPort"] for p in group(demo.ec2, gid)["IpPermissions"]] == [80]
    assert error(demo.ec2.authorize_security_group_ingress, GroupId=gid) \
        == ("MissingParameter", 400)
    assert error(demo.ec2.authorize_security_group_ingress, GroupName=name("nope"),
                 IpPermissions=[new]) == ("InvalidGroup.NotFound", 400)
    assert error(demo.ec2.authorize_security_group_ingress, GroupId=gid,
                 IpPermissions=[new], DryRun=True) == ("DryRunOperation", 412)
    assert error(demo.ec2.revoke_security_group_ingress, GroupId=gid,
                 IpPermissions=[ok], DryRun=True) == ("DryRunOperation", 412)
    assert [p["FromPort"] for p in group(demo.ec2, gid)["IpPermissions"]] == [80]


def test_egress_rules(demo):
    gid = demo.ec2.create_security_group(GroupName=name("egress"), Description="e")["GroupId"]
    perm = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
            "IpRanges": [{"CidrIp": "203.0.113.0/24"}]}
    out = demo.ec2.authorize_security_group_egress(GroupId=gid, IpPermissions=[perm])
    assert out["SecurityGroupRules"][0]["IsEgress"] is True
    assert group(demo.ec2, gid)["IpPermissionsEgress"][0]["IpRanges"] == [
        {"CidrIp": "203.0.113.0/24"}]
    assert gid in {g["GroupId"] for g in demo.ec2.describe_security_groups(Filters=[
        {"Name": "egress.ip-permission.cidr", "Values": ["203.0.113.0/24"]}])["SecurityGroups"]}
    assert error(demo.ec2.authorize_security_group_egress, GroupId=gid,
                 IpPermissions=[perm]) == ("InvalidPermission.Duplicate", 400)
    assert error(demo.ec2.authorize_security_group_egress, GroupId=gid, IpPermissions=[perm],
                 DryRun=True) == ("DryRunOperation", 412)
    demo.ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=[perm])
    assert group(demo.ec2, gid)["IpPermissionsEgress"] == []
    assert error(demo.ec2.revoke_security_group_egress, GroupId=gid,
                 IpPermissions=[perm]) == ("InvalidPermission.NotFound", 400)
    # Nova's view of a group lists ingress rules only
    nova = {g["name"]: g for g in demo.compute.ok("GET", "/os-security-groups")[
        "security_groups"]}
    assert nova[name("egress")]["rules"] == []


def test_aws_cli_rules(server, endpoint, demo):
    made = aws_with_endpoint(server, endpoint, "create-security-group",
                             "--group-name", name("cli"), "--description", "from the cli")
    assert made.returncode == 0, made.stderr
    gid = json.loads(made.stdout)["GroupId"]
    ran = aws_with_endpoint(server, endpoint, "authorize-security-group-ingress",
                            "--group-id", gid, "--protocol", "tcp", "--port", "8000-8080",
                            "--cidr", "198.51.100.0/24")
    assert ran.returncode == 0, ran.stderr
    shown = aws_with_endpoint(
        server, endpoint, "describe-security-groups", "--group-ids", gid, "--query",
        "SecurityGroups[0].IpPermissions[0].[FromPort,ToPort,IpRanges[0].CidrIp]")
    assert json.loads(shown.stdout) == [8000, 8080, "198.51.100.0/24"]
    dup = aws_with_endpoint(server, endpoint, "authorize-security-group-ingress",
                            "--group-id", gid, "--protocol", "tcp", "--port", "8000-8080",
                            "--cidr", "198.51.100.0/24")
    assert dup.returncode != 0 and "InvalidPermission.Duplicate" in dup.stderr
    gone = aws_with_endpoint(server, endpoint, "delete-security-group", "--group-id", gid)
    assert gone.returncode == 0, gone.stderr
    missing = aws_with_endpoint(server, endpoint, "delete-security-group", "--group-id", gid)
    assert missing.returncode != 0 and "InvalidGroup.NotFound" in missing.stderr


# ---- delete -----------------------------------------------------------------------------

def test_delete_by_id_and_name_and_its_errors(demo):
    a = demo.ec2.create_security_group(GroupName=name("del-a"), Description="a")["GroupId"]
    demo.ec2.create_security_group(GroupName=name("del-b"), Description="b")
    assert error(demo.ec2.delete_security_group, GroupId=a, DryRun=True) \
        == ("DryRunOperation", 412)
    demo.ec2.delete_security_group(GroupId=a)
    demo.ec2.delete_security_group(GroupName=name("del-b"))
    assert error(demo.ec2.describe_security_groups, GroupIds=[a]) \
        == ("InvalidGroup.NotFound", 400)
    assert error(demo.ec2.delete_security_group, GroupId=a) == ("InvalidGroup.NotFound", 400)
    assert error(demo.ec2.delete_security_group, GroupName=name("del-b")) \
        == ("InvalidGroup.NotFound", 400)
    assert error(demo.ec2.delete_security_group, GroupId="sg-1") \
        == ("InvalidGroupId.Malformed", 400)
    assert error(demo.ec2.delete_security_group) == ("MissingParameter", 400)
    default = demo.ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]
    with pytest.raises(Exception) as info:
        demo.ec2.delete_security_group(GroupId=default["GroupId"])
    assert info.value.response["Error"]["Code"] == "CannotDelete"
    assert info.value.response["Error"]["Message"] == (
        f'the specified group: "{default["GroupId"]}" name: "default" cannot be deleted '
        "by a user")
    # a group another group's rule names is in use
    src = demo.ec2.create_security_group(GroupName=name("src"), Description="s")["GroupId"]
    dst = demo.ec2.create_security_group(GroupName=name("dst"), Description="d")["GroupId"]
    demo.ec2.authorize_security_group_ingress(GroupId=dst, IpPermissions=[
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": src}]}])
    assert error(demo.ec2.delete_security_group, GroupId=src) \
        == ("DependencyViolation", 400)
    demo.ec2.delete_security_group(GroupId=dst)
    demo.ec2.delete_security_group(GroupId=src)


def test_instances_show_their_groups_and_hold_them(demo, image):
    gid = demo.ec2.create_security_group(GroupName=name("inst"), Description="i")["GroupId"]
    r = demo.compute("POST", "/servers", {"server": {
        "name": name("vm-bad"), "imageRef": image, "flavorRef": "1",
        "security_groups": [{"name": name("nope")}]}})
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == \
        f"Unable to find security_group with name or id {name('nope')}"
    assert not demo.compute.ok("GET", f"/servers?name=^{name('vm-bad')}")["servers"]
    demo.compute.ok("POST", "/servers", {"server": {
        "name": name("vm"), "imageRef": image, "flavorRef": "1",
        "security_groups": [{"name": name("inst")}, {"name": "default"}]}}, status=202)
    (sid,) = [s["id"] for s in demo.compute.ok("GET", f"/servers?name=^{name('vm')}$")[
        "servers"]]
    try:
        wait_for(demo.compute, sid, "ACTIVE")
        default = demo.ec2.describe_security_groups(GroupNames=["default"])[
            "SecurityGroups"][0]["GroupId"]
        found = demo.ec2.describe_instances(Filters=[
            {"Name": "instance.group-name", "Values": [name("inst")]}])
        (inst,) = [i for res in found["Reservations"] for i in res["Instances"]]
        assert inst["SecurityGroups"] == [{"GroupName": name("inst"), "GroupId": gid},
                                          {"GroupName": "default", "GroupId": default}]
        assert error(demo.ec2.delete_security_group, GroupId=gid) \
            == ("DependencyViolation", 400)
        with pytest.raises(Exception) as info:
            demo.ec2.delete_security_group(GroupId=gid)
        assert info.value.response["Error"]["Message"] == \
            f"resource {gid} has a dependent object"
    finally:
        delete_all(demo.compute, [sid])
    demo.ec2.delete_security_group(GroupId=gid)


# ---- another project ------------------------------------------------------------------

def test_another_projects_groups_are_not_found(demo, other):
    gid = demo.ec2.create_security_group(GroupName=name("private"),
                                         Description="p")["GroupId"]
    perm = {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2,
            "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    for call, kwargs in ((other.ec2.describe_security_groups, {"GroupIds": [gid]}),
                         (other.ec2.delete_security_group, {"GroupId": gid}),
                         (other.ec2.authorize_security_group_ingress,
                          {"GroupId": gid, "IpPermissions": [perm]}),
                         (other.ec2.revoke_security_group_egress,
                          {"GroupId": gid, "IpPermissions": [perm]})):
        assert error(call, **kwargs) == ("InvalidGroup.NotFound", 400)
    assert error(other.ec2.describe_security_groups, GroupNames=[name("private")]) \
        == ("InvalidGroup.NotFound", 400)
    mine = other.ec2.create_security_group(GroupName=name("o"), Description="o")["GroupId"]
    assert error(other.ec2.authorize_security_group_ingress, GroupId=mine, IpPermissions=[
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": gid}]}]) \
        == ("InvalidGroup.NotFound", 400)
    listed = {g["GroupId"] for g in other.ec2.describe_security_groups()["SecurityGroups"]}
    assert gid not in listed and mine in listed
    assert group(demo.ec2, gid)["GroupName"] == name("private")
    assert group(other.ec2, mine)["OwnerId"] == other.account != demo.account


def test_group_pairs_name_their_owner_by_account_or_project(demo, other):
    gid = demo.ec2.create_security_group(GroupName=name("pairs"), Description="p")["GroupId"]
    made = demo.ec2.create_security_group(GroupName=name("src"), Description="s")
    src = made["GroupId"]
    assert made["SecurityGroupArn"] == \
        f"arn:aws:ec2:RegionOne:{demo.account}:security-group/{src}"
    added = demo.ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
         "UserIdGroupPairs": [{"GroupId": src, "UserId": demo.account}]},
        {"IpProtocol": "tcp", "FromPort": 81, "ToPort": 81,
         "UserIdGroupPairs": [{"GroupId": src, "UserId": demo.id}]}])["SecurityGroupRules"]
    assert {(r["GroupOwnerId"], r["ReferencedGroupInfo"]["UserId"]) for r in added} == \
        {(demo.account, demo.account)}
    demo.ec2.authorize_security_group_ingress(
        GroupName=name("pairs"), SourceSecurityGroupName=name("src"),
        SourceSecurityGroupOwnerId=demo.account)
    pairs = [p for perm in group(demo.ec2, gid)["IpPermissions"]
             for p in perm["UserIdGroupPairs"]]
    assert len(pairs) == 3 and {p["UserId"] for p in pairs} == {demo.account}
    for owner in (demo.account, demo.id):
        assert gid in {g["GroupId"] for g in demo.ec2.describe_security_groups(Filters=[
            {"Name": "ip-permission.user-id", "Values": [owner]}])["SecurityGroups"]}
    # Another account's group: this cloud has no cross-project grants.
    assert error(demo.ec2.authorize_security_group_ingress, GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 82, "ToPort": 82,
         "UserIdGroupPairs": [{"GroupId": src, "UserId": other.account}]}]) \
        == ("InvalidGroup.NotFound", 400)
