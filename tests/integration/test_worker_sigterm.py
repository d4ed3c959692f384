"""SIGTERM to a worker process with a message in hand, on RabbitMQ: the
message is finished and acknowledged, or — when it takes longer than
NIMBUS_SHUTDOWN_TIMEOUT — left unacknowledged and redelivered to another
worker. Never lost, never taken after the signal.

The worker (tests/support/slow_worker.py) stops through the same code as
conductors, schedulers and agents (core.service_main, stop_consumers).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from core.messaging import Bus
from tests.conftest import unique
from tests.support.cluster import Service, clean_env
from tests.unit.core.messaging import rabbit

pytestmark = pytest.mark.integration


@pytest.fixture
def broker():
    with rabbit.broker_url() as url:
        yield url


def worker(tmp_path: Path, url: str, namespace: str, name: str, seconds: float,
           shutdown_timeout: float) -> Service:
    env = clean_env(transport_url=url, shutdown_timeout=shutdown_timeout, log_level="INFO")
    return Service(name, [sys.executable, "-m", "tests.support.slow_worker", "--seconds",
                          str(seconds), "--record", str(tmp_path / "record"),
                          "--namespace", namespace],
                   env, tmp_path / f"{name}.log", "worker serving")


def lines(tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "record"
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def wait_for(tmp_path: Path, word: str, job: str, timeout: float = 20) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in lines(tmp_path):
            if line[:2] == [word, job]:
                return line
        time.sleep(0.05)
    raise AssertionError(f"no '{word} {job}' in {lines(tmp_path)}")


def test_the_message_in_hand_is_finished_and_the_next_one_left_queued(tmp_path, broker):
    namespace = unique("sigterm")
    bus = Bus(broker, namespace=namespace)
    first = worker(tmp_path, broker, namespace, "first", seconds=2, shutdown_timeout=30)
    second = worker(tmp_path, broker, namespace, "second", seconds=0.1, shutdown_timeout=30)
    try:
        first.start().wait_ready()
        bus.cast("jobs", "work", {"job": "a"})
        start = wait_for(tmp_path, "start", "a")
        bus.cast("jobs", "work", {"job": "b"})  # queued behind "a" (prefetch 1)
        first.signal(15)
        assert first.proc.wait(timeout=20) == 0
        assert wait_for(tmp_path, "done", "a", timeout=1)[2] == start[2]
        assert [line for line in lines(tmp_path) if line[1] == "b"] == []  # not taken
        second.start().wait_ready()
        done_b = wait_for(tmp_path, "done", "b")
        assert done_b[2] == str(second.pid)
        time.sleep(1)
        assert sorted(" ".join(line[:2]) for line in lines(tmp_path)) == [
            "done a", "done b", "start a", "start b"]  # "a" ran once
    finally:
        first.stop()
        second.stop()
        bus.close()


def test_a_message_not_finished_in_time_is_redelivered_to_another_worker(tmp_path, broker):
    namespace = unique("sigterm")
    bus = Bus(broker, namespace=namespace)
    slow = worker(tmp_path, broker, namespace, "slow", seconds=60, shutdown_timeout=1)
    other = worker(tmp_path, broker, namespace, "other", seconds=0.1, shutdown_timeout=30)
    try:
        slow.start().wait_ready()
        bus.cast("jobs", "work", {"job": "c"})
        wait_for(tmp_path, "start", "c")
        signalled = time.monotonic()
        slow.signal(15)
        assert slow.proc.wait(timeout=20) == 0
        assert time.monotonic() - signalled < 10  # the shutdown timeout, not the job
        other.start().wait_ready()
        done = wait_for(tmp_path, "done", "c")
        assert done[2] == str(other.pid)
        assert any("redelivered message" in str(r.get("msg", "")) for r in other.records())
        assert any("left unacknowledged" in str(r.get("msg", "")) for r in slow.records())
    finally:
        slow.stop()
        other.stop()
        bus.close()
