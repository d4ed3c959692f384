"""Attaching EBS volumes through boto3, and the same volumes through
openstacksdk: AttachVolume with the ``volume_in_use`` waiter, the volume in
DescribeInstances' BlockDeviceMappings, the errors of a volume in use
(attach again, delete), DetachVolume back to ``available``; a volume made
with boto3 seen by openstacksdk's block-storage proxy, and one made with
openstacksdk seen (and attached) by boto3."""

from __future__ import annotations

import pytest

from tests.conftest import unique
from tests.support.compute_api import delete_all, wait_for
from tests.support.ec2 import error, instances, new_project

WAIT = {"Delay": 0.5, "MaxAttempts": 120}
ZONE = "nova"

pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.fixture(scope="module")
def project(server, admin_session, endpoint):
    return new_project(server, admin_session, endpoint, "ec2att")


@pytest.fixture(scope="module")
def instance(project, image):
    """An ACTIVE server of the project: (uuid, EC2 id)."""
    name = unique("ec2att")
    made = project.compute.ok("POST", "/servers", {"server": {
        "name": name, "imageRef": image, "flavorRef": "1"}}, status=202)["server"]
    wait_for(project.compute, made["id"], "ACTIVE")
    (inst,) = instances(project.ec2, Filters=[{"Name": "tag:Name", "Values": [name]}])
    yield made["id"], inst["InstanceId"]
    delete_all(project.compute, [made["id"]])


@pytest.fixture(scope="module")
def sdk(project):
    import openstack.connection
    return openstack.connection.Connection(session=project.session)


def new_volume(ec2, size: int = 1) -> str:
    volume_id = ec2.create_volume(Size=size, AvailabilityZone=ZONE)["VolumeId"]
    ec2.get_waiter("volume_available").wait(VolumeIds=[volume_id], WaiterConfig=WAIT)
    return volume_id


def test_attach_detach(project, instance):
    ec2 = project.ec2
    uuid, instance_id = instance
    volume_id = new_volume(ec2)
    try:
        att = ec2.attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device="/dev/sdf")
        assert (att["VolumeId"], att["InstanceId"], att["Device"]) == \
            (volume_id, instance_id, "/dev/sdf")
        assert att["State"] == "attaching" and att["DeleteOnTermination"] is False
        ec2.get_waiter("volume_in_use").wait(VolumeIds=[volume_id], WaiterConfig=WAIT)
        (vol,) = ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"]
        (shown,) = vol["Attachments"]
        assert (shown["InstanceId"], shown["Device"]) == (instance_id, "/dev/sdf")
        hits = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id",
                                              "Values": [instance_id]}])
        assert [v["VolumeId"] for v in hits["Volumes"]] == [volume_id]
        _wait_attached(ec2, volume_id)
        (inst,) = instances(ec2, InstanceIds=[instance_id])
        mapped = {m["DeviceName"]: m["Ebs"] for m in inst["BlockDeviceMappings"]}
        assert mapped["/dev/sdf"]["VolumeId"] == volume_id
        assert mapped["/dev/sdf"]["Status"] == "attached"
        assert inst["RootDeviceType"] == "instance-store"
        # the compute API lists it too, under Nova's device name
        listed = project.compute.ok("GET", f"/servers/{uuid}/os-volume_attachments")
        assert [a["volumeId"] for a in listed["volumeAttachments"]] != []
        # in use: no second attach, no delete
        code, status = error(ec2.attach_volume, VolumeId=volume_id, InstanceId=instance_id,
                             Device="/dev/sdg")
        assert status == 400 and code in ("VolumeInUse", "IncorrectState")
        assert error(ec2.delete_volume, VolumeId=volume_id) == ("VolumeInUse", 400)
        other = new_volume(ec2)
        try:
            assert error(ec2.attach_volume, VolumeId=other, InstanceId=instance_id,
                         Device="/dev/sdf")[0] == "InvalidParameterValue"
        finally:
            ec2.delete_volume(VolumeId=other)
        detached = ec2.detach_volume(VolumeId=volume_id)
        assert detached["State"] == "detaching" and detached["InstanceId"] == instance_id
        ec2.get_waiter("volume_available").wait(VolumeIds=[volume_id], WaiterConfig=WAIT)
        assert error(ec2.detach_volume, VolumeId=volume_id) == ("IncorrectState", 400)
    finally:
        ec2.get_waiter("volume_available").wait(VolumeIds=[volume_id], WaiterConfig=WAIT)
        ec2.delete_volume(VolumeId=volume_id)
        ec2.get_waiter("volume_deleted").wait(VolumeIds=[volume_id], WaiterConfig=WAIT)


def _wait_attached(ec2, volume_id: str) -> None:
    import time
    for _ in range(120):
        (vol,) = ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"]
        if vol["Attachments"] and vol["Attachments"][0]["State"] == "attached":
            return
        time.sleep(0.25)
    raise AssertionError(f"{volume_id} not attached: {vol}")


def test_attach_errors(project, instance):
    ec2 = project.ec2
    _, instance_id = instance
    assert error(ec2.attach_volume, VolumeId="vol-0123456789abcdef0", InstanceId=instance_id,
                 Device="/dev/sdf")[0] == "InvalidVolume.NotFound"
    volume_id = new_volume(ec2)
    try:
        assert error(ec2.attach_volume, VolumeId=volume_id,
                     InstanceId="i-0123456789abcdef0",
                     Device="/dev/sdf")[0] == "InvalidInstanceID.NotFound"
        assert error(ec2.attach_volume, VolumeId=volume_id, InstanceId="i-bad",
                     Device="/dev/sdf")[0] == "InvalidInstanceID.Malformed"
        assert error(ec2.attach_volume, VolumeId=volume_id, InstanceId=instance_id,
                     Device="bogus")[0] == "InvalidParameterValue"
    finally:
        ec2.delete_volume(VolumeId=volume_id)


def test_boto3_volume_seen_by_openstacksdk(project, sdk, instance):
    """Made with boto3, attached through the compute API: boto3 shows it in use
    under Nova's device name."""
    ec2 = project.ec2
    uuid, instance_id = instance
    volume_id = new_volume(ec2, size=2)
    try:
        (volume,) = list(sdk.block_storage.volumes())
        assert (volume.size, volume.status) == (2, "available")
        project.compute.ok("POST", f"/servers/{uuid}/os-volume_attachments",
                           {"volumeAttachment": {"volumeId": volume.id}})
        ec2.get_waiter("volume_in_use").wait(VolumeIds=[volume_id], WaiterConfig=WAIT)
        _wait_attached(ec2, volume_id)
        (vol,) = ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"]
        (att,) = vol["Attachments"]
        assert att["InstanceId"] == instance_id and att["Device"].startswith("/dev/vd")
        ec2.detach_volume(VolumeId=volume_id, InstanceId=instance_id)
        ec2.get_waiter("volume_available").wait(VolumeIds=[volume_id], WaiterConfig=WAIT)
    finally:
        ec2.delete_volume(VolumeId=volume_id)
        ec2.get_waiter("volume_deleted").wait(VolumeIds=[volume_id], WaiterConfig=WAIT)


def test_openstacksdk_volume_seen_by_boto3(project, sdk, instance):
    ec2 = project.ec2
    _, instance_id = instance
    volume = sdk.block_storage.create_volume(size=3, name=unique("sdkvol"))
    sdk.block_storage.wait_for_status(volume, "available", interval=0.3, wait=60)
    try:
        (vol,) = ec2.describe_volumes(Filters=[{"Name": "size", "Values": ["3"]}])["Volumes"]
        assert vol["State"] == "available" and vol["Size"] == 3
        ec2.attach_volume(VolumeId=vol["VolumeId"], InstanceId=instance_id, Device="/dev/sdh")
        ec2.get_waiter("volume_in_use").wait(VolumeIds=[vol["VolumeId"]], WaiterConfig=WAIT)
        _wait_attached(ec2, vol["VolumeId"])
        shown = sdk.block_storage.get_volume(volume.id)
        assert shown.status == "in-use"
        ec2.detach_volume(VolumeId=vol["VolumeId"])
        ec2.get_waiter("volume_available").wait(VolumeIds=[vol["VolumeId"]],
                                                WaiterConfig=WAIT)
    finally:
        sdk.block_storage.delete_volume(volume.id)


def test_run_instances_with_block_devices(project, image):
    """An EBS root volume made from the image and a blank data volume kept at
    termination: both attached at launch, shown in BlockDeviceMappings; the
    root volume goes with the instance, the other stays, available."""
    ec2 = project.ec2
    ami = _ami(ec2, image)
    run = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, BlockDeviceMappings=[
        {"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 1}},
        {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 1, "DeleteOnTermination": False}},
        {"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"}])
    instance_id = run["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig=WAIT)
    (inst,) = instances(ec2, InstanceIds=[instance_id])
    assert inst["RootDeviceType"] == "ebs" and inst["RootDeviceName"] == "/dev/sda1"
    mapped = {m["DeviceName"]: m["Ebs"] for m in inst["BlockDeviceMappings"]}
    assert set(mapped) == {"/dev/sda1", "/dev/sdf"}
    assert mapped["/dev/sda1"]["DeleteOnTermination"] is True
    assert mapped["/dev/sdf"]["DeleteOnTermination"] is False
    root, data = mapped["/dev/sda1"]["VolumeId"], mapped["/dev/sdf"]["VolumeId"]
    hits = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id",
                                          "Values": [instance_id]}])["Volumes"]
    assert {v["VolumeId"] for v in hits} == {root, data}
    assert all(v["State"] == "in-use" for v in hits)
    ebs = instances(ec2, Filters=[{"Name": "root-device-type", "Values": ["ebs"]},
                                  {"Name": "block-device-mapping.volume-id",
                                   "Values": [data]}])
    assert [i["InstanceId"] for i in ebs] == [instance_id]
    ec2.terminate_instances(InstanceIds=[instance_id])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[instance_id], WaiterConfig=WAIT)
    ec2.get_waiter("volume_deleted").wait(VolumeIds=[root], WaiterConfig=WAIT)
    ec2.get_waiter("volume_available").wait(VolumeIds=[data], WaiterConfig=WAIT)
    ec2.delete_volume(VolumeId=data)
    # bad mappings: nothing launched
    for mapping, code in (
            ({"DeviceName": "/dev/sdg", "Ebs": {}}, "InvalidBlockDeviceMapping"),
            ({"DeviceName": "/dev/sdg", "Ebs": {"SnapshotId": "snap-0123456789abcdef0"}},
             "InvalidSnapshot.NotFound"),
            ({"DeviceName": "/dev/sdg", "Ebs": {"SnapshotId": "snap-x"}},
             "InvalidSnapshotID.Malformed")):
        assert error(ec2.run_instances, ImageId=ami, MinCount=1, MaxCount=1,
                     BlockDeviceMappings=[mapping])[0] == code


def _ami(ec2, image_uuid: str) -> str:
    """The image's ami- ID, as DescribeImages shows it."""
    for found in ec2.describe_images()["Images"]:
        if found["Name"] == "nimbus-tiny":
            return found["ImageId"]
    raise AssertionError(f"no AMI for {image_uuid}")
