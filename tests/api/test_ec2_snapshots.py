"""EBS snapshots through boto3: CreateSnapshot with the ``snapshot_completed``
waiter, DescribeSnapshots (ids, owners, filters, paging), a volume made from a
snapshot, Describe/ModifySnapshotAttribute, DeleteSnapshot, and the errors
(unknown and malformed ids, a volume with snapshots, another project's)."""

from __future__ import annotations

import re

import pytest

from tests.support.ec2 import REGION, error, new_project

SNAPSHOT = re.compile(r"snap-[0-9a-f]{17}")
WAIT = {"Delay": 0.5, "MaxAttempts": 120}
ZONE = "nova"

pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.fixture(scope="module")
def project(server, admin_session, endpoint):
    return new_project(server, admin_session, endpoint, "ec2snap")


@pytest.fixture(scope="module")
def volume(project):
    ec2 = project.ec2
    volume_id = ec2.create_volume(Size=1, AvailabilityZone=ZONE)["VolumeId"]
    ec2.get_waiter("volume_available").wait(VolumeIds=[volume_id], WaiterConfig=WAIT)
    yield volume_id
    ec2.delete_volume(VolumeId=volume_id)
    ec2.get_waiter("volume_deleted").wait(VolumeIds=[volume_id], WaiterConfig=WAIT)


def delete_snapshot(ec2, snapshot_id: str) -> None:
    ec2.delete_snapshot(SnapshotId=snapshot_id)
    for _ in range(120):
        try:
            ec2.describe_snapshots(SnapshotIds=[snapshot_id])
        except ec2.exceptions.ClientError as exc:
            assert exc.response["Error"]["Code"] == "InvalidSnapshot.NotFound"
            return
        import time
        time.sleep(0.25)
    raise AssertionError(f"{snapshot_id} was not deleted")


def test_snapshot_lifecycle(project, volume):
    ec2 = project.ec2
    made = ec2.create_snapshot(VolumeId=volume, Description="nightly",
                               TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
                                   {"Key": "Name", "Value": "nightly"}]}])
    snapshot_id = made["SnapshotId"]
    assert SNAPSHOT.fullmatch(snapshot_id)
    assert made["VolumeId"] == volume and made["VolumeSize"] == 1
    assert made["State"] in ("pending", "completed") and made["Description"] == "nightly"
    assert made["OwnerId"] == project.account
    ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[snapshot_id], WaiterConfig=WAIT)
    (shown,) = ec2.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"]
    assert shown["State"] == "completed" and shown["Progress"] == "100%"
    assert shown["Tags"] == [{"Key": "Name", "Value": "nightly"}]
    mine = ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
    assert snapshot_id in {s["SnapshotId"] for s in mine}
    for name, value in (("volume-id", volume), ("status", "completed"),
                        ("description", "night*"), ("tag:Name", "nightly")):
        hits = ec2.describe_snapshots(Filters=[{"Name": name, "Values": [value]}])
        assert [s["SnapshotId"] for s in hits["Snapshots"]] == [snapshot_id], name
    # a volume made from it: its size by default, bigger if asked, never smaller
    restored = ec2.create_volume(SnapshotId=snapshot_id, AvailabilityZone=ZONE)
    assert restored["SnapshotId"] == snapshot_id and restored["Size"] == 1
    ec2.get_waiter("volume_available").wait(VolumeIds=[restored["VolumeId"]],
                                            WaiterConfig=WAIT)
    hits = ec2.describe_volumes(Filters=[{"Name": "snapshot-id", "Values": [snapshot_id]}])
    assert [v["VolumeId"] for v in hits["Volumes"]] == [restored["VolumeId"]]
    ec2.delete_volume(VolumeId=restored["VolumeId"])
    ec2.get_waiter("volume_deleted").wait(VolumeIds=[restored["VolumeId"]],
                                          WaiterConfig=WAIT)
    # attributes: nothing shared, and sharing refused
    attr = ec2.describe_snapshot_attribute(SnapshotId=snapshot_id,
                                           Attribute="createVolumePermission")
    assert attr["SnapshotId"] == snapshot_id and attr["CreateVolumePermissions"] == []
    assert error(ec2.modify_snapshot_attribute, SnapshotId=snapshot_id,
                 Attribute="createVolumePermission", OperationType="add",
                 GroupNames=["all"])[0] == "InvalidParameterValue"
    ec2.modify_snapshot_attribute(SnapshotId=snapshot_id, Attribute="createVolumePermission",
                                  OperationType="remove", GroupNames=["all"])
    # Cinder keeps a volume with snapshots
    code, status = error(ec2.delete_volume, VolumeId=volume)
    assert status == 400 and code in ("VolumeInUse", "IncorrectState")
    delete_snapshot(ec2, snapshot_id)
    assert error(ec2.delete_snapshot, SnapshotId=snapshot_id)[0] == "InvalidSnapshot.NotFound"


def test_snapshot_paging(project, volume):
    ec2 = project.ec2
    ids = [ec2.create_snapshot(VolumeId=volume)["SnapshotId"] for _ in range(6)]
    try:
        ec2.get_waiter("snapshot_completed").wait(SnapshotIds=ids, WaiterConfig=WAIT)
        pages = ec2.get_paginator("describe_snapshots").paginate(
            OwnerIds=["self"], PaginationConfig={"PageSize": 5})
        sizes = []
        seen = []
        for p in pages:
            sizes.append(len(p["Snapshots"]))
            seen += [s["SnapshotId"] for s in p["Snapshots"]]
        assert sorted(seen) == sorted(ids) and sizes[0] == 5
    finally:
        for snapshot_id in ids:
            delete_snapshot(ec2, snapshot_id)


def test_errors(project, other, volume):
    ec2 = project.ec2
    assert error(ec2.create_snapshot, VolumeId="vol-0123456789abcdef0")[0] == \
        "InvalidVolume.NotFound"
    assert error(ec2.create_snapshot, VolumeId="vol-x")[0] == "InvalidVolumeID.Malformed"
    assert error(ec2.describe_snapshots, SnapshotIds=["snap-0123456789abcdef0"]) == \
        ("InvalidSnapshot.NotFound", 400)
    assert error(ec2.delete_snapshot, SnapshotId="snap-zz")[0] == \
        "InvalidSnapshotID.Malformed"
    assert error(ec2.describe_snapshot_attribute, SnapshotId="snap-0123456789abcdef0",
                 Attribute="productCodes")[0] == "InvalidSnapshot.NotFound"
    assert error(other.ec2.create_snapshot, VolumeId=volume)[0] == "InvalidVolume.NotFound"


def test_copy_snapshot(project, volume):
    """A copy in the one region: completed like any snapshot, the source's volume
    and size, tagged; a volume made from it is the source's size."""
    ec2 = project.ec2
    source = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[source], WaiterConfig=WAIT)
    made = ec2.copy_snapshot(SourceSnapshotId=source, SourceRegion=REGION,
                             Description="copied", TagSpecifications=[{
                                 "ResourceType": "snapshot",
                                 "Tags": [{"Key": "Name", "Value": "copy"}]}])
    copy_id = made["SnapshotId"]
    try:
        assert SNAPSHOT.fullmatch(copy_id) and copy_id != source
        assert made["Tags"] == [{"Key": "Name", "Value": "copy"}]
        ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[copy_id], WaiterConfig=WAIT)
        (shown,) = ec2.describe_snapshots(SnapshotIds=[copy_id])["Snapshots"]
        assert (shown["State"], shown["VolumeId"], shown["VolumeSize"]) == (
            "completed", volume, 1)
        assert shown["Description"] == "copied" and shown["OwnerId"] == project.account
        assert shown["Tags"] == [{"Key": "Name", "Value": "copy"}]
        restored = ec2.create_volume(SnapshotId=copy_id, AvailabilityZone=ZONE)
        assert restored["Size"] == 1 and restored["SnapshotId"] == copy_id
        ec2.get_waiter("volume_available").wait(VolumeIds=[restored["VolumeId"]],
                                                WaiterConfig=WAIT)
        ec2.delete_volume(VolumeId=restored["VolumeId"])
        ec2.get_waiter("volume_deleted").wait(VolumeIds=[restored["VolumeId"]],
                                              WaiterConfig=WAIT)
        assert error(ec2.copy_snapshot, SourceSnapshotId=source, SourceRegion=REGION,
                     DryRun=True) == ("DryRunOperation", 412)
    finally:
        delete_snapshot(ec2, copy_id)
        delete_snapshot(ec2, source)


def test_copy_snapshot_errors(server, admin_session, project, other, volume):
    ec2 = project.ec2
    assert error(ec2.copy_snapshot, SourceSnapshotId="snap-0123456789abcdef0",
                 SourceRegion=REGION) == ("InvalidSnapshot.NotFound", 400)
    assert error(ec2.copy_snapshot, SourceSnapshotId="snap-x",
                 SourceRegion=REGION)[0] == "InvalidSnapshotID.Malformed"
    source = ec2.create_snapshot(VolumeId=volume, Description="copy-errors")["SnapshotId"]
    cinder = f"{server.url}/volume/v3"
    quotas = f"{cinder}/os-quota-sets/{project.id}"
    try:
        ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[source], WaiterConfig=WAIT)
        assert error(ec2.copy_snapshot, SourceSnapshotId=source,
                     SourceRegion="eu-west-1") == ("InvalidParameterValue", 400)
        assert error(other.ec2.copy_snapshot, SourceSnapshotId=source,
                     SourceRegion=REGION)[0] == "InvalidSnapshot.NotFound"
        # pending again (an admin's reset): not copied
        (row,) = [s for s in admin_session.get(
            f"{cinder}/snapshots/detail?all_tenants=1&project_id={project.id}").json()[
            "snapshots"] if s["description"] == "copy-errors"]
        action = f"{cinder}/snapshots/{row['id']}/action"
        admin_session.post(action, json={"os-reset_status": {"status": "creating"}})
        assert error(ec2.copy_snapshot, SourceSnapshotId=source,
                     SourceRegion=REGION) == ("IncorrectState", 400)
        admin_session.post(action, json={"os-reset_status": {"status": "available"}})
        # over quota: nothing made
        admin_session.put(quotas, json={"quota_set": {"snapshots": 1}})
        assert error(ec2.copy_snapshot, SourceSnapshotId=source,
                     SourceRegion=REGION) == ("SnapshotLimitExceeded", 400)
        assert [s["SnapshotId"] for s in ec2.describe_snapshots(
            OwnerIds=["self"])["Snapshots"]] == [source]
    finally:
        admin_session.delete(quotas)
        delete_snapshot(ec2, source)
