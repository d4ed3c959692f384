"""Copying a snapshot: the service checks the source (visible, available),
reserves quota with the new row and casts ``copy_snapshot`` to the source's back
end; the back end copies what the source holds and the volume manager records
it (a repeated message changing nothing)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core import errors
from core.policy import Enforcer
from core.policy.defaults import all_defaults
from core.quota.models import QuotaUsage
from core.volume.errors import InvalidSnapshot, SnapshotNotFound
from core.volume.snapshots import SnapshotService
from tests.support.core_services import ADMIN, MEMBER, OTHER, READER
from tests.unit.core.volume.conftest import place, snapshot_done
from tests.unit.core.volume.plane import VolumePlane


def usage(core, project="p1") -> dict[str, int]:
    with core.db.session() as s:
        return dict(s.execute(select(QuotaUsage.resource, QuotaUsage.in_use)
                              .where(QuotaUsage.project_id == project)).tuples().all())


@pytest.fixture
def source(vs, core):
    volume = vs.volumes.create(MEMBER, size=3)
    place(core, volume.id)
    snap = vs.snapshots.create(MEMBER, volume.id, name="src", metadata={"a": "b"})
    return snap


def test_copy_reserves_and_casts_to_the_source_back_end(vs, core, bus, source):
    snapshot_done(core, source.id)
    copy = vs.snapshots.copy(MEMBER, source.id, name="c", description="copied")
    assert (copy.status, copy.size, copy.volume_id, copy.host, copy.progress) == (
        "creating", 3, source.volume_id, source.host, "0%")
    assert (copy.name, copy.description, copy.project_id) == ("c", "copied", "p1")
    assert copy.id != source.id
    assert usage(core) == {"volumes": 1, "gigabytes": 9, "snapshots": 2}
    assert bus.last("copy_snapshot") == ({"snapshot_id": copy.id,
                                          "source_snapshot_id": source.id}, "node1@lvm")
    assert vs.snapshots.get(MEMBER, source.id).status == "available"


def test_only_an_available_visible_snapshot_is_copied(vs, core, bus, source):
    with pytest.raises(InvalidSnapshot) as err:
        vs.snapshots.copy(MEMBER, source.id)  # still creating
    assert err.value.state == "creating"
    assert "must be available, but current status is: creating" in err.value.message
    with pytest.raises(SnapshotNotFound):
        vs.snapshots.copy(MEMBER, "00000000-0000-0000-0000-000000000000")
    snapshot_done(core, source.id)
    with pytest.raises(SnapshotNotFound):
        vs.snapshots.copy(OTHER, source.id)
    with pytest.raises(errors.Forbidden):
        vs.snapshots.copy(READER, source.id)
    assert "copy_snapshot" not in bus.methods()
    assert usage(core)["snapshots"] == 1
    # an admin sees every project's: the copy is the admin's project's
    assert vs.snapshots.copy(ADMIN, source.id).project_id == ADMIN.project_id


def test_quota_exceeded_writes_nothing(vs, core, bus, source):
    snapshot_done(core, source.id)
    core.quotas.set_limits("p1", {"gigabytes": 8})
    with pytest.raises(errors.QuotaExceeded) as err:
        vs.snapshots.copy(MEMBER, source.id)
    assert err.value.resources == ["gigabytes"]
    core.quotas.set_limits("p1", {"gigabytes": 100, "snapshots": 1})
    with pytest.raises(errors.QuotaExceeded) as err:
        vs.snapshots.copy(MEMBER, source.id)
    assert err.value.resources == ["snapshots"]
    assert [s.id for s in vs.snapshots.list(MEMBER)] == [source.id]
    assert "copy_snapshot" not in bus.methods()
    assert usage(core) == {"volumes": 1, "gigabytes": 6, "snapshots": 1}


# ---- through the agent and the manager ----------------------------------------------

@pytest.fixture
def plane(tmp_path):
    p = VolumePlane(tmp_path).start()
    yield p
    p.stop()


def test_the_back_end_copies_the_content_and_the_manager_records_it(plane):
    snapshots = SnapshotService(plane.db, Enforcer(all_defaults(), None), plane.quotas,
                                plane.agents)
    vid = plane.create(4)
    plane.wait_status(vid, "available")
    driver = plane.agent.driver
    driver.contents[vid] = {"image_id": "img-1", "size": 1024}  # made from an image
    sid = plane.snapshot(vid)
    plane.wait(vid, lambda v: plane.snapshot_row(sid).status == "available")

    copy = snapshots.copy(MEMBER, sid, description="copy")
    plane.wait(vid, lambda v: plane.snapshot_row(copy.id).status != "creating")
    row = plane.snapshot_row(copy.id)
    assert (row.status, row.progress, row.fault) == ("available", "100%", None)
    assert driver.snapshots[copy.id] == driver.snapshots[sid] == (vid, 4)
    assert driver.content_of(copy.id) == {"image_id": "img-1", "size": 1024}
    assert plane.usage()["snapshots"] == 2 and plane.usage()["gigabytes"] == 12

    # the message again (redelivered): nothing changes
    before = row.updated_at
    plane.agent.copy_snapshot(copy.id, sid)
    row = plane.snapshot_row(copy.id)
    assert (row.status, row.updated_at) == ("available", before)
    assert len(driver.snapshots) == 2 and plane.usage()["snapshots"] == 2
    assert driver.content_of(copy.id) == {"image_id": "img-1", "size": 1024}


def test_a_source_the_back_end_lacks_fails_the_copy(plane):
    snapshots = SnapshotService(plane.db, Enforcer(all_defaults(), None), plane.quotas,
                                plane.agents)
    vid = plane.create(2)
    plane.wait_status(vid, "available")
    sid = plane.snapshot(vid)
    plane.wait(vid, lambda v: plane.snapshot_row(sid).status == "available")
    plane.agent.driver.snapshots.pop(sid)  # lost on the back end
    copy = snapshots.copy(MEMBER, sid)
    plane.wait(vid, lambda v: plane.snapshot_row(copy.id).status != "creating")
    row = plane.snapshot_row(copy.id)
    assert row.status == "error" and f"no snapshot {sid}" in row.fault
    assert copy.id not in plane.agent.driver.snapshots
