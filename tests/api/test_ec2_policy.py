"""Policy through EC2: a user with only the ``reader`` role in the demo project,
signing with an EC2 credential of its own, sees what the project has and changes
nothing — every mutating call answers UnauthorizedOperation (403), with DryRun
and without, whatever state its object is in (permission is checked before
state, as AWS does), and leaves no trace."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from keystoneauth1.exceptions import Forbidden

from tests.conftest import ksa_session, unique
from tests.support.compute_api import delete_all
from tests.support.ec2 import FAST, client, error, instances, new_credential, new_image

pytestmark = pytest.mark.usefixtures("no_server_errors")
REFUSED = ("UnauthorizedOperation", 403)


@pytest.fixture(scope="module")
def ident(admin_session, identity_url):
    """The Identity API as the admin."""
    def call(method: str, path: str, body: dict | None = None) -> dict:
        r = admin_session.request(f"{identity_url}{path}", method, json=body)
        return r.json() if r.content else {}
    return call


def answer(call, **kwargs) -> tuple[str, int]:
    """The EC2 error code and HTTP status of a call, ("", 200) for a success."""
    try:
        call(**kwargs)
    except ClientError as exc:
        return exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"]
    return "", 200


def new_user(ident, project: str, role: str) -> tuple[dict, dict, dict]:
    """A user with ``role`` on ``project`` and an EC2 credential there (made by the
    admin); returns the user, the credential and the role ids by name."""
    user = ident("POST", "/users", {"user": {"name": unique(f"ec2-{role}"),
                                             "domain_id": "default",
                                             "password": "pw-ec2-policy"}})["user"]
    roles = {r["name"]: r["id"] for r in ident("GET", "/roles")["roles"]}
    ident("PUT", f"/projects/{project}/users/{user['id']}/roles/{roles[role]}")
    cred = ident("POST", f"/users/{user['id']}/credentials/OS-EC2",
                 {"tenant_id": project})["credential"]
    return user, cred, roles


@pytest.fixture(scope="module")
def reader(server, ident, identity_url, endpoint, demo_session):
    """boto3 for a reader of the demo project."""
    user, cred, _ = new_user(ident, demo_session.get_project_id(), "reader")
    # A reader may not make EC2 credentials itself (identity:ec2_create_credential).
    with pytest.raises(Forbidden, match="ec2_create_credential"):
        new_credential(ksa_session(server, user["name"], "pw-ec2-policy", "demo"),
                       identity_url)
    return client(endpoint, (cred["access"], cred["secret"]))


@pytest.fixture(scope="module")
def group(demo):
    """A security group of the demo project (made by a member)."""
    name = unique("ec2-policy")
    group_id = demo.ec2.create_security_group(GroupName=name, Description="d")["GroupId"]
    yield group_id
    demo.ec2.delete_security_group(GroupId=group_id)


def test_reader_sees_the_project(reader, demo, group):
    names = {g["GroupId"] for g in reader.describe_security_groups()["SecurityGroups"]}
    assert group in names
    assert reader.describe_addresses()["Addresses"] == demo.ec2.describe_addresses()[
        "Addresses"]
    assert "Reservations" in reader.describe_instances()


@pytest.mark.parametrize("dry_run", [True, False])
def test_reader_changes_nothing(reader, demo, group, dry_run):
    name = unique("by-reader")
    calls = [
        (reader.create_security_group, {"GroupName": name, "Description": "d"}),
        (reader.authorize_security_group_ingress, {
            "GroupId": group, "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22,
                                                 "ToPort": 22,
                                                 "IpRanges": [{"CidrIp": "10.9.0.0/16"}]}]}),
        (reader.delete_security_group, {"GroupId": group}),
        (reader.allocate_address, {"Domain": "vpc"}),
    ]
    addresses = demo.ec2.describe_addresses()["Addresses"]
    for call, kwargs in calls:
        assert error(call, DryRun=dry_run, **kwargs) == REFUSED, call.__name__
    groups = demo.ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]
    assert [p for p in groups[0]["IpPermissions"]
            if p.get("FromPort") == 22] == []
    assert name not in {g["GroupName"] for g in
                        demo.ec2.describe_security_groups()["SecurityGroups"]}
    assert demo.ec2.describe_addresses()["Addresses"] == addresses


@pytest.fixture(scope="module")
def objects(server, demo, demo_session):
    """The demo project's objects in the states where a call has nothing to do:
    instances running, stopped and terminated (by a member), a private image
    with no launch permissions, an address associated with nothing."""
    prefix = unique("ec2-policy-state")
    (ami,) = [i["ImageId"] for i in demo.ec2.describe_images(
        Filters=[{"Name": "name", "Values": ["nimbus-tiny"]}])["Images"]]
    ids = {}
    for name in ("running", "stopped", "terminated"):
        (ids[name],) = [i["InstanceId"] for i in demo.ec2.run_instances(
            ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [
                {"Key": "Name", "Value": f"{prefix}-{name}"}]}])["Instances"]]
    demo.ec2.get_waiter("instance_running").wait(InstanceIds=list(ids.values()),
                                                 WaiterConfig=FAST)
    demo.ec2.stop_instances(InstanceIds=[ids["stopped"]])
    demo.ec2.terminate_instances(InstanceIds=[ids["terminated"]])
    demo.ec2.get_waiter("instance_stopped").wait(InstanceIds=[ids["stopped"]],
                                                 WaiterConfig=FAST)
    demo.ec2.get_waiter("instance_terminated").wait(InstanceIds=[ids["terminated"]],
                                                    WaiterConfig=FAST)
    image_name = f"{prefix}-image"
    new_image(server, demo_session, image_name, visibility="private")
    (ids["image"],) = [i["ImageId"] for i in demo.ec2.describe_images(
        Filters=[{"Name": "name", "Values": [image_name]}])["Images"]]
    ids["image_source"] = ami
    address = demo.ec2.allocate_address(Domain="vpc")
    ids["address"], ids["allocation"] = address["PublicIp"], address["AllocationId"]
    yield ids
    demo.ec2.release_address(AllocationId=ids["allocation"])
    demo.ec2.deregister_image(ImageId=ids["image"])
    listed = demo.compute.ok("GET", f"/servers?name=^{prefix}")["servers"]
    delete_all(demo.compute, [s["id"] for s in listed])


def test_reader_is_refused_whatever_the_state(reader, demo, objects):
    """Each call here would have nothing to do (an instance already running,
    stopped or terminated, an image already without launch permissions, ...) or
    would fail on the object's state: a reader is refused all the same, and
    before anything is looked at."""
    running, stopped, gone = objects["running"], objects["stopped"], objects["terminated"]
    image = objects["image"]
    calls = [
        (reader.start_instances, {"InstanceIds": [running]}),
        (reader.stop_instances, {"InstanceIds": [stopped]}),
        (reader.terminate_instances, {"InstanceIds": [gone]}),
        (reader.reboot_instances, {"InstanceIds": [stopped]}),
        (reader.start_instances, {"InstanceIds": [gone]}),
        (reader.modify_instance_attribute, {"InstanceId": running,
                                            "DisableApiTermination": {"Value": False}}),
        (reader.reset_image_attribute, {"ImageId": image, "Attribute": "launchPermission"}),
        (reader.modify_image_attribute, {"ImageId": image, "LaunchPermission": {
            "Remove": [{"UserId": "0123456789ab"}]}}),
        (reader.delete_tags, {"Resources": [running], "Tags": [{"Key": "no-such-tag"}]}),
        (reader.disassociate_address, {"PublicIp": objects["address"]}),
        (reader.run_instances, {"ImageId": "ami-0123456789abcdef0", "MinCount": 1,
                                "MaxCount": 1}),
        (reader.create_image, {"InstanceId": gone, "Name": unique("by-reader")}),
        (reader.stop_instances, {"InstanceIds": ["i-0123456789abcdef0"]}),
    ]
    answers = [(call.__name__, kwargs, answer(call, **kwargs)) for call, kwargs in calls]
    wrong = [a for a in answers if a[2] != REFUSED]
    assert not wrong, "\n".join(map(str, wrong))
    states = {i["InstanceId"]: i["State"]["Name"]
              for i in instances(demo.ec2, InstanceIds=[running, stopped, gone])}
    assert states == {running: "running", stopped: "stopped", gone: "terminated"}


def test_the_caller_is_read_at_each_call(ident, endpoint):
    """No token is kept between calls: a role granted or taken, a user or project
    disabled, counts from the next call on (AuthFailure when nothing is left)."""
    project = ident("POST", "/projects", {"project": {"name": unique("ec2-live"),
                                                      "domain_id": "default"}})["project"]
    user, cred, roles = new_user(ident, project["id"], "reader")
    ec2 = client(endpoint, (cred["access"], cred["secret"]))
    grant = f"/projects/{project['id']}/users/{user['id']}/roles/{roles['member']}"
    assert error(ec2.allocate_address, Domain="vpc") == REFUSED
    ident("PUT", grant)
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ident("DELETE", grant)
    assert error(ec2.release_address, AllocationId=allocation) == REFUSED
    ident("PUT", grant)
    ec2.release_address(AllocationId=allocation)
    ident("PATCH", f"/users/{user['id']}", {"user": {"enabled": False}})
    assert error(ec2.describe_addresses) == ("AuthFailure", 401)
    ident("PATCH", f"/users/{user['id']}", {"user": {"enabled": True}})
    assert ec2.describe_addresses()["Addresses"] == []
    ident("PATCH", f"/projects/{project['id']}", {"project": {"enabled": False}})
    assert error(ec2.describe_addresses) == ("AuthFailure", 401)
    ident("PATCH", f"/projects/{project['id']}", {"project": {"enabled": True}})
    for role in ("member", "reader"):
        ident("DELETE", f"/projects/{project['id']}/users/{user['id']}/roles/{roles[role]}")
    assert error(ec2.describe_addresses) == ("AuthFailure", 401)
