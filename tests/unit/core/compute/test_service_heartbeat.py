"""core/compute/service_heartbeat.py: conductors and schedulers register and
beat in the services table; up while they beat, down after service_down_time;
a beat that fails (database down) is logged, not raised, and beating resumes."""

from __future__ import annotations

import datetime
import logging

from sqlalchemy import select, update

from core import errors
from core.compute.hosts import HostService
from core.compute.models import ComputeService
from core.compute.service_heartbeat import CONDUCTOR_BINARY, SCHEDULER_BINARY, ServiceHeartbeat
from tests.support.core_services import ADMIN


def rows(core) -> dict[tuple[str, str], ComputeService]:
    with core.db.session() as s:
        return {(r.host, r.binary): r for r in s.scalars(select(ComputeService))}


def test_registers_in_the_internal_zone_and_is_up(core):
    beat = ServiceHeartbeat(core.db, "ctl-1", CONDUCTOR_BINARY, interval=60).start()
    ServiceHeartbeat(core.db, "ctl-1", SCHEDULER_BINARY, interval=60).start().stop()
    beat.stop()
    conductor = rows(core)[("ctl-1", CONDUCTOR_BINARY)]
    assert (conductor.topic, conductor.availability_zone, conductor.report_count) == \
        ("conductor", "internal", 1)
    assert rows(core)[("ctl-1", SCHEDULER_BINARY)].topic == "scheduler"
    views = {v.service.binary: v for v in core.hosts.list_services(ADMIN, host="ctl-1")}
    assert {b: (v.up, v.zone, v.service.disabled) for b, v in views.items()} == {
        CONDUCTOR_BINARY: (True, "internal", False),
        SCHEDULER_BINARY: (True, "internal", False)}


def test_beats_keep_it_up_and_a_stopped_one_goes_down(core):
    beat = ServiceHeartbeat(core.db, "ctl-2", SCHEDULER_BINARY, interval=0.05).start()
    first = rows(core)[("ctl-2", SCHEDULER_BINARY)].last_seen_up
    deadline = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=5)
    while rows(core)[("ctl-2", SCHEDULER_BINARY)].report_count < 3:
        assert datetime.datetime.now(datetime.UTC) < deadline
    beat.stop()
    row = rows(core)[("ctl-2", SCHEDULER_BINARY)]
    assert row.last_seen_up > first
    count = row.report_count
    later = row.last_seen_up + datetime.timedelta(seconds=core.settings.service_down_time + 1)
    hosts = HostService(core.db, core.policy, core.settings)
    assert hosts.is_up(row) and not hosts.is_up(row, now=later)
    assert rows(core)[("ctl-2", SCHEDULER_BINARY)].report_count == count  # stopped


def test_a_disabled_service_stays_disabled_across_a_restart(core):
    ServiceHeartbeat(core.db, "ctl-3", CONDUCTOR_BINARY, interval=60).start().stop()
    core.hosts.update_service(ADMIN, "ctl-3", CONDUCTOR_BINARY, disabled=True,
                              disabled_reason="draining")
    ServiceHeartbeat(core.db, "ctl-3", CONDUCTOR_BINARY, interval=60).start().stop()
    row = rows(core)[("ctl-3", CONDUCTOR_BINARY)]
    assert (row.disabled, row.disabled_reason, row.report_count) == (True, "draining", 2)
    assert len([r for r in rows(core) if r[0] == "ctl-3"]) == 1


def test_a_failed_beat_is_logged_once_and_beating_resumes(core, monkeypatch, caplog):
    beat = ServiceHeartbeat(core.db, "ctl-4", CONDUCTOR_BINARY, interval=60)
    real_session = core.db.session

    def unavailable():
        raise errors.DatabaseUnavailable()

    monkeypatch.setattr(core.db, "session", unavailable)
    with caplog.at_level(logging.INFO, logger="core.compute.service_heartbeat"):
        assert beat.beat() is False
        assert beat.beat() is False
        monkeypatch.setattr(core.db, "session", real_session)
        assert beat.beat() is True
    messages = [r.getMessage() for r in caplog.records]
    assert sum("heartbeat failed" in m for m in messages) == 1
    assert any("heartbeat written again" in m for m in messages)
    assert rows(core)[("ctl-4", CONDUCTOR_BINARY)].report_count == 1


def test_forced_down_wins_over_beats(core):
    ServiceHeartbeat(core.db, "ctl-5", CONDUCTOR_BINARY, interval=60).start().stop()
    with core.db.session() as s:
        s.execute(update(ComputeService).where(ComputeService.host == "ctl-5")
                  .values(forced_down=True))
    (view,) = core.hosts.list_services(ADMIN, host="ctl-5")
    assert view.up is False
