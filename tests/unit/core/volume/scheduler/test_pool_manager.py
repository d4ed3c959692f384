"""The volume scheduler's in-memory pools (core/volume/scheduler/pool_manager.py):
only pools whose version changed are reloaded; a stale view never
over-subscribes a pool (its claim finds no room and the next pool is taken)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.clock import utcnow
from core.db import Database
from core.quota.service import QuotaService
from core.volume import claims
from core.volume.models import Volume, VolumePool, VolumeType
from core.volume.scheduler.manager import VolumeScheduler
from core.volume.scheduler.pool_manager import PoolManager
from tests.support.core_services import migrated_database
from tests.unit.core.volume.scheduler.factories import make_settings


@pytest.fixture
def settings(tmp_path):
    return make_settings(data_dir=tmp_path)


@pytest.fixture
def db(settings) -> Iterator[Database]:
    database = migrated_database(settings)
    yield database
    database.dispose()


@pytest.fixture
def other(db) -> Iterator[Database]:
    """The same database through an engine of its own: another process."""
    database = Database(db.url)
    yield database
    database.dispose()


def add_pool(db: Database, name: str, total: float) -> int:
    with db.session() as s:
        pool = VolumePool(name=name, backend=name.partition("#")[0], total_capacity_gb=total,
                          free_capacity_gb=total, capabilities={}, updated_at=utcnow())
        s.add(pool)
        s.flush()
        return pool.id


def names(manager: PoolManager) -> dict[str, int]:
    return {p.name: p.provisioned_capacity_gb for p in manager.pool_states()}


def test_only_changed_pools_are_reloaded(db, other):
    a = add_pool(db, "h@b#a", 100)
    add_pool(db, "h@b#b", 100)
    manager = PoolManager(db, down_time=60)
    assert names(manager) == {"h@b#a": 0, "h@b#b": 0}
    assert manager.reloads == 2
    assert claims.claim_capacity(other, "v1", a, 10)
    assert names(manager) == {"h@b#a": 10, "h@b#b": 0}
    assert manager.reloads == 3
    add_pool(other, "h@b#c", 100)
    with other.session() as s:  # b stops reporting
        s.execute(update(VolumePool).where(VolumePool.name == "h@b#b").values(
            updated_at=utcnow() - timedelta(seconds=61)))
    assert names(manager) == {"h@b#a": 10, "h@b#c": 0}
    with other.session() as s:
        s.execute(update(VolumePool).where(VolumePool.name == "h@b#c").values(disabled=True))
    assert names(manager) == {"h@b#a": 10}
    assert manager.reloads == 6


class Agents:
    def __init__(self) -> None:
        self.created: list[str] = []

    def create_volume(self, backend: str, volume: dict) -> None:
        self.created.append(volume["host"])


def test_a_stale_view_takes_the_next_pool_and_never_over_subscribes(db, other, settings,
                                                                     monkeypatch):
    big = add_pool(db, "h@b#big", 100)
    add_pool(db, "h@b#small", 20)
    agents = Agents()
    quotas = QuotaService(db, settings)
    scheduler = VolumeScheduler(db, settings, agents, quotas)  # type: ignore[arg-type]
    stale = scheduler.pools.pool_states()  # "big" has the most room
    assert claims.claim_capacity(other, "theirs", big, 95, thin=False)
    monkeypatch.setattr(scheduler.pools, "pool_states", lambda: stale)
    with db.session() as s:
        type_id = s.scalars(select(VolumeType.id).where(VolumeType.name == "__DEFAULT__")).one()
        volume_id = str(uuid.uuid4())
        s.add(Volume(id=volume_id, project_id="p1", size=10, volume_type_id=type_id,
                     status="creating"))
    scheduler.create_volume(volume_id)
    assert agents.created == ["h@b#small"]
    with db.session() as s:
        pools = {p.name: p.provisioned_capacity_gb for p in s.scalars(select(VolumePool))}
    assert pools == {"h@b#big": 95, "h@b#small": 10}
    monkeypatch.undo()
    assert names(scheduler.pools)["h@b#big"] == 95  # reloaded: its generation moved
    quotas.dispose()
