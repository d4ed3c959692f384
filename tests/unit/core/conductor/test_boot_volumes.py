"""The conductor's volumes of a build (boot from volume): made, waited for and
reserved with their device names before the build; a build delivered twice
makes and reserves nothing twice."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from core.conductor.boot_volumes import BootVolumeFailed, BootVolumePreparer
from core.conductor.build import build_message
from core.conductor.wiring import build_conductor
from core.volume.models import Volume, VolumeAttachment
from tests.support.core_services import IMAGE_ID, RecordingBus, add_image, add_instance, make_core
from tests.unit.core.conductor.test_volume_attach import add_volume


@pytest.fixture
def setup(tmp_path):
    bus = RecordingBus()
    core = make_core(tmp_path, bus, fixed_range="10.9.0.0/28")
    add_image(core.db)
    yield core, build_conductor(core), bus
    core.db.dispose()


class BackEnd:
    """Stands for the volume scheduler and agent: a volume made is available."""

    def __init__(self, db, status: str = "available") -> None:
        self.db = db
        self.status = status

    def __call__(self, preparer: BootVolumePreparer):
        wait = preparer._wait_available

        def made(ctx, volume_id):
            with self.db.session() as s:
                s.execute(update(Volume).where(Volume.id == volume_id,
                                               Volume.status == "creating")
                          .values(status=self.status, host="h@lvm#pool1"))
            return wait(ctx, volume_id)
        preparer._wait_available = made  # type: ignore[method-assign]
        return preparer


def rows(db, model):
    with db.session() as s:
        return list(s.scalars(select(model)))


def instance(core, uuid):
    return core.instances.get(uuid)


ROOT_FROM_IMAGE = {"source_type": "image", "destination_type": "volume", "uuid": IMAGE_ID,
                   "volume_size": 1, "boot_index": 0, "delete_on_termination": True}


def test_a_root_volume_from_the_image_is_made_once(setup):
    core, conductor, bus = setup
    uuid = add_instance(core.db)
    preparer = BackEnd(core.db)(BootVolumePreparer(conductor.deps, wait_seconds=2))
    preparer.prepare(instance(core, uuid), [ROOT_FROM_IMAGE])
    preparer.prepare(instance(core, uuid), [ROOT_FROM_IMAGE])  # the build redelivered
    (vol,) = rows(core.db, Volume)
    assert vol.size == 1 and vol.image_id == IMAGE_ID and vol.status == "reserved"
    (att,) = rows(core.db, VolumeAttachment)
    assert (att.mountpoint, att.boot_index, att.delete_on_termination) == ("/dev/vda", 0, True)
    assert bus.methods().count("create_volume") == 1
    (device,) = build_message(conductor.deps, instance(core, uuid))["block_devices"]
    assert device["id"] == att.id and device["mountpoint"] == "/dev/vda"


def test_a_given_root_and_a_blank_volume(setup):
    core, conductor, _ = setup
    uuid = add_instance(core.db)
    given = add_volume(core.db)
    preparer = BackEnd(core.db)(BootVolumePreparer(conductor.deps, wait_seconds=2))
    preparer.prepare(instance(core, uuid), [
        {"source_type": "blank", "destination_type": "volume", "volume_size": 2,
         "boot_index": -1},
        {"source_type": "volume", "destination_type": "volume", "uuid": given,
         "boot_index": 0}])
    devices = {a.volume_id: a.mountpoint for a in rows(core.db, VolumeAttachment)}
    assert devices[given] == "/dev/vda"
    (blank,) = [v for v in rows(core.db, Volume) if v.id != given]
    assert blank.size == 2 and devices[blank.id] == "/dev/vdb"


def test_a_volume_in_error_fails_the_build(setup):
    core, conductor, _ = setup
    uuid = add_instance(core.db)
    preparer = BackEnd(core.db, "error")(BootVolumePreparer(conductor.deps, wait_seconds=2))
    with pytest.raises(BootVolumeFailed, match="did not finish being created"):
        preparer.prepare(instance(core, uuid), [ROOT_FROM_IMAGE])
    with core.db.session() as s:
        assert s.scalar(select(func.count()).select_from(VolumeAttachment)) == 0


def test_an_attached_volume_cannot_be_the_root(setup):
    core, conductor, _ = setup
    taken = add_volume(core.db, status="in-use")
    preparer = BootVolumePreparer(conductor.deps, wait_seconds=1)
    with pytest.raises(BootVolumeFailed, match="status must be"):
        preparer.prepare(instance(core, add_instance(core.db)), [
            {"source_type": "volume", "destination_type": "volume", "uuid": taken,
             "boot_index": 0}])
