"""core/quota/service.py on SQLite: limits, atomic reservations (also under
50 concurrent threads), Nova's over-quota message. The same reservation race
on PostgreSQL and MariaDB: tests/db/test_quota_concurrency.py; os-quota-sets:
tests/unit/core/compute/test_quotas.py."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from core import errors
from core.db import Database
from core.db.migrate import upgrade
from core.quota.models import QuotaUsage
from core.quota.service import QuotaService, check_count, over_quota_message
from core.settings import load_settings


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'nimbus.db'}")
    upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def quotas(db, tmp_path) -> QuotaService:
    return QuotaService(db, load_settings(environ={}, data_dir=tmp_path))



def usage_row(db: Database, project: str, resource: str) -> int | None:
    with db.session() as s:
        return s.scalar(select(QuotaUsage.in_use).where(QuotaUsage.project_id == project,
                                                        QuotaUsage.resource == resource))


# ---------------------------------------------------------------- limits

def test_defaults_come_from_settings_and_nova(quotas):
    limits = quotas.limits_for("p1")
    assert limits["instances"] == 10 and limits["cores"] == 20 and limits["ram"] == 51200
    assert limits["key_pairs"] == 100 and limits["server_groups"] == 10
    assert limits["injected_files"] == 5 and limits["injected_file_content_bytes"] == 10240
    assert limits["injected_file_path_bytes"] == 255
    assert limits["fixed_ips"] == -1 and limits["floating_ips"] == 10
    assert limits["security_groups"] == 10 and limits["security_group_rules"] == 100  # Neutron's


def test_project_and_user_overrides(quotas):
    quotas.set_limits("p1", {"instances": 3, "cores": -1})
    quotas.set_limits("p1", {"instances": 2}, user_id="u9")
    assert quotas.limits_for("p1")["instances"] == 3
    assert quotas.limits_for("p1")["cores"] == -1
    assert quotas.limits_for("p1", "u9")["instances"] == 2
    assert quotas.limits_for("p2")["instances"] == 10
    quotas.clear_limits("p1", user_id="u9")
    assert quotas.limits_for("p1", "u9")["instances"] == 3
    quotas.clear_limits("p1")
    assert quotas.limits_for("p1")["instances"] == 10


# ---------------------------------------------------------------- reserve / release

def test_reserve_and_release(db, quotas):
    with db.session() as s:
        quotas.reserve(s, "p1", {"instances": 2, "cores": 4, "ram": 1024})
    assert quotas.usage("p1")["instances"] == 2 and quotas.usage("p1")["ram"] == 1024
    with db.session() as s:
        quotas.release(s, "p1", {"instances": 1, "cores": 10})
    used = quotas.usage("p1")
    assert used["instances"] == 1 and used["cores"] == 0  # never below zero


def test_reserve_is_rolled_back_with_the_callers_transaction(db, quotas):
    with pytest.raises(RuntimeError), db.session() as s:
        quotas.reserve(s, "p1", {"instances": 1})
        raise RuntimeError("the create failed after reserving")
    assert quotas.usage("p1")["instances"] == 0


def test_over_quota_changes_nothing_and_says_what_nova_says(db, quotas):
    quotas.set_limits("p1", {"instances": 10, "cores": 20})
    with db.session() as s:
        quotas.reserve(s, "p1", {"instances": 10, "cores": 20, "ram": 100})
    with pytest.raises(errors.QuotaExceeded) as exc, db.session() as s:
        quotas.reserve(s, "p1", {"instances": 1, "cores": 2, "ram": 10})
    assert exc.value.message == ("Quota exceeded for cores, instances: Requested 2, 1, but "
                                 "already used 20, 10 of 20, 10 cores, instances")
    assert exc.value.resources == ["cores", "instances"]
    assert quotas.usage("p1")["ram"] == 100  # the resource that fitted was not kept


def test_a_partial_failure_inside_a_surviving_session_is_undone(db, quotas):
    quotas.set_limits("p1", {"instances": 1})
    with db.session() as s:
        quotas.reserve(s, "p1", {"instances": 1})
    with db.session() as s:
        with pytest.raises(errors.QuotaExceeded):
            quotas.reserve(s, "p1", {"cores": 1, "instances": 1})
        # the caller carries on with its transaction: cores must not stay reserved
    assert quotas.usage("p1")["cores"] == 0 and quotas.usage("p1")["instances"] == 1


def test_unlimited_resources_always_fit(db, quotas):
    quotas.set_limits("p1", {"ram": -1})
    with db.session() as s:
        quotas.reserve(s, "p1", {"ram": 10_000_000})
    assert quotas.usage("p1")["ram"] == 10_000_000


def test_only_counted_resources_are_reserved(db, quotas):
    with pytest.raises(ValueError), db.session() as s:
        quotas.reserve(s, "p1", {"key_pairs": 1})
    with pytest.raises(ValueError), db.session() as s:
        quotas.reserve(s, "p1", {"instances": -1})


def test_a_deleted_usage_row_is_recreated(db, quotas):
    with db.session() as s:
        quotas.reserve(s, "p1", {"instances": 1})
    with db.session() as s:
        s.query(QuotaUsage).delete()
    with db.session() as s:
        quotas.reserve(s, "p1", {"instances": 1})
    assert usage_row(db, "p1", "instances") == 1


def test_fifty_threads_reserving_against_a_limit_of_ten(db, quotas):
    """Writers serialise on SQLite; the conditional UPDATE lets exactly ten in."""
    outcomes = race(db, quotas, "p-race", threads=50)
    assert outcomes.count("ok") == 10
    assert outcomes.count("over") == 40
    assert usage_row(db, "p-race", "instances") == 10


def race(db: Database, quotas: QuotaService, project: str, threads: int) -> list[str]:
    """``threads`` threads each reserve one instance at once; their outcomes."""
    quotas.set_limits(project, {"instances": 10})
    start = threading.Barrier(threads)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        start.wait()
        try:
            with db.session() as s:
                quotas.reserve(s, project, {"instances": 1})
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
        t.join(timeout=120)
    assert len(outcomes) == threads, "a worker hung"
    assert [o for o in outcomes if o.startswith("error")] == []
    return outcomes


# ---------------------------------------------------------------- counted elsewhere

def test_check_count():
    check_count("key_pairs", 99, 1, 100)
    check_count("key_pairs", 10**6, 1, -1)
    with pytest.raises(errors.QuotaExceeded) as exc:
        check_count("key_pairs", 100, 1, 100)
    assert exc.value.message == ("Quota exceeded for key_pairs: Requested 1, but already used "
                                 "100 of 100 key_pairs")
    with pytest.raises(errors.QuotaExceeded, match="too many key pairs"):
        check_count("key_pairs", 100, 1, 100, "Quota exceeded, too many key pairs.")


def test_over_quota_message_sorts_resources():
    assert over_quota_message(["ram"], {"ram": 512}, {"ram": 51200}, {"ram": 51200}) == \
        "Quota exceeded for ram: Requested 512, but already used 51200 of 51200 ram"
