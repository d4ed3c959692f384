"""Volumes made through the core service in the all-in-one control plane (its
volume scheduler, manager and simulated back end with two pools)."""

from __future__ import annotations

import time
import uuid

import pytest

from core.context import RequestContext
from core.control_plane import ControlPlane
from core.db import Database
from core.db.migrate import upgrade
from core.messaging import Bus
from core.services import build_core
from core.settings import load_settings
from core.volume.models import Volume

CTX = RequestContext(user_id="u1", project_id="p1", roles=("member", "reader"))


class AllInOne:
    def __init__(self, tmp_path, **overrides):
        self.settings = load_settings({}, data_dir=tmp_path, compute_hosts=0,
                                      volume_backend="aio@sim", **overrides)
        self.db = Database(self.settings.effective_database_url)
        upgrade(self.db)
        self.bus = Bus("memory://", namespace=f"t{uuid.uuid4().hex[:8]}")
        self.core = build_core(self.settings, db=self.db, bus=self.bus)
        self.plane = ControlPlane(self.core, conductors=1, schedulers=1).start()
        self.volumes = self.core.volumes.volumes

    def stop(self):
        self.plane.stop()
        self.bus.close()
        self.db.dispose()

    def row(self, volume_id) -> Volume | None:
        with self.db.session() as s:
            return s.get(Volume, volume_id)

    def until(self, volume_id, predicate, timeout=30.0) -> Volume | None:
        deadline = time.monotonic() + timeout
        while True:
            volume = self.row(volume_id)
            if predicate(volume):
                return volume
            assert time.monotonic() < deadline, volume and (volume.status, volume.fault)
            time.sleep(0.02)

    def wait(self, volume_id, *statuses, timeout=30.0) -> Volume:
        volume = self.until(volume_id, lambda v: v is not None and v.status in statuses,
                            timeout)
        assert volume is not None
        return volume


@pytest.fixture
def aio(tmp_path, request):
    plane = AllInOne(tmp_path, **getattr(request, "param", {}))
    yield plane
    plane.stop()


def test_volume_becomes_available_on_a_pool(aio):
    volume = aio.volumes.create(CTX, size=5, name="data")
    assert volume.status == "creating"
    placed = aio.wait(volume.id, "available")
    assert placed.host in ("aio@sim#pool-a", "aio@sim#pool-b")
    # thin pool-a (1000 GB, ratio 20) has the most virtual room
    assert placed.host == "aio@sim#pool-a"
    aio.volumes.extend(CTX, volume.id, 8)
    extended = aio.until(volume.id, lambda v: v.status != "extending")
    assert (extended.status, extended.size) == ("available", 8)
    aio.volumes.delete(CTX, volume.id)
    aio.until(volume.id, lambda v: v is None)
    assert aio.core.quotas.usage("p1")["gigabytes"] == 0


@pytest.mark.parametrize("aio", [{"volume_pools": "pool-a:1000:thin:1.0,pool-b:100:thick"}],
                         indirect=True)
def test_failing_pool_is_left_for_the_other(aio):
    volume = aio.volumes.create(CTX, size=5)
    placed = aio.wait(volume.id, "available", "error")
    assert placed.status == "available"
    assert placed.host == "aio@sim#pool-b"
    assert placed.scheduling["hosts"] == ["aio@sim#pool-a", "aio@sim#pool-b"]


@pytest.mark.parametrize("aio", [{"volume_pools": "pool-a:10:thick,pool-b:5:thick"}],
                         indirect=True)
def test_no_pool_with_room_is_error(aio):
    first = aio.volumes.create(CTX, size=10)
    assert aio.wait(first.id, "available", "error").status == "available"
    second = aio.volumes.create(CTX, size=6)
    failed = aio.wait(second.id, "available", "error")
    assert failed.status == "error"
    assert failed.fault.startswith("No valid backend was found.")
    # the user may delete it: it was never placed, so it goes at once
    aio.volumes.delete(CTX, second.id)
    assert aio.core.quotas.usage("p1")["gigabytes"] == 10
