"""A scheduler that has just started waits for hosts that are not reporting yet
(a whole-cloud restart: the redelivered builds arrive before the agents have
re-registered) instead of failing the builds with No valid host; for at most
``service_down_time`` after its start (issue 10, defect 4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from core.compute.models import ComputeService
from core.db import Database
from core.db.migrate import upgrade
from core.placement.models import ComputeNode
from core.scheduler.manager import NoValidHost, Scheduler
from core.scheduler.request_spec import RequestSpec
from core.settings import load_settings

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
SPEC = {"project_id": "p", "instance_uuids": ["i1"],
        "flavor": {"vcpus": 1, "memory_mb": 512, "root_gb": 1}}


class Clock:
    def __init__(self) -> None:
        self.now = START
        self.slept: list[float] = []
        self.on_sleep = lambda: None

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)
        self.on_sleep()


@pytest.fixture
def db(tmp_path):
    settings = load_settings({}, data_dir=tmp_path)
    db = Database(settings.effective_database_url)
    upgrade(db)
    with db.session() as s:
        s.add(ComputeNode(host="h1", hypervisor_hostname="h1", vcpus=4, memory_mb=4096,
                          local_gb=40))
        # Last seen long before the restart.
        s.add(ComputeService(host="h1", binary="nova-compute", topic="compute",
                             last_seen_up=START - timedelta(hours=1)))
    yield db
    db.dispose()


def scheduler(db: Database, clock: Clock, **settings) -> Scheduler:
    sched = Scheduler(db, load_settings({}, service_down_time=60, **settings), clock=clock)
    sched.sleep = clock.sleep
    return sched


def report(db: Database, clock: Clock) -> None:
    with db.session() as s:
        s.execute(update(ComputeService).values(last_seen_up=clock.now))


def test_a_build_waits_for_a_host_that_comes_back(db):
    clock = Clock()
    sched = scheduler(db, clock)
    clock.now += timedelta(seconds=5)
    clock.on_sleep = lambda: report(db, clock) if len(clock.slept) == 3 else None
    [[chosen, *_]] = sched.select_destinations(RequestSpec.from_dict(SPEC))
    assert chosen.host == "h1" and clock.slept == [1.0, 1.0, 1.0]


def test_waiting_ends_service_down_time_after_the_start(db):
    clock = Clock()
    sched = scheduler(db, clock)
    with pytest.raises(NoValidHost):
        sched.select_destinations(RequestSpec.from_dict(SPEC))
    assert sum(clock.slept) == pytest.approx(60)
    clock.slept.clear()
    with pytest.raises(NoValidHost):  # later: no waiting at all
        sched.select_destinations(RequestSpec.from_dict(SPEC))
    assert clock.slept == []


def test_no_wait_when_every_host_reports_and_none_fits(db):
    clock = Clock()
    report(db, clock)
    sched = scheduler(db, clock)
    too_big = dict(SPEC, flavor={"vcpus": 64, "memory_mb": 512, "root_gb": 1})
    with pytest.raises(NoValidHost):
        sched.select_destinations(RequestSpec.from_dict(too_big))
    assert clock.slept == []


def test_no_wait_for_a_disabled_host(db):
    clock = Clock()
    with db.session() as s:
        s.execute(update(ComputeService).values(disabled=True))
    with pytest.raises(NoValidHost):
        scheduler(db, clock).select_destinations(RequestSpec.from_dict(SPEC))
    assert clock.slept == []
