"""Volumes' bytes through the simulated back end and the volume manager, in one
process: a volume made from an image holds its bytes (and passes them on to
snapshots and clones), and a volume read for an image has them written
through the image store by the manager, the volume put back."""

from __future__ import annotations

import hashlib
import time

import pytest
from sqlalchemy import select

from core.image.models import Image
from core.volume.images import ZERO_PAYLOAD
from core.volume.models import Snapshot, Volume, VolumeType
from core.volume.rpcapi import volume_message
from tests.unit.core.volume.plane import PROJECT, VolumePlane

DATA = b"image bytes " * 1000


@pytest.fixture
def plane(tmp_path):
    p = VolumePlane(tmp_path).start()
    yield p
    p.stop()


def _image(plane, status: str = "active", data: bytes | None = DATA) -> str:
    with plane.db.session() as s:
        image = Image(name="img", status="queued", owner=PROJECT, disk_format="raw",
                      container_format="bare", properties={}, tags=[])
        s.add(image)
        s.flush()
        image_id = image.id
    if data is not None:
        store = plane.manager.uploads.data.store(None)
        stored = store.add(image_id, iter([data]), max_size=1 << 30)
        with plane.db.session() as s:
            image = s.get(Image, image_id)
            image.location, image.store, image.size = stored.location, store.id, stored.size
            image.checksum = stored.checksum
    with plane.db.session() as s:
        s.get(Image, image_id).status = status
    return image_id


def _volume(plane, size: int = 1, image_id: str | None = None,
            snapshot_id: str | None = None) -> str:
    with plane.db.session() as s:
        vtype = s.scalars(select(VolumeType).where(VolumeType.name == "__DEFAULT__")).one()
        meta = {}
        if image_id:
            meta = {"image_id": image_id, "size": str(len(DATA))}
        elif snapshot_id:
            snap = s.get(Snapshot, snapshot_id)
            meta = dict(s.get(Volume, snap.volume_id).image_metadata)
        volume = Volume(project_id=PROJECT, size=size, volume_type_id=vtype.id,
                        status="creating", image_id=image_id, snapshot_id=snapshot_id,
                        image_metadata=meta)
        s.add(volume)
        s.flush()
        volume_id = volume.id
    plane.scheduler_client.create_volume(volume_id)
    plane.wait_status(volume_id, "available")
    return volume_id


def _upload(plane, volume_id: str, content=None, before: str = "available") -> str:
    image_id = _image(plane, status="saving", data=None)
    with plane.db.session() as s:
        volume = s.get(Volume, volume_id)
        volume.previous_status, volume.status = before, "uploading"
        backend = volume.host.partition("#")[0]
    plane.agents.copy_volume_to_image(backend, volume_id, image_id, content)
    plane.wait_status(volume_id, before)
    return image_id


def _wait_image(plane, image_id: str, *statuses: str) -> Image:
    deadline = time.monotonic() + 10
    while True:
        with plane.db.session() as s:
            image = s.get(Image, image_id)
        if image.status in statuses:
            return image
        assert time.monotonic() < deadline, image.status
        time.sleep(0.02)


def _bytes(plane, image: Image) -> bytes:
    return b"".join(plane.manager.uploads.data.store(None).get(image.location))


def test_the_message_carries_the_images_size():
    class Row:
        id, size, host, snapshot_id, source_volid = "v", 1, "h@b#p", None, None
        image_id, image_metadata = "i", {"image_id": "i", "size": "6000"}

    assert volume_message(Row())["image_size"] == 6000 and volume_message(Row())["pool"] == "p"


def test_volume_from_image_holds_its_bytes_and_passes_them_on(plane):
    src = _image(plane)
    vid = _volume(plane, image_id=src)
    assert plane.agent.driver.contents[vid] == {"image_id": src, "size": len(DATA)}
    snap = plane.snapshot(vid)
    deadline = time.monotonic() + 10
    while plane.snapshot_row(snap).status != "available":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert plane.agent.driver.contents[snap] == {"image_id": src, "size": len(DATA)}
    clone = _volume(plane, snapshot_id=snap)
    assert plane.agent.driver.contents[clone]["image_id"] == src


def test_upload_writes_the_source_images_bytes(plane):
    src = _image(plane)
    vid = _volume(plane, image_id=src)
    image_id = _upload(plane, vid)
    image = _wait_image(plane, image_id, "active")
    assert image.size == len(DATA) and image.checksum == hashlib.md5(DATA).hexdigest()
    assert _bytes(plane, image) == DATA
    assert plane.volume(vid).previous_status is None
    # a repeated report changes nothing
    assert plane.manager.volume_uploaded(vid, image_id, {"image_id": src,
                                                         "size": 1})["status"] == "available"
    assert _wait_image(plane, image_id, "active").checksum == image.checksum


def test_blank_volume_uploads_zeros_and_in_use_goes_back_in_use(plane):
    vid = _volume(plane, size=2)
    image_id = _upload(plane, vid, before="in-use")
    image = _wait_image(plane, image_id, "active")
    assert image.size == ZERO_PAYLOAD and _bytes(plane, image) == bytes(ZERO_PAYLOAD)
    assert plane.volume(vid).status == "in-use"


def test_a_back_end_that_forgot_the_volume_uses_the_databases_content(plane):
    src = _image(plane)
    vid = _volume(plane, image_id=src)
    plane.agent.driver.volumes.pop(vid)  # as after a restart
    plane.agent.driver.contents.pop(vid)
    image_id = _upload(plane, vid, content={"image_id": src, "size": len(DATA)})
    assert _bytes(plane, _wait_image(plane, image_id, "active")) == DATA


def test_a_failed_read_kills_the_image_and_puts_the_volume_back(plane):
    vid = _volume(plane)

    def broken(volume_id):
        from core.volume.agent.driver import StorageError
        raise StorageError("disk on fire")

    plane.agent.driver.read_volume = broken
    image_id = _upload(plane, vid)
    assert _wait_image(plane, image_id, "killed").status == "killed"
    assert plane.volume(vid).status == "available"
