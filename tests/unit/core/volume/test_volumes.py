"""Volumes: create (validation, sources, quota in the same transaction, the
scheduler cast after commit, idempotency tokens), reads, lists, update,
delete and extend with Cinder's rules."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core import errors
from core.quota.models import QuotaUsage
from core.volume.errors import (
    InvalidAvailabilityZone,
    InvalidInput,
    InvalidSnapshot,
    InvalidVolume,
    MarkerNotFound,
    VolumeInUse,
    VolumeNotFound,
    VolumeTypeNotFound,
)
from core.volume.models import DEFAULT_TYPE, Snapshot, Volume
from tests.support.core_services import ADMIN, MEMBER, OTHER, READER
from tests.unit.core.volume.conftest import POOL, add_pool, place, snapshot_done


def usage(core, project="p1") -> dict[str, int]:
    with core.db.session() as s:
        return dict(s.execute(select(QuotaUsage.resource, QuotaUsage.in_use)
                              .where(QuotaUsage.project_id == project)).tuples().all())


def volume_count(core) -> int:
    with core.db.session() as s:
        return s.scalar(select(func.count()).select_from(Volume)) or 0


# ---- create ---------------------------------------------------------------------------
def test_create_reserves_quota_and_casts_to_the_scheduler(vs, core, bus):
    vol = vs.volumes.create(MEMBER, size=3, name="data", description="d",
                            metadata={"a": "1"})
    assert (vol.status, vol.size, vol.project_id, vol.user_id) == ("creating", 3, "p1", "u1")
    assert vol.attach_status == "detached" and vol.host is None
    assert vol.availability_zone == "nova" and vol.metadata_ == {"a": "1"}
    assert vs.types.get(MEMBER, vol.volume_type_id).name == DEFAULT_TYPE
    assert bus.casts == [("volume-scheduler", "create_volume", {"volume_id": vol.id}, None)]
    assert usage(core) == {"volumes": 1, "gigabytes": 3}


@pytest.mark.parametrize("size", [0, -1, "x", 1.5, True, None, "", [1]])
def test_create_refuses_bad_sizes(vs, core, bus, size):
    with pytest.raises(InvalidInput) as err:
        vs.volumes.create(MEMBER, size=size)
    assert err.value.param == "size"
    assert volume_count(core) == 0 and bus.casts == []


def test_create_accepts_a_size_as_a_string_of_digits(vs):
    assert vs.volumes.create(MEMBER, size="4").size == 4


def test_create_names_its_type_by_id_or_name(vs):
    gold = vs.types.create(ADMIN, "gold", extra_specs={"volume_backend_name": "lvm"})
    assert vs.volumes.create(MEMBER, size=1, volume_type="gold").volume_type_id == gold.id
    assert vs.volumes.create(MEMBER, size=1, volume_type=gold.id).volume_type_id == gold.id


def test_an_unknown_type_is_404_and_nothing_is_made(vs, core, bus):
    with pytest.raises(VolumeTypeNotFound) as err:
        vs.volumes.create(MEMBER, size=1, volume_type="nope")
    assert "nope" in err.value.message and isinstance(err.value, errors.NotFound)
    assert volume_count(core) == 0 and usage(core).get("volumes", 0) == 0 and bus.casts == []


def test_a_private_type_is_usable_only_where_shared(vs):
    secret = vs.types.create(ADMIN, "secret", is_public=False)
    with pytest.raises(VolumeTypeNotFound):
        vs.volumes.create(MEMBER, size=1, volume_type="secret")
    vs.types.add_project_access(ADMIN, secret.id, "p1")
    assert vs.volumes.create(MEMBER, size=1, volume_type="secret").volume_type_id == secret.id


def test_an_unknown_zone_is_400_and_reported_zones_are_known(vs, core):
    with pytest.raises(InvalidAvailabilityZone):
        vs.volumes.create(MEMBER, size=1, availability_zone="mars")
    add_pool(core, "n2@ceph#p", zone="mars")
    assert vs.volumes.availability_zones(MEMBER) == ["mars", "nova"]
    assert vs.volumes.create(MEMBER, size=1, availability_zone="mars").availability_zone == \
        "mars"


def test_multiattach_in_the_body_is_refused(vs):
    with pytest.raises(InvalidInput):
        vs.volumes.create(MEMBER, size=1, multiattach=True)


def test_a_multiattach_type_makes_multiattach_volumes(vs):
    vs.types.create(ADMIN, "shared", extra_specs={"multiattach": "<is> True"})
    assert vs.volumes.create(MEMBER, size=1, volume_type="shared").multiattach is True


def test_quota_exceeded_writes_nothing(vs, core, bus):
    core.quotas.set_limits("p1", {"gigabytes": 5})
    vs.volumes.create(MEMBER, size=4)
    bus.casts.clear()
    with pytest.raises(errors.QuotaExceeded) as err:
        vs.volumes.create(MEMBER, size=2)
    assert err.value.resources == ["gigabytes"]
    assert "Requested 2G, quota is 5G and 4G has been consumed" in err.value.message
    assert volume_count(core) == 1 and usage(core) == {"volumes": 1, "gigabytes": 4}
    assert bus.casts == []
    core.quotas.set_limits("p1", {"volumes": 1})
    with pytest.raises(errors.QuotaExceeded) as err:
        vs.volumes.create(MEMBER, size=1)
    assert err.value.resources == ["volumes"] and "VolumeLimitExceeded" in err.value.message


def test_per_volume_gigabytes_limits_one_volume(vs, core):
    vs.quotas.update(ADMIN, "p1", {"per_volume_gigabytes": 3})
    with pytest.raises(errors.QuotaExceeded) as err:
        vs.volumes.create(MEMBER, size=4)
    assert err.value.resources == ["per_volume_gigabytes"]
    assert vs.volumes.create(MEMBER, size=3).size == 3


def test_a_client_token_makes_one_volume(vs, core, bus):
    first = vs.volumes.create(MEMBER, size=1, client_token="tok-1")
    again = vs.volumes.create(MEMBER, size=1, client_token="tok-1")
    assert again.id == first.id and volume_count(core) == 1
    assert usage(core)["volumes"] == 1 and bus.methods() == ["create_volume"]
    other = vs.volumes.create(OTHER, size=1, client_token="tok-1")  # tokens are per project
    assert other.id != first.id


def test_create_from_a_snapshot_takes_its_size_type_and_zone(vs, core):
    gold = vs.types.create(ADMIN, "gold")
    src = vs.volumes.create(MEMBER, size=4, volume_type="gold")
    place(core, src.id)
    snap = vs.snapshots.create(MEMBER, src.id)
    with pytest.raises(InvalidSnapshot):  # still creating
        vs.volumes.create(MEMBER, snapshot_id=snap.id)
    snapshot_done(core, snap.id)
    vol = vs.volumes.create(MEMBER, snapshot_id=snap.id)
    assert (vol.size, vol.volume_type_id, vol.snapshot_id) == (4, gold.id, snap.id)
    with pytest.raises(InvalidInput) as err:
        vs.volumes.create(MEMBER, size=3, snapshot_id=snap.id)
    assert "cannot be smaller than the snapshot size 4GB" in err.value.message
    assert vs.volumes.create(MEMBER, size=6, snapshot_id=snap.id).size == 6


def test_create_from_a_volume(vs, core):
    src = vs.volumes.create(MEMBER, size=2)
    with pytest.raises(InvalidVolume):
        vs.volumes.create(MEMBER, source_volid=src.id)  # creating
    place(core, src.id, bootable=True)
    clone = vs.volumes.create(MEMBER, source_volid=src.id)
    assert (clone.size, clone.source_volid, clone.bootable) == (2, src.id, True)
    with pytest.raises(VolumeNotFound):
        vs.volumes.create(OTHER, source_volid=src.id)
    with pytest.raises(InvalidInput):
        vs.volumes.create(MEMBER, size=1, source_volid=src.id)


def test_create_without_a_size_or_a_source_is_400(vs):
    with pytest.raises(InvalidInput):
        vs.volumes.create(MEMBER)


def test_create_from_an_image(vs, core):
    from tests.support.core_services import IMAGE_ID, add_image
    add_image(core.db, size=3 * (1 << 30) + 1, properties={"os_distro": "cirros"})
    vol = vs.volumes.create(MEMBER, size=4, image_id=IMAGE_ID)
    assert vol.bootable and vol.image_id == IMAGE_ID
    assert vol.image_metadata["os_distro"] == "cirros"
    assert vol.image_metadata["image_id"] == IMAGE_ID
    with pytest.raises(InvalidInput) as err:
        vs.volumes.create(MEMBER, size=3, image_id=IMAGE_ID)
    assert "image 4GB is larger than volume size 3GB" in err.value.message


def test_a_reader_may_not_create(vs):
    with pytest.raises(errors.Forbidden):
        vs.volumes.create(READER, size=1)


# ---- read ----------------------------------------------------------------------------
def test_other_projects_do_not_see_a_volume(vs):
    vol = vs.volumes.create(MEMBER, size=1)
    assert vs.volumes.get(MEMBER, vol.id).id == vol.id
    assert vs.volumes.get(READER, vol.id).id == vol.id
    assert vs.volumes.get(ADMIN, vol.id).id == vol.id
    with pytest.raises(VolumeNotFound) as err:
        vs.volumes.get(OTHER, vol.id)
    assert err.value.kind == "volume" and err.value.message == \
        f"Volume {vol.id} could not be found."
    assert vs.volumes.list(OTHER) == []


def test_list_sorts_pages_and_filters(vs, core):
    ids = [vs.volumes.create(MEMBER, size=i + 1, name=f"v{i}",
                             metadata={"n": str(i % 2)}).id for i in range(5)]
    listed = [v.id for v in vs.volumes.list(MEMBER)]
    assert set(listed) == set(ids)
    by_size = [v.size for v in vs.volumes.list(MEMBER, sort=[("size", "asc")])]
    assert by_size == [1, 2, 3, 4, 5]
    first = vs.volumes.list(MEMBER, sort=[("size", "desc")], limit=2)
    assert [v.size for v in first] == [5, 4]
    rest = vs.volumes.list(MEMBER, sort=[("size", "desc")], limit=2, marker=first[-1].id)
    assert [v.size for v in rest] == [3, 2]
    assert [v.name for v in vs.volumes.list(MEMBER, filters={"name": "v3"})] == ["v3"]
    assert len(vs.volumes.list(MEMBER, filters={"name~": "v"})) == 5
    odd = vs.volumes.list(MEMBER, filters={"metadata": {"n": "1"}}, sort=["size:asc"])
    assert [v.size for v in odd] == [2, 4]
    assert vs.volumes.count(MEMBER, filters={"metadata": '{"n": "0"}'}) == 3
    assert vs.volumes.count(MEMBER, filters={"size": "2"}) == 1
    assert [v.size for v in vs.volumes.list(MEMBER, sort=["size:asc"], offset=3)] == [4, 5]
    with pytest.raises(MarkerNotFound):
        vs.volumes.list(MEMBER, marker="nope")
    with pytest.raises(InvalidInput):
        vs.volumes.list(MEMBER, sort=[("bogus", "asc")])


def test_non_admins_filters_beyond_cinders_are_dropped(vs):
    vol = vs.volumes.create(MEMBER, size=1, client_token="t")
    vs.volumes.create(MEMBER, size=1)
    assert len(vs.volumes.list(MEMBER, filters={"client_token": "t"})) == 2
    assert [v.id for v in vs.volumes.list(MEMBER, filters={"client_token": "t"},
                                          any_filter=True)] == [vol.id]
    assert [v.id for v in vs.volumes.list(MEMBER, filters={"id": [vol.id]},
                                          any_filter=True)] == [vol.id]


def test_admins_list_every_project_with_all_tenants(vs):
    mine = vs.volumes.create(MEMBER, size=1)
    theirs = vs.volumes.create(OTHER, size=1)
    assert vs.volumes.list(ADMIN) == []
    assert {v.id for v in vs.volumes.list(ADMIN, all_tenants=True)} == {mine.id, theirs.id}
    assert [v.id for v in vs.volumes.list(ADMIN, all_tenants=True, project_id="p2")] == \
        [theirs.id]
    assert [v.id for v in vs.volumes.list(MEMBER, all_tenants=True)] == [mine.id]


def test_time_filters(vs):
    vol = vs.volumes.create(MEMBER, size=1)
    stamp = vol.created_at.isoformat()
    assert vs.volumes.count(MEMBER, filters={"created_at": f"gte:{stamp}"}) == 1
    assert vs.volumes.count(MEMBER, filters={"created_at": f"gt:{stamp}"}) == 0


def test_summary(vs):
    vs.volumes.create(MEMBER, size=2, metadata={"k": "a"})
    vs.volumes.create(MEMBER, size=3, metadata={"k": "b"})
    assert vs.volumes.summary(MEMBER) == {"total_count": 2, "total_size": 5,
                                          "metadata": {"k": ["a", "b"]}}


# ---- update, metadata, flags ---------------------------------------------------------
def test_update_and_metadata(vs):
    vol = vs.volumes.create(MEMBER, size=1, name="a", metadata={"x": "1"})
    vol = vs.volumes.update(MEMBER, vol.id, name="b")
    assert (vol.name, vol.metadata_) == ("b", {"x": "1"})
    assert vs.volumes.update(MEMBER, vol.id, metadata={"y": "2"}).metadata_ == {"y": "2"}
    assert vs.volumes.set_metadata(MEMBER, vol.id, {"z": "3"}) == {"y": "2", "z": "3"}
    assert vs.volumes.set_metadata(MEMBER, vol.id, {"w": "4"}, replace=True) == {"w": "4"}
    vs.volumes.delete_metadata_key(MEMBER, vol.id, "w")
    assert vs.volumes.metadata(MEMBER, vol.id) == {}
    with pytest.raises(errors.NotFound):
        vs.volumes.delete_metadata_key(MEMBER, vol.id, "w")
    with pytest.raises(InvalidInput):
        vs.volumes.set_metadata(MEMBER, vol.id, {"": "x"})
    with pytest.raises(VolumeNotFound):
        vs.volumes.update(OTHER, vol.id, name="mine")
    with pytest.raises(errors.Forbidden):
        vs.volumes.update(READER, vol.id, name="mine")


def test_bootable_and_readonly(vs, core):
    vol = vs.volumes.create(MEMBER, size=1)
    assert vs.volumes.set_bootable(MEMBER, vol.id, True).bootable is True
    with pytest.raises(InvalidVolume):
        vs.volumes.update_readonly(MEMBER, vol.id, True)  # creating
    place(core, vol.id)
    assert vs.volumes.update_readonly(MEMBER, vol.id, True).readonly is True


def test_reset_status_is_for_admins(vs):
    vol = vs.volumes.create(MEMBER, size=1)
    with pytest.raises(errors.Forbidden):
        vs.volumes.reset_status(MEMBER, vol.id, status="available")
    assert vs.volumes.reset_status(ADMIN, vol.id, status="error").status == "error"
    with pytest.raises(InvalidInput):
        vs.volumes.reset_status(ADMIN, vol.id, status="bogus")


# ---- delete ---------------------------------------------------------------------------
def test_delete_casts_to_the_volumes_back_end(vs, core, bus):
    vol = vs.volumes.create(MEMBER, size=2)
    place(core, vol.id)
    vs.volumes.delete(MEMBER, vol.id)
    assert vs.volumes.get(MEMBER, vol.id).status == "deleting"
    assert bus.last("delete_volume") == ({"volume_id": vol.id}, "node1@lvm")
    assert usage(core)["volumes"] == 1  # released once the back end has deleted it


def test_a_volume_never_placed_goes_at_once(vs, core, bus):
    vol = vs.volumes.create(MEMBER, size=2)
    with pytest.raises(InvalidVolume):  # creating
        vs.volumes.delete(MEMBER, vol.id)
    vs.volumes.reset_status(ADMIN, vol.id, status="error")
    vs.volumes.delete(MEMBER, vol.id)
    with pytest.raises(VolumeNotFound):
        vs.volumes.get(MEMBER, vol.id)
    assert usage(core) == {"volumes": 0, "gigabytes": 0}
    assert "delete_volume" not in bus.methods()


def test_force_delete_ignores_the_status(vs, core):
    vol = vs.volumes.create(MEMBER, size=1)
    with pytest.raises(errors.Forbidden):
        vs.volumes.delete(MEMBER, vol.id, force=True)
    vs.volumes.force_delete(ADMIN, vol.id)
    assert volume_count(core) == 0


@pytest.mark.parametrize("status", ["creating", "in-use", "attaching", "extending",
                                    "deleting", "reserved"])
def test_delete_refuses_busy_volumes(vs, core, status):
    vol = vs.volumes.create(MEMBER, size=1)
    place(core, vol.id, status=status)
    with pytest.raises((InvalidVolume, VolumeInUse)) as err:
        vs.volumes.delete(MEMBER, vol.id)
    assert err.value.message.startswith("Invalid volume: Volume status must be available or "
                                        "error")
    assert vs.volumes.get(MEMBER, vol.id).status == status


def test_delete_of_an_attached_volume_is_volume_in_use_even_forced(vs, core):
    vol = vs.volumes.create(MEMBER, size=1)
    place(core, vol.id, status="in-use", attach_status="attached")
    with pytest.raises(VolumeInUse):
        vs.volumes.delete(MEMBER, vol.id)
    with pytest.raises(VolumeInUse):
        vs.volumes.force_delete(ADMIN, vol.id)


def test_delete_with_snapshots_needs_cascade(vs, core, bus):
    vol = vs.volumes.create(MEMBER, size=1)
    place(core, vol.id)
    snap = vs.snapshots.create(MEMBER, vol.id)
    snapshot_done(core, snap.id)
    with pytest.raises(InvalidVolume):
        vs.volumes.delete(MEMBER, vol.id)
    vs.volumes.delete(MEMBER, vol.id, cascade=True)
    assert vs.snapshots.get(MEMBER, snap.id).status == "deleting"
    assert bus.methods()[-2:] == ["delete_snapshot", "delete_volume"]
    assert bus.last("delete_snapshot") == ({"snapshot_id": snap.id}, "node1@lvm")


def test_cascade_refuses_snapshots_that_are_busy(vs, core):
    vol = vs.volumes.create(MEMBER, size=1)
    place(core, vol.id)
    vs.snapshots.create(MEMBER, vol.id)  # creating
    with pytest.raises(InvalidVolume):
        vs.volumes.delete(MEMBER, vol.id, cascade=True)


def test_other_projects_cannot_delete(vs, core):
    vol = vs.volumes.create(MEMBER, size=1)
    place(core, vol.id)
    with pytest.raises(VolumeNotFound):
        vs.volumes.delete(OTHER, vol.id)
    with pytest.raises(errors.Forbidden):
        vs.volumes.delete(READER, vol.id)


# ---- extend ---------------------------------------------------------------------------
def test_extend_reserves_the_difference_and_casts(vs, core, bus):
    vol = vs.volumes.create(MEMBER, size=2)
    place(core, vol.id)
    vs.volumes.extend(MEMBER, vol.id, 5)
    got = vs.volumes.get(MEMBER, vol.id)
    assert (got.status, got.previous_status, got.size) == ("extending", "available", 2)
    assert usage(core)["gigabytes"] == 5
    assert bus.last("extend_volume") == ({"volume_id": vol.id, "new_size": 5}, None)


def test_extend_rules(vs, core, bus):
    vol = vs.volumes.create(MEMBER, size=2)
    with pytest.raises(InvalidVolume):
        vs.volumes.extend(MEMBER, vol.id, 3)  # creating
    place(core, vol.id)
    for bad in (2, 1, 0, "x"):
        with pytest.raises(InvalidInput):
            vs.volumes.extend(MEMBER, vol.id, bad)
    place(core, vol.id, status="in-use")
    with pytest.raises(InvalidVolume) as err:
        vs.volumes.extend(MEMBER, vol.id, 3)
    assert "must be available to extend, but current status is: in-use" in err.value.message
    vs.volumes.extend(MEMBER, vol.id, 3, allow_in_use=True)
    assert vs.volumes.get(MEMBER, vol.id).previous_status == "in-use"


def test_extend_over_quota_changes_nothing(vs, core, bus):
    core.quotas.set_limits("p1", {"gigabytes": 4})
    vol = vs.volumes.create(MEMBER, size=2)
    place(core, vol.id)
    with pytest.raises(errors.QuotaExceeded):
        vs.volumes.extend(MEMBER, vol.id, 5)
    assert vs.volumes.get(MEMBER, vol.id).status == "available"
    assert usage(core)["gigabytes"] == 2 and "extend_volume" not in bus.methods()


def test_snapshot_rows_count_for_delete(vs, core):
    vol = vs.volumes.create(MEMBER, size=1)
    place(core, vol.id)
    with core.db.session() as s:
        s.add(Snapshot(project_id="p1", volume_id=vol.id, size=1, status="available",
                       host=POOL))
    with pytest.raises(InvalidVolume):
        vs.volumes.delete(MEMBER, vol.id)
