"""core/metrics.py: the bus times its calls by outcome, the scheduler its
decisions; a process serves its registry on METRICS_PORT when asked to."""

from __future__ import annotations

import pytest
import requests

from core.messaging import Bus, MessagingTimeout, RemoteError
from core.metrics import Metrics, exposition, serve_metrics
from core.scheduler.manager import NoValidHost
from core.scheduler.rpc import SchedulerEndpoints
from tests.conftest import unique
from tests.support.server import free_port


class Echo:
    def echo(self, value: int) -> int:
        return value

    def fail(self) -> None:
        raise ValueError("no")


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_bus_calls_are_timed_by_topic_method_and_outcome():
    metrics = Metrics()
    bus = Bus("memory://", namespace=unique("m"), metrics=metrics)
    server = bus.serve("echoes", "e-1", Echo())
    server.start()
    try:
        assert bus.call("echoes", "echo", {"value": 3}, timeout=5) == 3
        with pytest.raises(RemoteError):
            bus.call("echoes", "fail", {}, timeout=5)
        with pytest.raises(MessagingTimeout):
            bus.call("nobody", "echo", {"value": 1}, timeout=0.2)
    finally:
        server.stop()
        bus.close()
    count = "nimbus_rpc_call_duration_seconds_count"
    assert sample(metrics, count, topic="echoes", method="echo", outcome="ok") == 1
    assert sample(metrics, count, topic="echoes", method="fail", outcome="remote_error") == 1
    assert sample(metrics, count, topic="nobody", method="echo", outcome="timeout") == 1
    assert sample(metrics, "nimbus_rpc_call_duration_seconds_sum", topic="nobody",
                  method="echo", outcome="timeout") >= 0.2


class Scheduler:
    def __init__(self, fits: bool) -> None:
        self.fits = fits

    def select_destinations(self, spec):
        if not self.fits:
            raise NoValidHost()
        return [[] for _ in spec.instance_uuids]


def test_scheduling_is_timed_by_outcome():
    metrics = Metrics()
    spec = {"instance_uuids": ["a"], "flavor": {"vcpus": 1, "memory_mb": 64}}
    SchedulerEndpoints(Scheduler(True), metrics).select_destinations(spec)  # type: ignore[arg-type]
    with pytest.raises(NoValidHost):
        SchedulerEndpoints(Scheduler(False), metrics).select_destinations(spec)  # type: ignore[arg-type]
    count = "nimbus_scheduling_duration_seconds_count"
    assert sample(metrics, count, outcome="selected") == 1
    assert sample(metrics, count, outcome="no_valid_host") == 1


def test_builds_start_at_zero_for_both_outcomes():
    metrics = Metrics()
    text, content_type = exposition(metrics.registry)
    assert content_type.startswith("text/plain; version=")
    assert b'nimbus_instance_builds_total{outcome="ACTIVE"} 0.0' in text
    assert b'nimbus_instance_builds_total{outcome="ERROR"} 0.0' in text
    metrics.build_finished("ERROR")
    assert sample(metrics, "nimbus_instance_builds_total", outcome="ERROR") == 1


def test_a_process_serves_its_metrics_on_its_port():
    assert serve_metrics(Metrics(), "127.0.0.1", 0) is None  # off by default
    metrics = Metrics()
    metrics.build_finished("ACTIVE")
    port = free_port()
    stop = serve_metrics(metrics, "127.0.0.1", port)
    assert stop is not None
    try:
        body = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'nimbus_instance_builds_total{outcome="ACTIVE"} 1.0' in body
    finally:
        stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
