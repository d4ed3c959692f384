"""Volumes racing on SQLite, PostgreSQL and MariaDB: two attaches of one
volume (exactly one wins, the other is refused with 400), concurrent creates
never past the project's quota, one volume per idempotency token, a delete
racing an attach or a snapshot, two extends of one volume."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select, update

from core import errors
from core.context import RequestContext
from core.policy import Enforcer
from core.policy.defaults import all_defaults
from core.quota.models import QuotaUsage
from core.quota.service import QuotaService
from core.volume.errors import InvalidVolume, VolumeInUse
from core.volume.models import Snapshot, Volume, VolumeAttachment
from core.volume.services import VolumeServices, build_volume
from tests.support.core_services import RecordingBus

MEMBER = RequestContext(user_id="u1", project_id="p1", roles=("member", "reader"))
POOL = "node1@lvm#pool-a"


def race(threads: int, work: Callable[[int], object]) -> list[object]:
    """``work(i)`` on ``threads`` threads started at once; results or exceptions."""
    start = threading.Barrier(threads)
    out: list[object] = [None] * threads

    def run(i: int) -> None:
        start.wait()
        try:
            out[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the caller inspects them
            out[i] = exc

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(60)
    return out


@pytest.fixture
def vs(db, settings) -> Iterator[VolumeServices]:
    quotas = QuotaService(db, settings)
    yield build_volume(db, Enforcer(all_defaults(), None), quotas, RecordingBus())
    quotas.dispose()


def available(vs: VolumeServices, size: int = 1) -> Volume:
    vol = vs.volumes.create(MEMBER, size=size)
    with vs.volumes.db.session() as s:
        s.execute(update(Volume).where(Volume.id == vol.id).values(status="available",
                                                                    host=POOL))
    return vol


def errors_of(results: list[object]) -> list[Exception]:
    return [r for r in results if isinstance(r, Exception)]


def test_two_attaches_of_one_volume_one_wins(vs):
    for _round in range(3):
        vol = available(vs)
        results = race(4, lambda i, v=vol.id: vs.attachments.create(
            MEMBER, v, f"00000000-0000-0000-0000-00000000000{i}"))
        wins = [r for r in results if isinstance(r, VolumeAttachment)]
        assert len(wins) == 1, results
        assert all(isinstance(e, VolumeInUse) for e in errors_of(results)), results
        with vs.volumes.db.session() as s:
            rows = s.scalar(select(func.count()).select_from(VolumeAttachment)
                            .where(VolumeAttachment.volume_id == vol.id))
        assert rows == 1
        assert vs.volumes.get(MEMBER, vol.id).status == "reserved"


def test_concurrent_creates_never_pass_the_quota(vs):
    vs.quotas.quotas.set_limits("p1", {"volumes": 5, "gigabytes": 100})
    results = race(12, lambda i: vs.volumes.create(MEMBER, size=2))
    made = [r for r in results if isinstance(r, Volume)]
    assert len(made) == 5, results
    assert all(isinstance(e, errors.QuotaExceeded) for e in errors_of(results)), results
    with vs.volumes.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Volume)) == 5
        used = dict(s.execute(select(QuotaUsage.resource, QuotaUsage.in_use)
                              .where(QuotaUsage.project_id == "p1")).tuples().all())
    assert used["volumes"] == 5 and used["gigabytes"] == 10


def test_gigabytes_quota_holds_under_concurrent_creates(vs):
    vs.quotas.quotas.set_limits("p1", {"gigabytes": 10})
    results = race(8, lambda i: vs.volumes.create(MEMBER, size=3))
    assert len([r for r in results if isinstance(r, Volume)]) == 3, results
    with vs.volumes.db.session() as s:
        total = s.scalar(select(func.sum(Volume.size)))
    assert total == 9


def test_one_volume_per_client_token(vs):
    results = race(4, lambda i: vs.volumes.create(MEMBER, size=1, client_token="tok"))
    ids = {r.id for r in results if isinstance(r, Volume)}
    assert len(ids) == 1 and not errors_of(results), results
    with vs.volumes.db.session() as s:
        used = s.scalar(select(QuotaUsage.in_use).where(QuotaUsage.project_id == "p1",
                                                        QuotaUsage.resource == "volumes"))
    assert used == 1


def test_delete_racing_an_attach(vs):
    for _round in range(3):
        vol = available(vs)

        def work(i: int, v: str = vol.id) -> object:
            if i == 0:
                return vs.volumes.delete(MEMBER, v)
            return vs.attachments.create(MEMBER, v, "00000000-0000-0000-0000-000000000001")

        results = race(2, work)
        assert len(errors_of(results)) == 1, results
        status = vs.volumes.get(MEMBER, vol.id).status
        assert status in ("deleting", "reserved")
        with vs.volumes.db.session() as s:
            atts = s.scalar(select(func.count()).select_from(VolumeAttachment)
                            .where(VolumeAttachment.volume_id == vol.id))
        assert (status == "reserved") == (atts == 1)


def test_delete_racing_a_snapshot(vs):
    for _round in range(3):
        vol = available(vs)

        def work(i: int, v: str = vol.id) -> object:
            if i == 0:
                return vs.volumes.delete(MEMBER, v)
            return vs.snapshots.create(MEMBER, v)

        results = race(2, work)
        assert len(errors_of(results)) == 1, results
        assert all(isinstance(e, InvalidVolume) for e in errors_of(results)), results
        with vs.volumes.db.session() as s:
            snaps = s.scalar(select(func.count()).select_from(Snapshot)
                             .where(Snapshot.volume_id == vol.id))
        assert (vs.volumes.get(MEMBER, vol.id).status == "deleting") == (snaps == 0)


def test_two_extends_one_wins(vs):
    vol = available(vs, size=2)
    results = race(3, lambda i: vs.volumes.extend(MEMBER, vol.id, 4 + i))
    assert len([r for r in results if isinstance(r, Volume)]) == 1, results
    with vs.volumes.db.session() as s:
        used = s.scalar(select(QuotaUsage.in_use).where(QuotaUsage.project_id == "p1",
                                                        QuotaUsage.resource == "gigabytes"))
    assert vs.volumes.get(MEMBER, vol.id).status == "extending"
    bus = vs.volumes.scheduler.bus
    extends = [p for _, method, p, _ in bus.casts if method == "extend_volume"]
    assert len(extends) == 1 and used == extends[0]["new_size"]  # one delta reserved


def test_concurrent_snapshots_never_pass_the_quota(vs):
    vol = available(vs, size=1)
    vs.quotas.quotas.set_limits("p1", {"snapshots": 3})
    results = race(8, lambda i: vs.snapshots.create(MEMBER, vol.id))
    assert len([r for r in results if isinstance(r, Snapshot)]) == 3, results
    assert all(isinstance(e, errors.QuotaExceeded) for e in errors_of(results)), results
    with vs.volumes.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Snapshot)) == 3


def test_pages_by_a_column_with_nulls_cover_every_volume_once(vs):
    names = [None, "b", None, "a", "c", None, "b"]
    made = {vs.volumes.create(MEMBER, size=1, name=n).id for n in names}
    for direction in ("asc", "desc"):
        seen: list[str] = []
        marker = None
        while True:
            page = vs.volumes.list(MEMBER, sort=[("name", direction)], limit=2, marker=marker)
            if not page:
                break
            seen += [v.id for v in page]
            marker = page[-1].id
        assert len(seen) == len(made) and set(seen) == made, direction
        full = [v.id for v in vs.volumes.list(MEMBER, sort=[("name", direction)])]
        assert seen == full
