"""EBS-backed AMIs with boto3: RegisterImage from a snapshot (the image's
block device mapping in Nova's format), DescribeImages (``ebs``, its
mappings, the ``root-device-type`` filter), RunInstances of it (a volume made
from the snapshot is the root disk, deleted with the instance) and
openstacksdk booting the same image; bad mappings answer EC2's errors and
leave no image behind."""

from __future__ import annotations

import json

import pytest

from tests.conftest import unique
from tests.support.compute_api import delete_all, wait_for
from tests.support.ec2 import error, instances, new_project

WAIT = {"Delay": 0.5, "MaxAttempts": 120}
ZONE = "nova"

pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.fixture(scope="module")
def project(server, admin_session, endpoint):
    return new_project(server, admin_session, endpoint, "ec2ebsami")


@pytest.fixture(scope="module")
def snapshot(project):
    """A completed snapshot of a 1 GiB volume: its snap- ID."""
    ec2 = project.ec2
    volume_id = ec2.create_volume(Size=1, AvailabilityZone=ZONE)["VolumeId"]
    ec2.get_waiter("volume_available").wait(VolumeIds=[volume_id], WaiterConfig=WAIT)
    snap_id = ec2.create_snapshot(VolumeId=volume_id)["SnapshotId"]
    ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[snap_id], WaiterConfig=WAIT)
    return snap_id


@pytest.fixture(scope="module")
def ami(project, snapshot):
    ec2 = project.ec2
    name = unique("ebs-ami")
    ami = ec2.register_image(Name=name, RootDeviceName="/dev/sda1", BlockDeviceMappings=[
        {"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": snapshot, "VolumeSize": 2}},
        {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 1, "DeleteOnTermination": False}},
        {"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"}])["ImageId"]
    ec2.get_waiter("image_available").wait(ImageIds=[ami], WaiterConfig=WAIT)
    return ami


def _glance(project, server, ami: str) -> dict:
    found = project.session.get(f"{server.url}/image/v2/images").json()["images"]
    (image,) = [i for i in found if i["name"] == project.ec2.describe_images(
        ImageIds=[ami])["Images"][0]["Name"]]
    return image


def test_register_describe_ebs_ami(project, server, ami, snapshot):
    ec2 = project.ec2
    (image,) = ec2.describe_images(ImageIds=[ami])["Images"]
    assert image["State"] == "available" and image["RootDeviceType"] == "ebs"
    assert image["RootDeviceName"] == "/dev/sda1"
    mapped = {m["DeviceName"]: m["Ebs"] for m in image["BlockDeviceMappings"]}
    assert set(mapped) == {"/dev/sda1", "/dev/sdf"}
    assert mapped["/dev/sda1"]["SnapshotId"] == snapshot
    assert mapped["/dev/sda1"]["VolumeSize"] == 2
    assert mapped["/dev/sda1"]["DeleteOnTermination"] is True
    assert mapped["/dev/sdf"] == {"DeleteOnTermination": False, "VolumeSize": 1,
                                  "VolumeType": "standard", "Encrypted": False}
    hits = ec2.describe_images(Filters=[{"Name": "root-device-type", "Values": ["ebs"]}])
    assert ami in {i["ImageId"] for i in hits["Images"]}
    # the image service's side: Nova's format
    glance = _glance(project, server, ami)
    assert glance["status"] == "active" and glance["size"] == 0
    assert glance["bdm_v2"] == "True" and glance["root_device_name"] == "/dev/sda1"
    bdm = json.loads(glance["block_device_mapping"])
    root = next(m for m in bdm if m["boot_index"] == 0)
    assert root["source_type"] == "snapshot" and root["destination_type"] == "volume"
    assert root["volume_size"] == 2 and root["delete_on_termination"] is True
    assert root["device_name"] == "/dev/sda1"
    assert len(root["snapshot_id"]) == 36  # Cinder's snapshot UUID
    other = next(m for m in bdm if m["boot_index"] != 0)
    assert other["source_type"] == "blank" and other["volume_size"] == 1


def test_run_instances_of_an_ebs_ami_boots_from_a_volume(project, ami, snapshot):
    ec2 = project.ec2
    run = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1)
    instance_id = run["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig=WAIT)
    (inst,) = instances(ec2, InstanceIds=[instance_id])
    assert inst["RootDeviceType"] == "ebs" and inst["ImageId"] == ami
    mapped = {m["DeviceName"]: m["Ebs"] for m in inst["BlockDeviceMappings"]}
    assert set(mapped) == {"/dev/sda1", "/dev/sdf"}, mapped
    root, data = mapped["/dev/sda1"]["VolumeId"], mapped["/dev/sdf"]["VolumeId"]
    (vol,) = ec2.describe_volumes(VolumeIds=[root])["Volumes"]
    assert vol["SnapshotId"] == snapshot and vol["Size"] == 2 and vol["State"] == "in-use"
    ec2.terminate_instances(InstanceIds=[instance_id])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[instance_id], WaiterConfig=WAIT)
    ec2.get_waiter("volume_deleted").wait(VolumeIds=[root], WaiterConfig=WAIT)
    ec2.get_waiter("volume_available").wait(VolumeIds=[data], WaiterConfig=WAIT)
    ec2.delete_volume(VolumeId=data)


def test_openstack_server_create_of_an_ebs_ami(project, server, ami, snapshot):
    image = _glance(project, server, ami)
    made = project.compute.ok("POST", "/servers", {"server": {
        "name": unique("ebsvm"), "imageRef": image["id"], "flavorRef": "1"}}, status=202)["server"]
    try:
        wait_for(project.compute, made["id"], "ACTIVE")
        listed = project.compute.ok("GET", f"/servers/{made['id']}/os-volume_attachments")
        devices = {a["device"]: a["volumeId"] for a in listed["volumeAttachments"]}
        assert "/dev/vda" in devices, devices
        import openstack.connection
        conn = openstack.connection.Connection(session=project.session)
        root = conn.block_storage.get_volume(devices["/dev/vda"])
        assert root.size == 2 and root.snapshot_id and root.status == "in-use"
    finally:
        delete_all(project.compute, [made["id"]])


def test_bad_mappings_are_ec2_errors_and_make_nothing(project, server, snapshot):
    ec2 = project.ec2
    before = len(project.session.get(f"{server.url}/image/v2/images").json()["images"])
    name = unique("bad-ami")
    for mappings, code in (
            ([{"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": snapshot, "VolumeSize": 0}}],
             "InvalidBlockDeviceMapping"),
            ([{"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": "snap-0123456789abcdef0"}}],
             "InvalidSnapshot.NotFound"),
            ([{"DeviceName": "/dev/sdf", "Ebs": {"SnapshotId": snapshot}}],
             "InvalidParameterValue"),  # no root mapping
            ([{"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": snapshot}},
              {"DeviceName": "sda1", "Ebs": {"VolumeSize": 1}}],
             "InvalidBlockDeviceMapping"),  # twice
            ([{"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": snapshot}},
              {"DeviceName": "/dev/sdg", "Ebs": {}}], "InvalidBlockDeviceMapping")):
        assert error(ec2.register_image, Name=name, RootDeviceName="/dev/sda1",
                     BlockDeviceMappings=mappings) == (code, 400), mappings
    assert len(project.session.get(f"{server.url}/image/v2/images").json()["images"]) \
        == before
