"""The endpoints over a real (in-memory) bus: dicts in and out, NoValidHost by name."""

from __future__ import annotations

import pytest

from core.messaging import Bus, RemoteError
from core.scheduler.manager import NoValidHost
from core.scheduler.request_spec import RequestSpec, Selection
from core.scheduler.rpc import TOPIC, SchedulerEndpoints
from tests.conftest import unique

SEL = Selection(host="h1", nodename="h1", node_id=1, node_uuid="u1", availability_zone="nova")


class FakeScheduler:
    def __init__(self) -> None:
        self.specs: list[RequestSpec] = []

    def select_destinations(self, spec: RequestSpec) -> list[list[Selection]]:
        self.specs.append(spec)
        if spec.flavor.memory_mb > 1000:
            raise NoValidHost()
        return [[SEL] for _ in spec.instance_uuids]


@pytest.fixture
def served():
    bus = Bus("memory://", namespace=unique("sched"))
    scheduler = FakeScheduler()
    endpoints = SchedulerEndpoints(scheduler)  # type: ignore[arg-type]
    server = bus.serve(TOPIC, "scheduler-1", endpoints)
    server.start()
    yield bus, scheduler, endpoints
    server.stop()
    bus.close()


def test_select_destinations_over_the_bus(served):
    bus, scheduler, endpoints = served
    spec = {"instance_uuids": ["a", "b"], "flavor": {"vcpus": 1, "memory_mb": 64}}
    result = bus.call(TOPIC, "select_destinations", {"spec": spec}, timeout=10)
    assert result == [[SEL.to_dict()], [SEL.to_dict()]]
    assert scheduler.specs[0].instance_uuids == ["a", "b"]
    assert endpoints.counts.snapshot() == {"calls": 1, "no_valid_host": 0}


def test_no_valid_host_crosses_the_bus_by_name(served):
    bus, _, endpoints = served
    spec = {"instance_uuids": ["a"], "flavor": {"vcpus": 1, "memory_mb": 4096}}
    with pytest.raises(RemoteError) as caught:
        bus.call(TOPIC, "select_destinations", {"spec": spec}, timeout=10)
    assert caught.value.exc_type == "NoValidHost"
    assert caught.value.remote_message == NoValidHost.default_message
    assert endpoints.counts.snapshot() == {"calls": 1, "no_valid_host": 1}


def test_counts_are_not_dispatched(served):
    bus, _, _ = served
    with pytest.raises(RemoteError):
        bus.call(TOPIC, "counts", {}, timeout=10)
