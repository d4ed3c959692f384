"""DescribeSecurityGroupRules through boto3: every rule of the project's groups
under an ``sgr-`` ID (the same one AuthorizeSecurityGroupIngress answers with and
RevokeSecurityGroupIngress takes), with its direction, protocol, ports, CIDR or
referenced group; by ID, by filter, in pages; and the groups' VpcId."""

from __future__ import annotations

import re

import pytest

from tests.conftest import unique
from tests.support.ec2 import error

pytestmark = pytest.mark.usefixtures("no_server_errors")
RULE = re.compile(r"sgr-[0-9a-f]{17}")


def test_rules_described(demo, other):
    ec2 = demo.ec2
    group = ec2.create_security_group(GroupName=unique("sgr"), Description="rules")["GroupId"]
    source = ec2.create_security_group(GroupName=unique("sgr-src"), Description="src")[
        "GroupId"]
    try:
        added = ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
             "IpRanges": [{"CidrIp": "10.9.0.0/16"}]},
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": source}]}])[
            "SecurityGroupRules"]
        ssh = next(r for r in added if r["IpProtocol"] == "tcp")
        assert RULE.fullmatch(ssh["SecurityGroupRuleId"])
        rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id",
                                                            "Values": [group]}])[
            "SecurityGroupRules"]
        by_id = {r["SecurityGroupRuleId"]: r for r in rules}
        assert ssh["SecurityGroupRuleId"] in by_id
        shown = by_id[ssh["SecurityGroupRuleId"]]
        assert (shown["IsEgress"], shown["FromPort"], shown["ToPort"], shown["CidrIpv4"]) == (
            False, 22, 22, "10.9.0.0/16")
        assert shown["GroupId"] == group and shown["GroupOwnerId"]
        ref = next(r for r in rules if "ReferencedGroupInfo" in r)
        assert ref["ReferencedGroupInfo"]["GroupId"] == source and ref["IpProtocol"] == "-1"
        egress = [r for r in rules if r["IsEgress"]]
        assert egress and all(r["IpProtocol"] == "-1" for r in egress)
        (one,) = ec2.describe_security_group_rules(
            SecurityGroupRuleIds=[ssh["SecurityGroupRuleId"]])["SecurityGroupRules"]
        assert one == shown
        found = ec2.describe_security_group_rules(Filters=[
            {"Name": "security-group-rule-id", "Values": [ssh["SecurityGroupRuleId"]]}])
        assert [r["SecurityGroupRuleId"] for r in found["SecurityGroupRules"]] == [
            ssh["SecurityGroupRuleId"]]
        pages = ec2.get_paginator("describe_security_group_rules").paginate(
            Filters=[{"Name": "group-id", "Values": [group]}],
            PaginationConfig={"PageSize": 5})
        assert sorted(r["SecurityGroupRuleId"] for p in pages
                      for r in p["SecurityGroupRules"]) == sorted(by_id)
        assert error(ec2.describe_security_group_rules,
                     SecurityGroupRuleIds=["sgr-0123456789abcdef0"]) == (
            "InvalidSecurityGroupRuleId.NotFound", 400)
        assert error(other.ec2.describe_security_group_rules,
                     SecurityGroupRuleIds=[ssh["SecurityGroupRuleId"]]) == (
            "InvalidSecurityGroupRuleId.NotFound", 400)
        # revoked by its ID
        ec2.revoke_security_group_ingress(GroupId=group,
                                          SecurityGroupRuleIds=[ssh["SecurityGroupRuleId"]])
        left = ec2.describe_security_group_rules(Filters=[{"Name": "group-id",
                                                           "Values": [group]}])
        assert ssh["SecurityGroupRuleId"] not in [
            r["SecurityGroupRuleId"] for r in left["SecurityGroupRules"]]
    finally:
        ec2.delete_security_group(GroupId=group)
        ec2.delete_security_group(GroupId=source)


def test_groups_are_in_the_default_vpc(demo):
    ec2 = demo.ec2
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    group = ec2.create_security_group(GroupName=unique("vpcgrp"), Description="v",
                                      VpcId=vpc["VpcId"])["GroupId"]
    try:
        (shown,) = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]
        assert shown["VpcId"] == vpc["VpcId"]
        found = ec2.describe_security_groups(Filters=[{"Name": "vpc-id",
                                                       "Values": [vpc["VpcId"]]}])
        assert group in [g["GroupId"] for g in found["SecurityGroups"]]
        assert error(ec2.create_security_group, GroupName=unique("vpcgrp"), Description="v",
                     VpcId="vpc-0123456789abcdef0") == ("InvalidVpcID.NotFound", 400)
    finally:
        ec2.delete_security_group(GroupId=group)
