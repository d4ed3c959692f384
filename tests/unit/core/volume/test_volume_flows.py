"""Volumes through the scheduler, the simulated back end and the manager, in one
process: placed, rescheduled, failed, deleted, extended, snapshotted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from core.clock import utcnow
from core.volume import claims
from core.volume.agent.driver import PoolSpec
from core.volume.models import Snapshot, Volume
from core.volume.scheduler.wiring import watch_creates
from tests.unit.core.volume.plane import VolumePlane


@pytest.fixture
def plane(tmp_path):
    p = VolumePlane(tmp_path).start()
    yield p
    p.stop()


def test_created_volume_becomes_available_on_the_roomiest_pool(plane):
    vid = plane.create(10)
    volume = plane.wait_status(vid, "available")
    assert volume.host == "node1@sim#a"
    assert volume.launched_at is not None
    assert volume.scheduling["hosts"] == ["node1@sim#a"]
    assert plane.claims() == {vid: 10}
    assert plane.pools()["node1@sim#a"].provisioned_capacity_gb == 10
    assert plane.agent.driver.volumes[vid] == ("a", 10)
    plane.assert_claims_consistent()


def test_failing_pool_reschedules_to_the_other(tmp_path):
    plane = VolumePlane(tmp_path, pools=[PoolSpec("a", 100, failure_rate=1.0),
                                         PoolSpec("b", 50)]).start()
    try:
        vid = plane.create(10)
        volume = plane.wait_status(vid, "available", "error")
        assert volume.status == "available"
        assert volume.host == "node1@sim#b"
        assert volume.scheduling["hosts"] == ["node1@sim#a", "node1@sim#b"]
        assert "simulated failure" in volume.scheduling["exc"]
        assert plane.claims() == {vid: 10}
        assert plane.pools()["node1@sim#a"].provisioned_capacity_gb == 0
        plane.assert_claims_consistent()
    finally:
        plane.stop()


def test_every_pool_failing_ends_in_error_with_no_claim(tmp_path):
    plane = VolumePlane(tmp_path, pools=[PoolSpec("a", 100, failure_rate=1.0),
                                         PoolSpec("b", 50, failure_rate=1.0),
                                         PoolSpec("c", 50, failure_rate=1.0),
                                         PoolSpec("d", 50)]).start()
    try:
        vid = plane.create(10)
        volume = plane.wait_status(vid, "error")
        assert len(volume.scheduling["hosts"]) == 3  # max attempts, "d" never tried
        assert "Exceeded max scheduling attempts 3" in volume.fault
        assert volume.host is None
        assert plane.claims() == {}
        assert plane.usage()["volumes"] == 1  # held until deleted, as Cinder
        plane.assert_claims_consistent()
    finally:
        plane.stop()


def test_no_pool_with_room_is_error_no_valid_backend(plane):
    vid = plane.create(101)
    volume = plane.wait_status(vid, "error")
    assert volume.fault.startswith("No valid backend was found.")
    assert volume.host is None and plane.claims() == {}


def test_all_pools_full_then_error(plane):
    first, second = plane.create(100), None
    plane.wait_status(first, "available")
    second = plane.create(50)
    plane.wait_status(second, "available")
    third = plane.create(1)
    assert plane.wait_status(third, "error").fault.startswith("No valid backend")
    assert plane.claims() == {first: 100, second: 50}
    plane.assert_claims_consistent()


def test_availability_zone_without_pools_is_error(plane):
    vid = plane.create(1, availability_zone="elsewhere")
    assert plane.wait_status(vid, "error").host is None


def test_capabilities_choose_the_pool(plane):
    vid = plane.create(1, extra_specs={"pool_name": "b"})
    assert plane.wait_status(vid, "available").host == "node1@sim#b"
    vid = plane.create(1, extra_specs={"volume_backend_name": "other"})
    assert plane.wait_status(vid, "error")


def test_delete_removes_row_claim_and_quota(plane):
    vid = plane.create(10)
    plane.wait_status(vid, "available")
    assert plane.usage()["gigabytes"] == 10
    plane.delete(vid)
    plane.wait(vid, lambda v: v is None)
    assert plane.claims() == {}
    assert plane.usage()["volumes"] == 0 and plane.usage()["gigabytes"] == 0
    assert vid not in plane.agent.driver.volumes
    plane.assert_claims_consistent()


def test_extend_grows_claim_and_size(plane):
    vid = plane.create(10)
    plane.wait_status(vid, "available")
    plane.extend(vid, 30)
    volume = plane.wait(vid, lambda v: v.size == 30)
    assert volume.status == "available" and volume.previous_status is None
    assert plane.claims() == {vid: 30}
    assert plane.agent.driver.volumes[vid] == ("a", 30)
    assert plane.usage()["gigabytes"] == 30
    plane.assert_claims_consistent()


def test_extend_without_room_goes_back_with_a_fault(plane):
    vid = plane.create(90)
    plane.wait_status(vid, "available")
    plane.extend(vid, 101)
    volume = plane.wait(vid, lambda v: v.status == "available" and v.fault)
    assert volume.size == 90
    assert "Insufficient free space" in volume.fault
    assert plane.claims() == {vid: 90}
    assert plane.usage()["gigabytes"] == 90


def test_failed_extend_is_error_extending_with_claim_and_quota_back(plane):
    vid = plane.create(10)
    plane.wait_status(vid, "available")
    with plane.db.session() as s:
        plane.quotas.reserve(s, "p1", {"gigabytes": 10})
    assert claims.resize_claim(plane.db, vid, 20)
    with plane.db.session() as s:
        s.get(Volume, vid).status = "extending"
    plane.manager.volume_extended(vid, 20, error="boom")
    plane.manager.volume_extended(vid, 20, error="boom")  # repeated: nothing more
    volume = plane.volume(vid)
    assert (volume.status, volume.size, volume.fault) == ("error_extending", 10, "boom")
    assert plane.claims() == {vid: 10}
    assert plane.usage()["gigabytes"] == 10
    plane.assert_claims_consistent()


def test_snapshot_created_then_deleted(plane):
    vid = plane.create(10)
    plane.wait_status(vid, "available")
    sid = plane.snapshot(vid)
    plane.wait(vid, lambda v: plane.snapshot_row(sid).status == "available")
    assert plane.usage()["snapshots"] == 1 and plane.usage()["gigabytes"] == 20
    with plane.db.session() as s:
        s.get(Snapshot, sid).status = "deleting"
    plane.agents.delete_snapshot("node1@sim", sid)
    plane.wait(vid, lambda v: plane.snapshot_row(sid) is None)
    assert plane.usage()["snapshots"] == 0 and plane.usage()["gigabytes"] == 10


def test_repeated_reports_change_nothing(plane):
    vid = plane.create(10)
    plane.wait_status(vid, "available")
    assert plane.manager.volume_created(vid, "node1@sim#a")["status"] == "available"
    # a late failure report of the same create is ignored too: no claim released
    plane.manager.volume_created(vid, "node1@sim#a", error="late")
    assert plane.volume(vid).status == "available"
    assert plane.claims() == {vid: 10}
    # the scheduler getting the create again casts nothing harmful
    plane.scheduler.create_volume(vid)
    assert plane.claims() == {vid: 10}


def test_repeated_failure_report_releases_once(tmp_path):
    plane = VolumePlane(tmp_path, pools=[PoolSpec("a", 100), PoolSpec("b", 100)])
    try:
        plane.wait_for_pools(0)
        for server in plane.servers:  # scheduler and manager only: no agent
            server.start()
        plane.agent.report_capabilities()
        plane.wait_for_pools(2)
        vid = plane.create(10)
        plane.wait(vid, lambda v: v.host is not None)
        host = plane.volume(vid).host
        plane.manager.volume_created(vid, host, error="x")
        plane.manager.volume_created(vid, host, error="x")
        volume = plane.wait(vid, lambda v: v.host not in (None, host))
        assert volume.scheduling["hosts"] == [host, volume.host]
        assert plane.claims() == {vid: 10}
        plane.assert_claims_consistent()
    finally:
        plane.stop()


def test_lost_creates_are_sent_on_again(plane):
    plane.scheduler_client = type("Lost", (), {"create_volume": lambda self, _id: None})()
    lost = plane.create(3)  # the scheduler never hears of it
    placed = plane.create(4)
    with plane.db.session() as s:  # placed, but the agent's create was lost
        s.execute(update(Volume).where(Volume.id == placed).values(host="node1@sim#b"))
    assert claims.claim_capacity(plane.db, placed, plane.pools()["node1@sim#b"].id, 4)
    watch = watch_creates(plane.db, plane.bus, plane.settings)
    assert watch.resend_stuck() == 0  # not yet stuck
    with plane.db.session() as s:
        s.execute(update(Volume).values(updated_at=utcnow() - timedelta(hours=1)))
    assert watch.resend_stuck() == 2
    assert watch.resend_stuck() == 0  # touched: left alone for a while
    assert plane.wait_status(lost, "available").host == "node1@sim#a"
    assert plane.wait_status(placed, "available").host == "node1@sim#b"
    assert plane.claims() == {lost: 3, placed: 4}
