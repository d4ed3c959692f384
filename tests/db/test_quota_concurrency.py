"""Quota reservations racing on SQLite, PostgreSQL and MariaDB: concurrent
requests never overshoot a limit, and creating the usage rows on first use
neither deadlocks nor raises IntegrityError."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import select

from core import errors
from core.db import Database
from core.quota.models import QuotaUsage
from core.quota.service import QuotaService


@pytest.fixture
def quotas(db, settings) -> QuotaService:
    return QuotaService(db, settings)


def _race(db: Database, quotas: QuotaService, project: str, deltas: dict[str, int],
          threads: int) -> list[str]:
    start = threading.Barrier(threads)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        start.wait()
        try:
            with db.session() as s:
                quotas.reserve(s, project, deltas)
            result = "ok"
        except errors.QuotaExceeded:
            result = "over"
        except Exception as exc:  # noqa: BLE001 - reported below
            result = f"error: {exc!r}"
        with lock:
            outcomes.append(result)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=180)
    assert len(outcomes) == threads, "a worker hung"
    assert [o for o in outcomes if o.startswith("error")] == []
    return outcomes


def _in_use(db: Database, project: str) -> dict[str, int]:
    with db.session() as s:
        return dict(s.execute(select(QuotaUsage.resource, QuotaUsage.in_use)
                              .where(QuotaUsage.project_id == project)).tuples().all())


def test_fifty_threads_against_a_limit_of_ten(db, quotas):
    """A fresh project: every thread also races to create the usage row."""
    project = f"p-{uuid.uuid4().hex[:8]}"
    quotas.set_limits(project, {"instances": 10})
    outcomes = _race(db, quotas, project, {"instances": 1}, threads=50)
    assert outcomes.count("ok") == 10
    assert _in_use(db, project) == {"instances": 10}


def test_several_resources_at_once(db, quotas):
    """Each request takes an instance and two cores; cores run out first."""
    project = f"p-{uuid.uuid4().hex[:8]}"
    quotas.set_limits(project, {"instances": 10, "cores": 12})
    outcomes = _race(db, quotas, project, {"instances": 1, "cores": 2, "ram": 64},
                     threads=30)
    assert outcomes.count("ok") == 6
    assert _in_use(db, project) == {"cores": 12, "instances": 6, "ram": 384}


def test_reservations_and_releases_interleaved(db, quotas):
    project = f"p-{uuid.uuid4().hex[:8]}"
    quotas.set_limits(project, {"instances": 5})
    with db.session() as s:
        quotas.reserve(s, project, {"instances": 5})
    start = threading.Barrier(20)
    failures: list[BaseException] = []

    def release() -> None:
        start.wait()
        try:
            with db.session() as s:
                quotas.release(s, project, {"instances": 1})
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    def reserve() -> None:
        start.wait()
        try:
            with db.session() as s:
                quotas.reserve(s, project, {"instances": 1})
        except errors.QuotaExceeded:
            pass
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    pool = [threading.Thread(target=release) for _ in range(5)] + \
        [threading.Thread(target=reserve) for _ in range(15)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=180)
    assert failures == []
    assert 0 <= _in_use(db, project)["instances"] <= 5
