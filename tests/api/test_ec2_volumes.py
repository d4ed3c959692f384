"""EBS volumes through boto3: CreateVolume (ClientToken, tags, from a snapshot)
with the ``volume_available`` waiter, DescribeVolumes (filters, paging,
DescribeVolumeStatus, DescribeVolumeAttribute), ModifyVolume, DeleteVolume
with the ``volume_deleted`` waiter, and every error code in the way (sizes,
ids, states, quota) — never a 500. Attaching and snapshots are in
``test_ec2_volume_attach`` and ``test_ec2_snapshots``."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.support.ec2 import error, new_project

VOLUME = re.compile(r"vol-[0-9a-f]{17}")
WAIT = {"Delay": 0.5, "MaxAttempts": 120}
ZONE = "nova"

pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.fixture(scope="module")
def project(server, admin_session, endpoint):
    """A project of the module's own: its volumes are all the module's."""
    return new_project(server, admin_session, endpoint, "ec2vol")


def make_volume(ec2, size: int = 1, **extra) -> str:
    volume_id = ec2.create_volume(Size=size, AvailabilityZone=ZONE, **extra)["VolumeId"]
    ec2.get_waiter("volume_available").wait(VolumeIds=[volume_id], WaiterConfig=WAIT)
    return volume_id


def delete_volume(ec2, volume_id: str) -> None:
    ec2.delete_volume(VolumeId=volume_id)
    ec2.get_waiter("volume_deleted").wait(VolumeIds=[volume_id], WaiterConfig=WAIT)


def test_create_wait_describe_delete(project):
    ec2 = project.ec2
    made = ec2.create_volume(Size=2, AvailabilityZone=ZONE, VolumeType="gp2",
                             TagSpecifications=[{"ResourceType": "volume", "Tags": [
                                 {"Key": "Name", "Value": "data"}]}])
    volume_id = made["VolumeId"]
    assert VOLUME.fullmatch(volume_id)
    assert made["Size"] == 2 and made["AvailabilityZone"] == ZONE
    assert made["State"] in ("creating", "available")
    assert made["VolumeType"] == "__DEFAULT__" and made["Encrypted"] is False
    assert "SnapshotId" not in made and made["Tags"] == [{"Key": "Name", "Value": "data"}]
    ec2.get_waiter("volume_available").wait(VolumeIds=[volume_id], WaiterConfig=WAIT)
    (shown,) = ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"]
    assert shown["State"] == "available" and shown["Attachments"] == []
    assert shown["CreateTime"] == made["CreateTime"]
    # the resource interface loads it by DescribeVolumes
    volume = project.resource(ec2.meta.endpoint_url).Volume(volume_id)
    assert volume.size == 2 and volume.state == "available"
    status = ec2.describe_volume_status(VolumeIds=[volume_id])["VolumeStatuses"][0]
    assert status["VolumeStatus"]["Status"] == "ok"
    attr = ec2.describe_volume_attribute(VolumeId=volume_id, Attribute="autoEnableIO")
    assert attr["VolumeId"] == volume_id and attr["AutoEnableIO"]["Value"] is True
    delete_volume(ec2, volume_id)
    assert error(ec2.describe_volumes, VolumeIds=[volume_id]) == ("InvalidVolume.NotFound",
                                                                  400)
    assert error(ec2.delete_volume, VolumeId=volume_id) == ("InvalidVolume.NotFound", 400)


def test_client_token_is_idempotent(project):
    ec2 = project.ec2
    token = str(uuid.uuid4())
    first = ec2.create_volume(Size=1, AvailabilityZone=ZONE, ClientToken=token)
    again = ec2.create_volume(Size=1, AvailabilityZone=ZONE, ClientToken=token)
    assert again["VolumeId"] == first["VolumeId"]
    hits = ec2.describe_volumes(Filters=[{"Name": "client-token", "Values": [token]}])
    assert [v["VolumeId"] for v in hits["Volumes"]] == [first["VolumeId"]]
    ec2.get_waiter("volume_available").wait(VolumeIds=[first["VolumeId"]], WaiterConfig=WAIT)
    delete_volume(ec2, first["VolumeId"])


def test_filters_paging_and_modify(project):
    ec2 = project.ec2
    ids = [make_volume(ec2, size, TagSpecifications=[{"ResourceType": "volume", "Tags": [
        {"Key": "set", "Value": "paging"}]}]) for size in (1, 1, 1, 1, 1, 3)]
    try:
        tagged = {"Name": "tag:set", "Values": ["paging"]}
        pages = ec2.get_paginator("describe_volumes").paginate(
            Filters=[tagged], PaginationConfig={"PageSize": 5})
        seen = [v["VolumeId"] for p in pages for v in p["Volumes"]]
        assert sorted(seen) == sorted(ids)
        big = ec2.describe_volumes(Filters=[tagged, {"Name": "size", "Values": ["3"]}])
        assert [v["VolumeId"] for v in big["Volumes"]] == [ids[-1]]
        for name, value in (("status", "available"), ("availability-zone", ZONE),
                            ("volume-type", "__DEFAULT__"), ("volume-id", ids[0])):
            hits = ec2.describe_volumes(Filters=[tagged, {"Name": name, "Values": [value]}])
            assert ids[0] in {v["VolumeId"] for v in hits["Volumes"]}, name
        assert error(ec2.describe_volumes, Filters=[{"Name": "bogus", "Values": ["x"]}]) == \
            ("InvalidParameterValue", 400)
        assert error(ec2.describe_volumes, VolumeIds=[ids[0]], MaxResults=5)[0] == \
            "InvalidParameterCombination"
        modified = ec2.modify_volume(VolumeId=ids[0], Size=4)["VolumeModification"]
        assert (modified["OriginalSize"], modified["TargetSize"]) == (1, 4)
        ec2.get_waiter("volume_available").wait(VolumeIds=[ids[0]], WaiterConfig=WAIT)
        _wait_size(ec2, ids[0], 4)
        assert error(ec2.modify_volume, VolumeId=ids[0], Size=2) == \
            ("InvalidParameterValue", 400)
    finally:
        for volume_id in ids:
            delete_volume(ec2, volume_id)


def _wait_size(ec2, volume_id: str, size: int) -> None:
    import time
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        (vol,) = ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"]
        if vol["Size"] == size and vol["State"] == "available":
            return
        time.sleep(0.2)
    raise AssertionError(f"{volume_id} not extended to {size}: {vol}")


def test_bad_input(project):
    ec2 = project.ec2
    for size in (0, -1):
        assert error(ec2.create_volume, Size=size, AvailabilityZone=ZONE) == \
            ("InvalidParameterValue", 400)
    assert error(ec2.create_volume, AvailabilityZone=ZONE)[0] == "MissingParameter"
    assert error(ec2.create_volume, Size=1, AvailabilityZone=ZONE,
                 VolumeType="no-such-type")[0] == "InvalidParameterValue"
    assert error(ec2.describe_volumes, VolumeIds=["vol-123"]) == \
        ("InvalidVolumeID.Malformed", 400)
    assert error(ec2.describe_volumes, VolumeIds=["vol-0123456789abcdef0"]) == \
        ("InvalidVolume.NotFound", 400)
    assert error(ec2.delete_volume, VolumeId="snap-12345678")[0] == \
        "InvalidVolumeID.Malformed"
    assert error(ec2.create_volume, Size=1, AvailabilityZone=ZONE,
                 SnapshotId="snap-0123456789abcdef0")[0] == "InvalidSnapshot.NotFound"
    assert error(ec2.describe_volume_attribute, VolumeId="vol-0123456789abcdef0",
                 Attribute="autoEnableIO")[0] == "InvalidVolume.NotFound"
    # over the gigabytes quota (1000 GiB by default): nothing made
    before = len(ec2.describe_volumes()["Volumes"])
    assert error(ec2.create_volume, Size=1001, AvailabilityZone=ZONE) == \
        ("VolumeLimitExceeded", 400)
    assert len(ec2.describe_volumes()["Volumes"]) == before


def test_another_project_sees_none(project, other):
    volume_id = make_volume(project.ec2)
    try:
        assert error(other.ec2.describe_volumes, VolumeIds=[volume_id])[0] == \
            "InvalidVolume.NotFound"
        assert error(other.ec2.delete_volume, VolumeId=volume_id)[0] == \
            "InvalidVolume.NotFound"
        assert volume_id not in {v["VolumeId"] for v in
                                 other.ec2.describe_volumes()["Volumes"]}
    finally:
        delete_volume(project.ec2, volume_id)


def test_reader_sees_but_changes_nothing(server, admin_session, endpoint, project):
    """A reader of the project describes its volumes and snapshots; every
    change is UnauthorizedOperation (403), DryRun or not."""
    from tests.support.ec2 import client
    from tests.support.identity import IdentityAdmin

    identity = IdentityAdmin(server, admin_session, "ec2volr")
    user = identity.new_user("reader", project.id, "reader")
    # a reader may not make EC2 credentials itself: the admin makes its one
    cred = identity.call("POST", f"/users/{user.id}/credentials/OS-EC2",
                         {"tenant_id": project.id})["credential"]
    reader = client(endpoint, (cred["access"], cred["secret"]))
    volume_id = make_volume(project.ec2)
    snapshot_id = project.ec2.create_snapshot(VolumeId=volume_id)["SnapshotId"]
    try:
        (shown,) = reader.describe_volumes(VolumeIds=[volume_id])["Volumes"]
        assert shown["State"] == "available"
        assert reader.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"]
        refused = ("UnauthorizedOperation", 403)
        for dry in (False, True):
            calls = ((reader.create_volume, {"Size": 1, "AvailabilityZone": ZONE}),
                     (reader.delete_volume, {"VolumeId": volume_id}),
                     (reader.modify_volume, {"VolumeId": volume_id, "Size": 9}),
                     (reader.create_snapshot, {"VolumeId": volume_id}),
                     (reader.delete_snapshot, {"SnapshotId": snapshot_id}),
                     (reader.attach_volume, {"VolumeId": volume_id, "Device": "/dev/sdf",
                                             "InstanceId": "i-0123456789abcdef0"}),
                     (reader.detach_volume, {"VolumeId": volume_id}))
            for call, kwargs in calls:
                assert error(call, DryRun=dry, **kwargs) == refused, (call, dry)
        assert error(project.ec2.delete_volume, VolumeId=volume_id, DryRun=True) == \
            ("DryRunOperation", 412)
        (after,) = project.ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"]
        assert (after["State"], after["Size"]) == ("available", 1)
    finally:
        project.ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[snapshot_id],
                                                          WaiterConfig=WAIT)
        project.ec2.delete_snapshot(SnapshotId=snapshot_id)
        for _ in range(120):
            if not project.ec2.describe_snapshots(
                    Filters=[{"Name": "snapshot-id", "Values": [snapshot_id]}])["Snapshots"]:
                break
            import time
            time.sleep(0.25)
        delete_volume(project.ec2, volume_id)
