"""The instance lifecycle through boto3, its resource layer and the aws CLI:
RunInstances (tags, key pair, user data, ClientToken, partial fill, every
launch error), Start/Stop/Reboot/Terminate (all or nothing, no-op answers,
wrong states, locks), DescribeInstanceStatus, GetConsoleOutput,
Describe/ModifyInstanceAttribute (instance type changed while stopped),
terminated instances that stay visible, DryRun, and the same servers seen and
driven through the OpenStack compute API and the ``openstack`` CLI."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.conftest import ksa_session, unique
from tests.support.compute_api import Api, delete_all, show, wait_for
from tests.support.ec2 import FAST, REGION, Project, aws, error, ids_of, instances, new_image

PREFIX = unique("ec2-life")
MISSING = "i-0123456789abcdef0"


@pytest.fixture(scope="module")
def demo(demo) -> Project:
    """The demo project (tests/api/conftest.py); this module's servers go at the end."""
    yield demo
    _cleanup(demo)


@pytest.fixture(scope="module")
def other(other) -> Project:
    """Another project (tests/api/conftest.py); this module's servers go at the end."""
    yield other
    _cleanup(other)


@pytest.fixture(scope="module")
def admin(server, admin_session) -> Api:
    return Api(f"{server.url}/compute/v2.1", admin_session)


def _cleanup(project: Project) -> None:
    listed = project.compute.ok("GET", f"/servers?name=^{PREFIX}")["servers"]
    for server in listed:
        project.compute("POST", f"/servers/{server['id']}/action", {"unlock": None})
    delete_all(project.compute, [s["id"] for s in listed])


@pytest.fixture(scope="module")
def ami(demo) -> str:
    (image,) = demo.ec2.describe_images(
        Filters=[{"Name": "name", "Values": ["nimbus-tiny"]}])["Images"]
    return image["ImageId"]


def run(project: Project, ami: str, name: str, wait: bool = True, **extra) -> list[str]:
    """Instance IDs of a new reservation named ``<PREFIX>-<name>``."""
    params = {"ImageId": ami, "InstanceType": "t3.nano", "MinCount": 1, "MaxCount": 1,
              "TagSpecifications": [{"ResourceType": "instance", "Tags": [
                  {"Key": "Name", "Value": f"{PREFIX}-{name}"}]}], **extra}
    answer = project.ec2.run_instances(**params)
    ids = [i["InstanceId"] for i in answer["Instances"]]
    if wait:
        project.ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig=FAST)
    return ids


def state(ec2, instance_id: str) -> str:
    (inst,) = instances(ec2, InstanceIds=[instance_id])
    return inst["State"]["Name"]


def server_of(project: Project, instance_id: str) -> dict:
    (inst,) = instances(project.ec2, InstanceIds=[instance_id])
    name = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}.get("Name", instance_id)
    (found,) = [s for s in project.compute.ok("GET", "/servers/detail?name=^"
                                              + name.replace(".", "\\."))["servers"]
                if s["name"] == name]
    return found


# ---- the boto3 workflow ----------------------------------------------------

def test_boto3_workflow(demo, ami):
    ec2 = demo.ec2
    key = unique("life-key")
    ec2.create_key_pair(KeyName=key)
    script = "#!/bin/sh\necho hello from nimbus\n"
    token = uuid.uuid4().hex
    answer = ec2.run_instances(
        ImageId=ami, InstanceType="t3.micro", MinCount=1, MaxCount=1, KeyName=key,
        UserData=script, ClientToken=token,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [
            {"Key": "Name", "Value": f"{PREFIX}-flow"}, {"Key": "team", "Value": "blue"}]}])
    (inst,) = answer["Instances"]
    iid = inst["InstanceId"]
    assert answer["OwnerId"] == demo.account and answer["ReservationId"].startswith("r-")
    assert inst["State"] == {"Code": 0, "Name": "pending"}
    assert inst["InstanceType"] == "t3.micro" and inst["KeyName"] == key
    assert inst["ImageId"] == ami and inst["ClientToken"] == token
    assert {t["Key"]: t["Value"] for t in inst["Tags"]} == {"Name": f"{PREFIX}-flow",
                                                            "team": "blue"}
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)

    for name, value in (("tag:team", "blue"), ("instance-type", "t3.micro"),
                        ("key-name", key), ("client-token", token),
                        ("instance-state-name", "running")):
        assert iid in ids_of(ec2, [{"Name": name, "Values": [value]}]), name
    # No floating IP yet: the public address filters match nothing of it.
    assert iid not in ids_of(ec2, [{"Name": "ip-address", "Values": ["*"]}])
    assert iid not in ids_of(ec2, [{"Name": "dns-name", "Values": ["*"]}])
    user_data = ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")
    assert base64.b64decode(user_data["UserData"]["Value"]).decode() == script
    assert ec2.describe_instance_attribute(InstanceId=iid, Attribute="disableApiTermination")[
        "DisableApiTermination"] == {"Value": False}
    groups = ec2.describe_instance_attribute(InstanceId=iid, Attribute="groupSet")["Groups"]
    assert [g["GroupName"] for g in groups] == ["default"]

    stopping = ec2.stop_instances(InstanceIds=[iid])["StoppingInstances"]
    assert stopping == [{"InstanceId": iid, "CurrentState": {"Code": 64, "Name": "stopping"},
                         "PreviousState": {"Code": 16, "Name": "running"}}]
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=FAST)
    again = ec2.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]
    assert again["CurrentState"] == again["PreviousState"] == {"Code": 80, "Name": "stopped"}

    ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "t3.small"})
    assert ec2.describe_instance_attribute(InstanceId=iid, Attribute="instanceType")[
        "InstanceType"] == {"Value": "t3.small"}
    (stopped,) = instances(ec2, InstanceIds=[iid])
    assert stopped["State"]["Name"] == "stopped" and stopped["InstanceType"] == "t3.small"
    shown = demo.compute.ok("GET", f"/servers/{server_of(demo, iid)['id']}")
    assert shown["server"]["flavor"]["id"] == "t3.small"  # the EC2 types' ids are names
    assert shown["server"]["status"] == "SHUTOFF"

    starting = ec2.start_instances(InstanceIds=[iid])["StartingInstances"][0]
    assert (starting["PreviousState"]["Name"], starting["CurrentState"]["Name"]) == \
        ("stopped", "pending")
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
    again = ec2.start_instances(InstanceIds=[iid])["StartingInstances"][0]
    assert again["CurrentState"] == again["PreviousState"] == {"Code": 16, "Name": "running"}

    ec2.reboot_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
    console = ec2.get_console_output(InstanceId=iid)
    assert console["InstanceId"] == iid and console["Output"]  # botocore decodes it
    assert console["Timestamp"].year >= 2024
    status = ec2.describe_instance_status(InstanceIds=[iid])["InstanceStatuses"]
    assert [(s["InstanceStatus"]["Status"], s["SystemStatus"]["Status"]) for s in status] == \
        [("ok", "ok")]

    terminating = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert terminating["PreviousState"]["Name"] == "running"
    assert terminating["CurrentState"] in ({"Code": 32, "Name": "shutting-down"},
                                           {"Code": 48, "Name": "terminated"})
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=FAST)
    (gone,) = instances(ec2, InstanceIds=[iid])
    assert gone["State"] == {"Code": 48, "Name": "terminated"}
    assert gone["StateReason"]["Code"] == "Client.UserInitiatedShutdown"
    assert iid in ids_of(ec2, [{"Name": "instance-state-name", "Values": ["terminated"]}])
    again = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert again["CurrentState"] == again["PreviousState"] == {"Code": 48,
                                                               "Name": "terminated"}
    # Nova's own listing keeps its deleted semantics.
    assert demo.compute.ok("GET", f"/servers?name=^{PREFIX}-flow$")["servers"] == []
    assert error(ec2.start_instances, InstanceIds=[iid]) == ("IncorrectInstanceState", 400)
    assert error(ec2.stop_instances, InstanceIds=[iid]) == ("IncorrectInstanceState", 400)
    assert error(ec2.reboot_instances, InstanceIds=[iid]) == ("IncorrectInstanceState", 400)
    ec2.delete_key_pair(KeyName=key)


def test_boto3_resource_and_paginators(demo, ami, endpoint, demo_keys):
    resource = boto3.resource("ec2", endpoint_url=endpoint, region_name=REGION,
                              aws_access_key_id=demo_keys[0],
                              aws_secret_access_key=demo_keys[1],
                              config=Config(retries={"max_attempts": 1}))
    made = resource.create_instances(
        ImageId=ami, InstanceType="t3.nano", MinCount=6, MaxCount=6,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [
            {"Key": "Name", "Value": f"{PREFIX}-many"}]}])
    assert len(made) == 6
    first = made[0]
    first.wait_until_running(WaiterConfig=FAST)
    first.reload()
    assert first.state["Name"] == "running" and first.private_ip_address
    assert first.instance_type == "t3.nano"
    ids = {i.id for i in made}
    demo.ec2.get_waiter("instance_running").wait(InstanceIds=sorted(ids), WaiterConfig=FAST)
    # Every instance of one launch carries the launch's Name tag, unnumbered.
    names = {i.id: {t["Key"]: t["Value"] for t in i.tags}["Name"]
             for i in resource.instances.filter(InstanceIds=sorted(ids))}
    assert set(names.values()) == {f"{PREFIX}-many"}

    pages = demo.ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "tag:Name", "Values": [f"{PREFIX}-many"]}],
        PaginationConfig={"PageSize": 5})
    sizes = [sum(len(r["Instances"]) for r in p["Reservations"]) for p in pages]
    assert sizes == [5, 1]
    statuses = demo.ec2.get_paginator("describe_instance_status").paginate(
        PaginationConfig={"PageSize": 5})
    seen = [s["InstanceId"] for p in statuses for s in p["InstanceStatuses"]]
    assert ids <= set(seen) and len(seen) == len(set(seen))

    first.terminate()
    first.wait_until_terminated(WaiterConfig=FAST)
    first.reload()
    assert first.state == {"Code": 48, "Name": "terminated"}
    demo.ec2.terminate_instances(InstanceIds=sorted(ids - {first.id}))


def test_aws_cli(server, demo, ami):
    name = f"{PREFIX}-cli"
    iid = aws(server, "ec2", "run-instances", "--image-id", ami, "--instance-type", "t3.nano",
              "--count", "1", "--tag-specifications",
              f"ResourceType=instance,Tags=[{{Key=Name,Value={name}}}]",
              "--query", "Instances[0].InstanceId", "--output", "text").stdout.strip()
    assert iid.startswith("i-")
    aws(server, "ec2", "wait", "instance-running", "--instance-ids", iid)
    shown = json.loads(aws(server, "ec2", "describe-instances", "--filters",
                           f"Name=tag:Name,Values={name}", "Name=instance-state-name,"
                           "Values=running", "--query",
                           "Reservations[].Instances[].[InstanceId,State.Name]").stdout)
    assert shown == [[iid, "running"]]
    terminated = json.loads(aws(server, "ec2", "terminate-instances", "--instance-ids", iid,
                                "--query", "TerminatingInstances[0].InstanceId").stdout)
    assert terminated == iid


# ---- across the two APIs ----------------------------------------------------

def test_openstack_cli_server_is_driven_by_boto3(cli, demo):
    name = f"{PREFIX}-oscli"
    created = cli.json("demo", "server", "create", "--image", "nimbus-tiny", "--flavor",
                       "m1.tiny", name)
    # not --wait (checked in test_cli_servers; it sleeps OSC's 5 s poll): the API waits
    wait_for(demo.compute, created["id"], "ACTIVE")
    (inst,) = instances(demo.ec2, Filters=[{"Name": "tag:Name", "Values": [name]}])
    assert inst["State"]["Name"] == "running" and inst["InstanceType"] == "m1.tiny"
    iid = inst["InstanceId"]
    demo.ec2.terminate_instances(InstanceIds=[iid])
    demo.ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=FAST)
    # gone for Nova too (read through the compute API: `server list` is checked below)
    assert show(demo.compute, created["id"]) is None


def test_boto3_instance_is_listed_by_the_openstack_cli(cli, demo, ami):
    (iid,) = run(demo, ami, "for-os")
    (inst,) = instances(demo.ec2, InstanceIds=[iid])
    listed = cli.json("demo", "server", "list", "--name", f"{PREFIX}-for-os")
    (row,) = listed
    assert row["Name"] == f"{PREFIX}-for-os" and row["Status"] == "ACTIVE"
    assert inst["PrivateIpAddress"] in json.dumps(row["Networks"])
    assert row["Flavor"] == "t3.nano"
    demo.ec2.terminate_instances(InstanceIds=[iid])


def test_unnamed_instance_is_named_by_its_id(demo, ami):
    answer = demo.ec2.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1,
                                    MaxCount=1)
    (inst,) = answer["Instances"]
    iid = inst["InstanceId"]
    try:
        assert "Tags" not in inst or inst["Tags"] == []
        servers = demo.compute.ok("GET", f"/servers?name=^{iid}$")["servers"]
        assert [s["name"] for s in servers] == [iid]
    finally:
        demo.ec2.terminate_instances(InstanceIds=[iid])


# ---- ClientToken ----------------------------------------------------------------

def test_client_token_makes_run_instances_idempotent(demo, other, ami):
    token = f"life-{uuid.uuid4().hex}"
    params = {"ImageId": ami, "InstanceType": "t3.nano", "MinCount": 2, "MaxCount": 2,
              "ClientToken": token, "TagSpecifications": [{"ResourceType": "instance", "Tags": [
                  {"Key": "Name", "Value": f"{PREFIX}-token"}, {"Key": "k", "Value": "v"}]}]}
    first = demo.ec2.run_instances(**params)
    again = demo.ec2.run_instances(**params)
    assert again["ReservationId"] == first["ReservationId"]
    ids = [i["InstanceId"] for i in first["Instances"]]
    assert [i["InstanceId"] for i in again["Instances"]] == ids
    assert all({t["Key"] for t in i["Tags"]} == {"Name", "k"} for i in again["Instances"])
    booted = demo.compute.ok("GET", f"/servers?name=^{PREFIX}-token$")["servers"]
    assert len(booted) == 2
    changed = dict(params, InstanceType="t3.micro")
    assert error(demo.ec2.run_instances, **changed) == ("IdempotentParameterMismatch", 400)
    # Tokens are per project: another project's call with it boots its own.
    theirs = other.ec2.run_instances(**params)
    assert {i["InstanceId"] for i in theirs["Instances"]}.isdisjoint(ids)
    other.ec2.terminate_instances(InstanceIds=[i["InstanceId"] for i in theirs["Instances"]])
    demo.ec2.terminate_instances(InstanceIds=ids)
    demo.ec2.get_waiter("instance_terminated").wait(InstanceIds=ids, WaiterConfig=FAST)
    assert error(demo.ec2.run_instances, **params) == ("IdempotentInstanceTerminated", 400)


# ---- launch errors ---------------------------------------------------------------

def test_run_instances_errors(server, demo, ami):
    ec2 = demo.ec2
    base = {"ImageId": ami, "InstanceType": "t3.nano", "MinCount": 1, "MaxCount": 1}

    def refused(**changes) -> tuple[str, int]:
        return error(ec2.run_instances, **{**base, **changes})

    assert refused(ImageId="ami-0123456789abcdef0") == ("InvalidAMIID.NotFound", 400)
    assert refused(ImageId="ami-nothex") == ("InvalidAMIID.Malformed", 400)
    assert refused(ImageId="i-0123456789abcdef0") == ("InvalidAMIID.Malformed", 400)
    assert error(ec2.run_instances, MinCount=1, MaxCount=1) == ("MissingParameter", 400)
    assert refused(InstanceType="x9.huge") == ("InvalidParameterValue", 400)
    assert refused(KeyName=unique("no-key")) == ("InvalidKeyPair.NotFound", 400)
    assert refused(MinCount=3, MaxCount=2) == ("InvalidParameterValue", 400)
    assert refused(MinCount=0, MaxCount=0) == ("InvalidParameterValue", 400)
    assert refused(Placement={"AvailabilityZone": "no-such-zone"}) == \
        ("InvalidParameterValue", 400)
    assert refused(TagSpecifications=[{"ResourceType": "volume", "Tags": [
        {"Key": "a", "Value": "b"}]}]) == ("InvalidParameterValue", 400)
    assert refused(TagSpecifications=[{"ResourceType": "instance", "Tags": [
        {"Key": "aws:x", "Value": "b"}]}]) == ("InvalidParameterValue", 400)
    assert refused(SecurityGroupIds=["sg-0123456789abcdef0"]) == ("InvalidGroup.NotFound", 400)
    assert refused(SecurityGroupIds=["sg-zz"]) == ("InvalidGroupId.Malformed", 400)
    assert refused(SecurityGroups=[unique("no-group")]) == ("InvalidGroup.NotFound", 400)
    assert refused(ClientToken="x" * 65) == ("InvalidParameterValue", 400)
    queued = unique("queued")
    new_image(server, ksa_session(server, "demo", server.password("demo"), "demo"), queued,
              data=None)
    (pending,) = ec2.describe_images(Filters=[{"Name": "name", "Values": [queued]}])["Images"]
    assert pending["State"] == "pending"
    assert refused(ImageId=pending["ImageId"]) == ("InvalidAMIID.Unavailable", 400)
    assert error(ec2.run_instances, DryRun=True, **base) == ("DryRunOperation", 412)
    assert demo.compute.ok("GET", f"/servers?name=^{PREFIX}-never")["servers"] == []


def test_quota_partial_fill_and_limits(admin, other, ami):
    admin.ok("PUT", f"/os-quota-sets/{other.id}", {"quota_set": {"instances": 2}})
    try:
        assert error(other.ec2.run_instances, ImageId=ami, InstanceType="t3.nano",
                     MinCount=3, MaxCount=4) == ("InstanceLimitExceeded", 400)
        got = other.ec2.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1,
                                      MaxCount=4, TagSpecifications=[{
                                          "ResourceType": "instance", "Tags": [
                                              {"Key": "Name", "Value": f"{PREFIX}-fill"}]}])
        ids = [i["InstanceId"] for i in got["Instances"]]
        assert len(ids) == 2  # Nova's partial fill: as many as the quota allows
        other.ec2.terminate_instances(InstanceIds=ids)
        other.ec2.get_waiter("instance_terminated").wait(InstanceIds=ids, WaiterConfig=FAST)
        admin.ok("PUT", f"/os-quota-sets/{other.id}", {"quota_set": {"instances": 10,
                                                                     "cores": 1}})
        assert error(other.ec2.run_instances, ImageId=ami, InstanceType="t3.medium",
                     MinCount=1, MaxCount=1) == ("VcpuLimitExceeded", 400)
    finally:
        admin.ok("PUT", f"/os-quota-sets/{other.id}", {"quota_set": {"instances": 10,
                                                                     "cores": 20}})


# ---- actions: all or nothing, states, errors ----------------------------------------

def test_actions_are_all_or_nothing(demo, other, ami):
    (iid,) = run(demo, ami, "aon")
    for call in (demo.ec2.stop_instances, demo.ec2.terminate_instances,
                 demo.ec2.reboot_instances, demo.ec2.start_instances):
        assert error(call, InstanceIds=[iid, MISSING]) == ("InvalidInstanceID.NotFound", 400)
        assert error(call, InstanceIds=[iid, "i-nothex"]) == \
            ("InvalidInstanceID.Malformed", 400)
    assert state(demo.ec2, iid) == "running"
    # Another project's instance does not exist for this one.
    assert error(other.ec2.stop_instances, InstanceIds=[iid]) == \
        ("InvalidInstanceID.NotFound", 400)
    assert error(other.ec2.terminate_instances, InstanceIds=[iid]) == \
        ("InvalidInstanceID.NotFound", 400)
    assert error(other.ec2.get_console_output, InstanceId=iid) == \
        ("InvalidInstanceID.NotFound", 400)
    assert error(other.ec2.describe_instance_attribute, InstanceId=iid,
                 Attribute="instanceType") == ("InvalidInstanceID.NotFound", 400)
    assert error(other.ec2.modify_instance_attribute, InstanceId=iid,
                 InstanceType={"Value": "t3.small"}) == ("InvalidInstanceID.NotFound", 400)
    assert state(demo.ec2, iid) == "running"

    # Running: no instance type change; nor unknown / unsupported attributes.
    assert error(demo.ec2.modify_instance_attribute, InstanceId=iid,
                 InstanceType={"Value": "t3.small"}) == ("IncorrectInstanceState", 400)
    assert error(demo.ec2.modify_instance_attribute, InstanceId=iid,
                 SourceDestCheck={"Value": False}) == ("UnsupportedOperation", 400)
    assert error(demo.ec2.modify_instance_attribute, InstanceId=iid,
                 InstanceType={"Value": "t3.small"},
                 DisableApiTermination={"Value": True}) == ("InvalidParameterCombination", 400)
    assert error(demo.ec2.describe_instance_attribute, InstanceId=iid,
                 Attribute="noSuchThing") == ("InvalidParameterValue", 400)

    # A lock is disableApiTermination (and disableApiStop).
    demo.ec2.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": True})
    assert demo.ec2.describe_instance_attribute(
        InstanceId=iid, Attribute="disableApiTermination")["DisableApiTermination"] == \
        {"Value": True}
    assert error(demo.ec2.terminate_instances, InstanceIds=[iid]) == \
        ("OperationNotPermitted", 400)
    assert error(demo.ec2.stop_instances, InstanceIds=[iid]) == ("OperationNotPermitted", 400)
    demo.ec2.modify_instance_attribute(InstanceId=iid, Attribute="disableApiTermination",
                                       Value="false")
    demo.ec2.stop_instances(InstanceIds=[iid])
    demo.ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=FAST)
    assert error(demo.ec2.modify_instance_attribute, InstanceId=iid,
                 InstanceType={"Value": "x9.huge"}) == ("InvalidParameterValue", 400)
    assert error(demo.ec2.reboot_instances, InstanceIds=[iid]) == \
        ("IncorrectInstanceState", 400)
    console = demo.ec2.get_console_output(InstanceId=iid)
    assert console["InstanceId"] == iid
    demo.ec2.terminate_instances(InstanceIds=[iid])


def test_failed_resize_and_failed_build(admin, other, ami):
    admin.ok("PUT", f"/os-quota-sets/{other.id}", {"quota_set": {"ram": -1}})
    flavor = unique("life-huge")
    admin.ok("POST", "/flavors", {"flavor": {"name": flavor, "id": flavor,
                                             "ram": 10 ** 6, "vcpus": 1, "disk": 8}})
    try:
        (iid,) = run(other, ami, "resize-fail")
        other.ec2.stop_instances(InstanceIds=[iid])
        other.ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=FAST)
        assert error(other.ec2.modify_instance_attribute, InstanceId=iid,
                     InstanceType={"Value": flavor}) == ("InsufficientInstanceCapacity", 400)
        (inst,) = instances(other.ec2, InstanceIds=[iid])
        assert inst["State"]["Name"] == "stopped" and inst["InstanceType"] == "t3.nano"
        # A build no host can take ends terminated: nothing to start or stop.
        (doomed,) = run(other, ami, "doomed", wait=False, InstanceType=flavor)
        sid = server_of(other, doomed)["id"]
        wait_for(other.compute, sid, "ERROR")
        assert state(other.ec2, doomed) == "terminated"
        assert error(other.ec2.start_instances, InstanceIds=[doomed]) == \
            ("IncorrectInstanceState", 400)
        assert error(other.ec2.stop_instances, InstanceIds=[doomed]) == \
            ("IncorrectInstanceState", 400)
        other.ec2.terminate_instances(InstanceIds=[iid, doomed])
        other.ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid, doomed],
                                                         WaiterConfig=FAST)
    finally:
        admin("DELETE", f"/flavors/{flavor}")


def test_describe_instance_status(demo, ami):
    running, stopped = run(demo, ami, "status", MinCount=2, MaxCount=2)
    demo.ec2.stop_instances(InstanceIds=[stopped])
    demo.ec2.get_waiter("instance_stopped").wait(InstanceIds=[stopped], WaiterConfig=FAST)
    ec2 = demo.ec2
    default = {s["InstanceId"] for s in ec2.describe_instance_status()["InstanceStatuses"]}
    assert running in default and stopped not in default
    every = ec2.describe_instance_status(InstanceIds=[running, stopped],
                                         IncludeAllInstances=True)["InstanceStatuses"]
    by_id = {s["InstanceId"]: s for s in every}
    assert by_id[stopped]["InstanceState"] == {"Code": 80, "Name": "stopped"}
    assert by_id[stopped]["InstanceStatus"]["Status"] == "not-applicable"
    ok = by_id[running]
    assert ok["InstanceStatus"] == {"Status": "ok", "Details": [
        {"Name": "reachability", "Status": "passed"}]}
    zone = ok["AvailabilityZone"]

    def found(**filters) -> set[str]:
        answer = ec2.describe_instance_status(IncludeAllInstances=True, Filters=[
            {"Name": k, "Values": [v]} for k, v in filters.items()])
        return {s["InstanceId"] for s in answer["InstanceStatuses"]}

    assert stopped in found(**{"instance-state-name": "stopped"})
    assert running not in found(**{"instance-state-name": "stopped"})
    assert running in found(**{"instance-state-code": "16"})
    assert {running, stopped} <= found(**{"availability-zone": zone})
    assert running in found(**{"instance-status.status": "ok"})
    assert stopped in found(**{"system-status.status": "not-applicable"})
    assert running not in found(**{"system-status.status": "impaired"})
    assert error(ec2.describe_instance_status, InstanceIds=[running], MaxResults=5) == \
        ("InvalidParameterCombination", 400)
    assert error(ec2.describe_instance_status, Filters=[{"Name": "bogus", "Values": ["x"]}]) \
        == ("InvalidParameterValue", 400)
    assert error(ec2.describe_instance_status, InstanceIds=[MISSING]) == \
        ("InvalidInstanceID.NotFound", 400)
    ec2.terminate_instances(InstanceIds=[running, stopped])


# ---- DryRun -----------------------------------------------------------------------

def test_dry_run_does_nothing_and_is_refused_by_policy(server, demo, ami):
    (iid,) = run(demo, ami, "dry")
    ec2 = demo.ec2
    calls = [
        (ec2.run_instances, {"ImageId": ami, "MinCount": 1, "MaxCount": 1}),
        (ec2.start_instances, {"InstanceIds": [iid]}),
        (ec2.stop_instances, {"InstanceIds": [iid]}),
        (ec2.reboot_instances, {"InstanceIds": [iid]}),
        (ec2.terminate_instances, {"InstanceIds": [iid]}),
        (ec2.modify_instance_attribute, {"InstanceId": iid,
                                         "InstanceType": {"Value": "t3.small"}}),
        (ec2.get_console_output, {"InstanceId": iid}),
    ]
    for call, params in calls:
        assert error(call, DryRun=True, **params) == ("DryRunOperation", 412)
    assert state(ec2, iid) == "running"
    policy: Path = server.data_dir / "policy.yaml"
    rules = ["os_compute_api:servers:create", "os_compute_api:servers:start",
             "os_compute_api:servers:stop", "os_compute_api:servers:reboot",
             "os_compute_api:servers:delete", "os_compute_api:servers:resize",
             "os_compute_api:os-console-output"]
    policy.write_text(json.dumps(dict.fromkeys(rules, "role:admin")))
    try:
        for call, params in calls:
            assert error(call, DryRun=True, **params) == ("UnauthorizedOperation", 403)
        assert error(ec2.stop_instances, InstanceIds=[iid]) == ("UnauthorizedOperation", 403)
    finally:
        policy.unlink()
    assert state(ec2, iid) == "running"
    ec2.terminate_instances(InstanceIds=[iid])
