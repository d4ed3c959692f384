"""Snapshots: made of available volumes (in-use with force) on the volume's
back end, their quota reserved with them; deleted from available or error."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core import errors
from core.quota.models import QuotaUsage
from core.volume.errors import InvalidSnapshot, InvalidVolume, SnapshotNotFound
from tests.support.core_services import ADMIN, MEMBER, OTHER, READER
from tests.unit.core.volume.conftest import place, snapshot_done


def usage(core, project="p1") -> dict[str, int]:
    with core.db.session() as s:
        return dict(s.execute(select(QuotaUsage.resource, QuotaUsage.in_use)
                              .where(QuotaUsage.project_id == project)).tuples().all())


@pytest.fixture
def vol(vs, core):
    volume = vs.volumes.create(MEMBER, size=3)
    place(core, volume.id)
    return volume


def test_create_reserves_and_casts_to_the_back_end(vs, core, bus, vol):
    snap = vs.snapshots.create(MEMBER, vol.id, name="s1", description="d", metadata={"a": "b"})
    assert (snap.status, snap.size, snap.volume_id, snap.progress) == ("creating", 3, vol.id,
                                                                       "0%")
    assert snap.host == vol.host or snap.host == "node1@lvm#pool-a"
    assert usage(core) == {"volumes": 1, "gigabytes": 6, "snapshots": 1}
    assert bus.last("create_snapshot") == ({"snapshot_id": snap.id, "volume_id": vol.id,
                                            "size": 3}, "node1@lvm")


def test_in_use_volumes_need_force(vs, core, vol):
    place(core, vol.id, status="in-use")
    with pytest.raises(InvalidVolume) as err:
        vs.snapshots.create(MEMBER, vol.id)
    assert "must be available, but current status is: in-use" in err.value.message
    assert vs.snapshots.create(MEMBER, vol.id, force=True).status == "creating"
    place(core, vol.id, status="error")
    with pytest.raises(InvalidVolume):
        vs.snapshots.create(MEMBER, vol.id, force=True)


def test_quota_exceeded_makes_no_snapshot(vs, core, bus, vol):
    core.quotas.set_limits("p1", {"snapshots": 0})
    with pytest.raises(errors.QuotaExceeded) as err:
        vs.snapshots.create(MEMBER, vol.id)
    assert err.value.resources == ["snapshots"]
    assert "Maximum number of snapshots allowed (0)" in err.value.message
    assert vs.snapshots.list(MEMBER) == [] and "create_snapshot" not in bus.methods()
    assert usage(core).get("snapshots", 0) == 0 and usage(core)["gigabytes"] == 3


def test_other_projects_neither_see_nor_snapshot(vs, vol):
    from core.volume.errors import VolumeNotFound
    with pytest.raises(VolumeNotFound):
        vs.snapshots.create(OTHER, vol.id)
    snap = vs.snapshots.create(MEMBER, vol.id)
    with pytest.raises(SnapshotNotFound):
        vs.snapshots.get(OTHER, snap.id)
    with pytest.raises(errors.Forbidden):
        vs.snapshots.create(READER, vol.id)
    assert vs.snapshots.get(ADMIN, snap.id).id == snap.id


def test_delete_from_available_casts(vs, core, bus, vol):
    snap = vs.snapshots.create(MEMBER, vol.id)
    with pytest.raises(InvalidSnapshot):
        vs.snapshots.delete(MEMBER, snap.id)  # creating
    snapshot_done(core, snap.id)
    vs.snapshots.delete(MEMBER, snap.id)
    assert vs.snapshots.get(MEMBER, snap.id).status == "deleting"
    assert bus.last("delete_snapshot") == ({"snapshot_id": snap.id}, "node1@lvm")
    with pytest.raises(InvalidSnapshot):
        vs.snapshots.delete(MEMBER, snap.id)


def test_force_delete_and_reset_status_are_for_admins(vs, vol):
    snap = vs.snapshots.create(MEMBER, vol.id)
    with pytest.raises(errors.Forbidden):
        vs.snapshots.force_delete(MEMBER, snap.id)
    with pytest.raises(errors.Forbidden):
        vs.snapshots.reset_status(MEMBER, snap.id, "error")
    assert vs.snapshots.reset_status(ADMIN, snap.id, "error").status == "error"
    vs.snapshots.force_delete(ADMIN, snap.id)
    assert vs.snapshots.get(MEMBER, snap.id).status == "deleting"


def test_update_metadata_and_list(vs, vol):
    a = vs.snapshots.create(MEMBER, vol.id, name="a")
    b = vs.snapshots.create(MEMBER, vol.id, name="b", metadata={"k": "v"})
    assert vs.snapshots.update(MEMBER, a.id, name="a2").name == "a2"
    assert vs.snapshots.set_metadata(MEMBER, a.id, {"x": "1"}) == {"x": "1"}
    vs.snapshots.delete_metadata_key(MEMBER, a.id, "x")
    assert vs.snapshots.metadata(MEMBER, a.id) == {}
    with pytest.raises(errors.NotFound):
        vs.snapshots.delete_metadata_key(MEMBER, a.id, "x")
    assert [s.id for s in vs.snapshots.list(MEMBER, filters={"metadata": {"k": "v"}})] == \
        [b.id]
    assert [s.name for s in vs.snapshots.list(MEMBER, sort=[("name", "asc")])] == ["a2", "b"]
    assert vs.snapshots.count(MEMBER, filters={"volume_id": vol.id}) == 2
    assert vs.snapshots.list(OTHER) == []
