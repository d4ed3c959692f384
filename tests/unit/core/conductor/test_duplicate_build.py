"""A ``build_instances`` delivered twice while the first delivery is still running.

RabbitMQ redelivers a message whose consumer lost its connection, also when the
consumer is alive and goes on with the flow. Seen on the scale-out stack (issue
10): the duplicate took the live flow's claim for an orphan and released it, and
the server went ACTIVE with no allocation, so its host could be over-committed.

Here the two deliveries run in two threads, stepped by events at the exact points
of that run: the first flow has its claim and is about to hand the build to a host
when the duplicate starts; the duplicate reads the build as still waiting for a
host, and the first flow assigns the host before the duplicate schedules. The live
flow's claim must survive; the duplicate gives back only what it took itself.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from core.compute import states
from core.compute.models import Instance
from core.compute.usage import quota_deltas
from core.conductor.wiring import build_conductor
from core.db import Database
from core.placement.models import Allocation, ComputeNode
from core.scheduler.wiring import build_scheduler
from tests.support.core_services import RecordingBus, add_compute_host, make_core

FLAVOR = {"flavorid": "1", "name": "m1.tiny", "vcpus": 1, "memory_mb": 512, "root_gb": 1,
          "ephemeral_gb": 0, "swap": 0}
SPEC = {"flavor": FLAVOR, "image": {"id": "img"}, "project_id": "p"}
WAIT = 10.0


class AgentCasts(RecordingBus):
    """The bus as the conductor sees it: casts are kept, and a build handed to an
    agent is announced."""

    def __init__(self) -> None:
        super().__init__()
        self.cast_sent = threading.Event()

    def cast(self, topic: str, method: str, payload: dict, server: str | None = None) -> None:
        super().cast(topic, method, payload, server)
        if method == "build_and_run_instance":
            self.cast_sent.set()

    @property
    def builds(self) -> list[str | None]:
        return [server for _, method, _, server in self.casts
                if method == "build_and_run_instance"]


class Hooked:
    """The real scheduler, with a hook before and one after each selection."""

    def __init__(self, scheduler: Any, before: Any = None, after: Any = None) -> None:
        self.scheduler, self.before, self.after = scheduler, before, after

    def select_destinations(self, spec: dict) -> list[list[dict]]:
        if self.before:
            self.before()
        result = self.scheduler.select_destinations(spec=spec)
        if self.after:
            self.after()
        return result


@pytest.fixture
def core(tmp_path):
    core = make_core(tmp_path, AgentCasts(), fixed_range="10.9.0.0/28")
    for host in ("h1", "h2"):  # room for one tiny instance each
        add_compute_host(core.db, host, vcpus=1, memory_mb=4096, local_gb=40,
                         cpu_allocation_ratio=1.0, vcpus_used=0, memory_mb_used=0,
                         local_gb_used=0, running_vms=0)
    yield core
    core.db.dispose()


def new_build(core) -> str:
    with core.db.session() as s:
        core.quotas.reserve(s, "p", quota_deltas(FLAVOR))
        inst = Instance(display_name="vm", project_id="p", user_id="u", flavor=FLAVOR,
                        flavorid="1", vcpus=1, memory_mb=512, root_gb=1, reservation_id="r-1",
                        vm_state=states.BUILDING, task_state=states.SCHEDULING,
                        quota_held=True)
        s.add(inst)
        s.flush()
        return inst.uuid


def held(db: Database) -> list[tuple[str, str]]:
    with db.session() as s:
        return sorted(s.execute(select(Allocation.consumer_uuid, ComputeNode.host).join(
            ComputeNode, ComputeNode.id == Allocation.node_id)).tuples().all())


def usage(db: Database) -> dict[str, int]:
    with db.session() as s:
        return dict(s.execute(select(ComputeNode.host, ComputeNode.vcpus_used)).tuples().all())


def run(target: Any, errors: list[BaseException]) -> threading.Thread:
    def body() -> None:
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread


def test_a_duplicate_build_leaves_the_live_flows_claim_alone(core):
    uuid = new_build(core)
    scheduler = build_scheduler(core)
    first_claimed, duplicate_read = threading.Event(), threading.Event()
    bus: AgentCasts = core.bus

    def first_waits_for_the_duplicate() -> None:
        first_claimed.set()
        assert duplicate_read.wait(WAIT)

    def duplicate_waits_for_the_first_to_assign() -> None:
        duplicate_read.set()  # it has read the build as still waiting for a host
        assert bus.cast_sent.wait(WAIT)

    first = build_conductor(core, "c1", Hooked(scheduler, after=first_waits_for_the_duplicate))
    duplicate = build_conductor(core, "c2", Hooked(
        scheduler, before=duplicate_waits_for_the_first_to_assign))
    errors: list[BaseException] = []
    t1 = run(lambda: first.build_instances([uuid], SPEC), errors)
    assert first_claimed.wait(WAIT)
    assert held(core.db) == [(uuid, "h1")] or held(core.db) == [(uuid, "h2")]
    t2 = run(lambda: duplicate.build_instances([uuid], SPEC), errors)
    for t in (t1, t2):
        t.join(WAIT)
        assert not t.is_alive()
    assert errors == []

    inst = core.instances.get(uuid)
    assert (inst.vm_state, inst.task_state) == (states.BUILDING, states.NETWORKING)
    assert bus.builds == [inst.host]  # one build handed to one host
    # The live flow's claim is still there, on the host the build went to, and the
    # duplicate's own claim (it found the other host) went back.
    assert held(core.db) == [(uuid, inst.host)]
    assert usage(core.db) == {"h1": 0, "h2": 0} | {inst.host: 1}


def test_a_duplicate_that_wins_the_race_keeps_its_claim_and_the_first_gives_back(core):
    """The other order: the duplicate assigns first; the first flow, still alive,
    is the one that abandons, and releases its own claim only."""
    uuid = new_build(core)
    scheduler = build_scheduler(core)
    duplicate = build_conductor(core, "c2", scheduler)
    errors: list[BaseException] = []
    first = build_conductor(core, "c1", Hooked(
        scheduler, after=lambda: duplicate.build_instances([uuid], SPEC)))
    first.build_instances([uuid], SPEC)
    assert errors == []
    inst = core.instances.get(uuid)
    assert inst.task_state == states.NETWORKING and core.bus.builds == [inst.host]
    assert held(core.db) == [(uuid, inst.host)]
    assert usage(core.db) == {"h1": 0, "h2": 0} | {inst.host: 1}


def test_a_duplicate_with_no_room_left_does_not_fail_the_live_build(core):
    """Every host full (the live flow holds the last room): the duplicate finds no
    valid host, and must not put the live build in ERROR."""
    with core.db.session() as s:
        s.query(ComputeNode).filter(ComputeNode.host == "h2").delete()
    uuid = new_build(core)
    scheduler = build_scheduler(core)
    duplicate = build_conductor(core, "c2", scheduler)
    first = build_conductor(core, "c1", Hooked(
        scheduler, after=lambda: duplicate.build_instances([uuid], SPEC)))
    first.build_instances([uuid], SPEC)
    inst = core.instances.get(uuid)
    assert (inst.vm_state, inst.task_state, inst.host) == (
        states.BUILDING, states.NETWORKING, "h1")
    assert held(core.db) == [(uuid, "h1")]
    assert usage(core.db) == {"h1": 1}
    assert core.quotas.usage("p")["instances"] == 1


def test_a_stale_claim_of_a_dead_flow_is_released_when_the_build_lands(core):
    """A conductor that died after the scheduler claimed leaves a claim no flow
    holds; the redelivered build schedules anew, and the stale claim is released
    once the instance is ACTIVE elsewhere (not at the redelivered build's start)."""
    uuid = new_build(core)
    scheduler = build_scheduler(core)
    dead = scheduler.select_destinations(spec=dict(SPEC, instance_uuids=[uuid],
                                                   claim_holder="dead-flow"))
    dead_host = dead[0][0]["host"]
    conductor = build_conductor(core, "c2", scheduler)
    conductor.build_instances([uuid], SPEC)
    inst = core.instances.get(uuid)
    assert inst.host != dead_host  # the dead flow's claim still fills its host
    core.instances.update(uuid, {"task_state": states.SPAWNING})
    assert conductor.build_succeeded(uuid, inst.host, states.RUNNING) == {"ok": True}
    assert held(core.db) == [(uuid, inst.host)]
    assert usage(core.db) == {dead_host: 0, inst.host: 1}
    with core.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Allocation)) == 1
