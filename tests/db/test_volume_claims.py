"""Pool claims on SQLite, PostgreSQL and MariaDB: exact, idempotent, race-free;
many volume schedulers placing at once never over-subscribe a pool."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from core.clock import utcnow
from core.quota.service import QuotaService
from core.volume import claims
from core.volume.claims import Claim
from core.volume.models import Volume, VolumeClaim, VolumePool, VolumeType
from core.volume.scheduler.manager import VolumeScheduler


class RecordingAgents:
    def __init__(self) -> None:
        self.created: list[tuple[str, dict]] = []

    def create_volume(self, backend: str, volume: dict) -> None:
        self.created.append((backend, volume))

    def extend_volume(self, backend: str, volume_id: str, new_size: int) -> None:
        pass


def add_pool(db, name: str, total: float, thin: bool = False, ratio: float = 1.0,
             reserved: int = 0) -> int:
    with db.session() as s:
        pool = VolumePool(name=name, backend=name.partition("#")[0], total_capacity_gb=total,
                          free_capacity_gb=total, thin_provisioning_support=thin,
                          thick_provisioning_support=not thin,
                          max_over_subscription_ratio=ratio, reserved_percentage=reserved,
                          capabilities={}, updated_at=utcnow())
        s.add(pool)
        s.flush()
        return pool.id


def add_volumes(db, n: int, size: int) -> list[str]:
    with db.session() as s:
        type_id = s.scalars(select(VolumeType.id).where(VolumeType.name == "__DEFAULT__")).one()
        ids = [str(uuid.uuid4()) for _ in range(n)]
        s.add_all(Volume(id=i, project_id="p1", size=size, volume_type_id=type_id,
                         status="creating") for i in ids)
        return ids


def assert_counters_match_claims(db) -> dict[int, int]:
    with db.session() as s:
        sums = dict(s.execute(select(VolumeClaim.pool_id, func.sum(VolumeClaim.size_gb))
                              .group_by(VolumeClaim.pool_id)).all())
        pools = {p.id: p.provisioned_capacity_gb for p in s.scalars(select(VolumePool))}
    assert pools == {pid: int(sums.get(pid, 0)) for pid in pools}
    return pools


def test_claim_fits_exactly_and_not_one_more(db):
    pool = add_pool(db, "h@b#p", 10)
    assert claims.claim_capacity(db, "v1", pool, 10, thin=False) is Claim.CLAIMED
    assert claims.claim_capacity(db, "v2", pool, 1, thin=False) is Claim.NO_ROOM
    assert claims.claim_capacity(db, "v1", pool, 10) is Claim.HELD
    other = add_pool(db, "h@b#q", 10)
    assert claims.claim_capacity(db, "v1", other, 1) is Claim.ELSEWHERE
    assert claims.claim_capacity(db, "v3", 999, 1) is Claim.NO_ROOM
    assert assert_counters_match_claims(db) == {pool: 10, other: 0}


def test_thin_limit_over_subscribes_and_reserve_is_kept(db):
    pool = add_pool(db, "h@b#thin", 100, thin=True, ratio=2.0, reserved=10)
    # (100 - 10) * 2 = 180
    assert claims.claim_capacity(db, "v1", pool, 180)
    assert not claims.claim_capacity(db, "v2", pool, 1)
    # a thick volume on the thin pool is not over-subscribed
    pool2 = add_pool(db, "h@b#thin2", 100, thin=True, ratio=2.0)
    assert not claims.claim_capacity(db, "v3", pool2, 101, thin=False)


def test_resize_and_release_are_exact_and_idempotent(db):
    pool = add_pool(db, "h@b#p", 10)
    assert claims.claim_capacity(db, "v1", pool, 4)
    assert claims.resize_claim(db, "v1", 10)
    assert claims.resize_claim(db, "v1", 10)
    assert not claims.resize_claim(db, "v1", 11)
    assert claims.resize_claim(db, "v1", 2)
    assert not claims.resize_claim(db, "nobody", 2)
    assert claims.release_capacity(db, "v1") == 2
    assert claims.release_capacity(db, "v1") == 0
    assert assert_counters_match_claims(db) == {pool: 0}


def test_concurrent_claims_never_over_subscribe(db):
    pool = add_pool(db, "h@b#p", 25)
    with ThreadPoolExecutor(16) as ex:
        results = list(ex.map(lambda i: claims.claim_capacity(db, f"v{i}", pool, 1),
                              range(100)))
    assert sum(1 for r in results if r is Claim.CLAIMED) == 25
    assert assert_counters_match_claims(db) == {pool: 25}
    with ThreadPoolExecutor(16) as ex:
        released = list(ex.map(lambda i: claims.release_capacity(db, f"v{i % 50}"),
                               range(100)))
    assert sum(released) == 25
    assert assert_counters_match_claims(db) == {pool: 0}


def test_hundred_concurrent_creates_on_tight_pools(db, settings):
    """100 volumes at once through two schedulers' code: exactly what fits is
    placed, the rest go to error, no pool over its limit."""
    a = add_pool(db, "h@b#a", 40)
    b = add_pool(db, "h@b#b", 20)
    ids = add_volumes(db, 100, 1)
    quotas = QuotaService(db, settings)
    agents = RecordingAgents()
    schedulers = [VolumeScheduler(db, settings, agents, quotas) for _ in range(2)]  # type: ignore[arg-type]
    with ThreadPoolExecutor(16) as ex:
        list(ex.map(lambda i: schedulers[i % 2].create_volume(ids[i]), range(100)))
    # each message delivered twice: nothing changes
    with ThreadPoolExecutor(16) as ex:
        list(ex.map(lambda i: schedulers[i % 2].create_volume(ids[i]), range(100)))
    with db.session() as s:
        rows = list(s.scalars(select(Volume)))
    placed = [v for v in rows if v.host]
    assert len(placed) == 60
    assert all(v.status == "creating" for v in placed)
    assert all(v.status == "error" and v.fault.startswith("No valid backend")
               for v in rows if not v.host)
    assert assert_counters_match_claims(db) == {a: 40, b: 20}
    assert sorted({vol["id"] for _, vol in agents.created}) == sorted(v.id for v in placed)
    quotas.dispose()
