"""Fixtures of the volume service tests: the core services on a SQLite
database of the test's own, with a bus that records casts (no scheduler, no
agent: a helper plays their part by writing what they would)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import update

from core.services import CoreServices
from core.volume.models import Snapshot, Volume, VolumePool
from core.volume.services import VolumeServices
from tests.support.core_services import RecordingBus, make_core

POOL = "node1@lvm#pool-a"


@pytest.fixture
def bus() -> RecordingBus:
    return RecordingBus()


@pytest.fixture
def core(tmp_path, bus) -> Iterator[CoreServices]:
    services = make_core(tmp_path, bus)
    yield services
    services.db.dispose()


@pytest.fixture
def vs(core) -> VolumeServices:
    return core.volumes


def place(core: CoreServices, volume_id: str, status: str = "available",
          host: str = POOL, **values) -> None:
    """What the scheduler and the agent would do: the volume on ``host``."""
    with core.db.session() as s:
        s.execute(update(Volume).where(Volume.id == volume_id)
                  .values(status=status, host=host, **values))


def snapshot_done(core: CoreServices, snapshot_id: str, status: str = "available") -> None:
    with core.db.session() as s:
        s.execute(update(Snapshot).where(Snapshot.id == snapshot_id)
                  .values(status=status, progress="100%"))


def add_pool(core: CoreServices, name: str = POOL, zone: str = "nova") -> None:
    with core.db.session() as s:
        s.add(VolumePool(name=name, backend=name.partition("#")[0], availability_zone=zone,
                         total_capacity_gb=100, free_capacity_gb=100))
