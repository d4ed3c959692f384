"""gateway/worker.py: SIGTERM drains (the health check fails at once), the
server stops only after the drain delay, a second SIGTERM (systemd signals
the whole group) changes nothing, SIGINT stops at once."""

from __future__ import annotations

import asyncio
import signal
import time

from uvicorn.config import Config

from gateway.health import Health
from gateway.worker import DrainingServer


def server(delay: float, graceful_timeout: float = 30) -> tuple[DrainingServer, Health]:
    health = Health(drain_delay=delay)
    return DrainingServer(Config(app=None), health, graceful_timeout), health


def test_sigterm_drains_then_stops_after_the_delay():
    srv, health = server(0.3)
    srv.handle_exit(signal.SIGTERM, None)
    assert health.draining and health.reasons() == ["SHUTTING DOWN"]
    assert not asyncio.run(srv.on_tick(1))
    srv.handle_exit(signal.SIGTERM, None)  # the master's, after the supervisor's
    assert not srv.should_exit
    time.sleep(0.35)
    assert asyncio.run(srv.on_tick(2))
    assert srv._captured_signals == [signal.SIGTERM]  # re-raised once uvicorn is done


def test_without_a_delay_sigterm_stops_at_once_but_still_fails_the_health_check():
    srv, health = server(0)
    srv.handle_exit(signal.SIGTERM, None)
    assert health.draining and srv.should_exit


def test_sigint_is_not_delayed():
    srv, health = server(5)
    srv.handle_exit(signal.SIGINT, None)
    assert srv.should_exit and not health.draining


def test_the_delay_leaves_in_flight_requests_half_the_graceful_timeout():
    assert server(100, graceful_timeout=30)[0].drain_delay == 15
