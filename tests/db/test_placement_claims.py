"""Resource claims on SQLite, PostgreSQL and MariaDB: exact, idempotent, race-free."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from core.compute.models import ComputeService
from core.placement import claims
from core.placement.changes import ChangeCursor, note_hosts_changed, note_nodes_changed
from core.placement.models import Allocation, ComputeNode
from core.scheduler.host_state import load_host_states
from core.scheduler.manager import NoValidHost, Scheduler
from core.scheduler.request_spec import RequestSpec
from core.settings import load_settings

SMALL = {"vcpus": 1, "memory_mb": 512, "disk_gb": 10}


def add_node(db, host: str, vcpus: int = 4, memory_mb: int = 4096, local_gb: int = 100,
             **fields) -> int:
    with db.session() as s:
        node = ComputeNode(host=host, hypervisor_hostname=host, vcpus=vcpus,
                           memory_mb=memory_mb, local_gb=local_gb, **fields)
        s.add(node)
        s.add(ComputeService(host=host, binary="nova-compute", topic="compute",
                             last_seen_up=datetime.now(UTC)))
        s.flush()
        return node.id


def node(db, node_id: int) -> ComputeNode:
    with db.session() as s:
        return s.get(ComputeNode, node_id)


def allocations(db, consumer: str | None = None) -> list[Allocation]:
    with db.session() as s:
        stmt = select(Allocation).order_by(Allocation.node_id)
        if consumer is not None:
            stmt = stmt.where(Allocation.consumer_uuid == consumer)
        return list(s.scalars(stmt))


def assert_counters_match_allocations(db) -> None:
    """Every node's usage counters equal the sum of its allocation rows, within capacity."""
    with db.session() as s:
        sums = {r.node_id: r for r in s.execute(
            select(Allocation.node_id, func.sum(Allocation.vcpus).label("vcpus"),
                   func.sum(Allocation.memory_mb).label("ram"),
                   func.sum(Allocation.disk_gb).label("disk"),
                   func.count().label("n")).group_by(Allocation.node_id))}
        for n in s.scalars(select(ComputeNode)):
            r = sums.get(n.id)
            expected = (int(r.vcpus), int(r.ram), int(r.disk), int(r.n)) if r else (0, 0, 0, 0)
            assert (n.vcpus_used, n.memory_mb_used, n.local_gb_used,
                    n.running_vms) == expected, n.host
            assert n.vcpus_used <= n.vcpus * n.cpu_allocation_ratio
            assert n.memory_mb_used <= n.memory_mb * n.ram_allocation_ratio
            assert n.local_gb_used <= n.local_gb * n.disk_allocation_ratio


# ---- claim ----------------------------------------------------------------------
def test_claim_that_fits_takes_the_resources(db):
    node_id = add_node(db, "h1")
    assert claims.claim_resources(db, "c1", node_id, SMALL, "project-a")
    n = node(db, node_id)
    assert (n.vcpus_used, n.memory_mb_used, n.local_gb_used, n.running_vms,
            n.generation) == (1, 512, 10, 1, 1)
    (a,) = allocations(db)
    assert (a.consumer_uuid, a.node_id, a.vcpus, a.memory_mb, a.disk_gb,
            a.project_id) == ("c1", node_id, 1, 512, 10, "project-a")


def test_claim_that_does_not_fit_changes_nothing(db):
    node_id = add_node(db, "h1", memory_mb=1024)
    assert claims.claim_resources(db, "c1", node_id, SMALL, "p")
    assert claims.claim_resources(db, "c2", node_id, SMALL, "p")  # exactly full
    assert not claims.claim_resources(db, "c3", node_id, {**SMALL, "memory_mb": 1}, "p")
    assert not claims.claim_resources(db, "c3", node_id, {**SMALL, "disk_gb": 81}, "p")
    assert [a.consumer_uuid for a in allocations(db)] == ["c1", "c2"]
    assert node(db, node_id).generation == 2
    assert_counters_match_allocations(db)


def test_claim_honours_allocation_ratios(db):
    node_id = add_node(db, "h1", vcpus=2, cpu_allocation_ratio=2.0, memory_mb=100_000)
    for i in range(4):
        assert claims.claim_resources(db, f"c{i}", node_id, {**SMALL, "disk_gb": 0}, "p")
    assert not claims.claim_resources(db, "c5", node_id, {**SMALL, "disk_gb": 0}, "p")


def test_claim_on_a_missing_node_is_false(db):
    assert not claims.claim_resources(db, "c1", 424242, SMALL, "p")
    assert allocations(db) == []


def test_strict_generation_compare_and_swap(db):
    node_id = add_node(db, "h1")
    assert not claims.claim_resources(db, "c1", node_id, SMALL, "p", generation=5)
    assert claims.claim_resources(db, "c1", node_id, SMALL, "p", generation=0)
    assert not claims.claim_resources(db, "c2", node_id, SMALL, "p", generation=0)
    assert claims.claim_resources(db, "c2", node_id, SMALL, "p", generation=1)


def test_repeated_claim_takes_nothing_twice(db):
    node_id = add_node(db, "h1")
    assert claims.claim_resources(db, "c1", node_id, SMALL, "p")
    assert claims.claim_resources(db, "c1", node_id, SMALL, "p")
    assert node(db, node_id).vcpus_used == 1
    assert len(allocations(db)) == 1


# ---- release ----------------------------------------------------------------------
def test_release_gives_everything_back_once(db):
    a, b = add_node(db, "h1"), add_node(db, "h2")
    assert claims.claim_resources(db, "c1", a, SMALL, "p")
    assert claims.claim_resources(db, "c1", b, SMALL, "p")
    assert claims.claim_resources(db, "c2", a, SMALL, "p")
    assert claims.release_resources(db, "c1") == 2
    assert claims.release_resources(db, "c1") == 0
    assert [(x.consumer_uuid, x.node_id) for x in allocations(db)] == [("c2", a)]
    assert node(db, b).vcpus_used == 0 and node(db, a).vcpus_used == 1
    assert_counters_match_allocations(db)


def test_release_on_one_node_only(db):
    a, b = add_node(db, "h1"), add_node(db, "h2")
    claims.claim_resources(db, "c1", a, SMALL, "p")
    claims.claim_resources(db, "c1", b, SMALL, "p")
    assert claims.release_resources(db, "c1", b) == 1
    assert [x.node_id for x in allocations(db, "c1")] == [a]
    assert_counters_match_allocations(db)


def test_release_of_an_unknown_consumer_does_nothing(db):
    add_node(db, "h1")
    assert claims.release_resources(db, "nobody") == 0


# ---- rename -------------------------------------------------------------------------
def test_rename_moves_allocations_and_keeps_usage(db):
    a = add_node(db, "h1")
    claims.claim_resources(db, "instance", a, SMALL, "p")
    assert claims.rename_consumer(db, "instance", "migration") == 1
    assert claims.rename_consumer(db, "instance", "migration") == 0
    assert [x.consumer_uuid for x in allocations(db)] == ["migration"]
    assert node(db, a).vcpus_used == 1
    # Resize: the new flavor claimed for the instance; revert moves the old one back.
    claims.claim_resources(db, "instance", a, {**SMALL, "vcpus": 2}, "p")
    claims.release_resources(db, "instance")
    claims.rename_consumer(db, "migration", "instance")
    (x,) = allocations(db)
    assert (x.consumer_uuid, x.vcpus) == ("instance", 1)
    assert_counters_match_allocations(db)


def test_rename_onto_an_existing_allocation_merges(db):
    a = add_node(db, "h1")
    claims.claim_resources(db, "old", a, SMALL, "p")
    claims.claim_resources(db, "new", a, SMALL, "p")
    assert claims.rename_consumer(db, "old", "new") == 1
    (x,) = allocations(db)
    assert (x.consumer_uuid, x.vcpus, x.memory_mb, x.disk_gb) == ("new", 2, 1024, 20)
    assert node(db, a).vcpus_used == 2
    assert_counters_match_allocations(db)


# ---- build results ---------------------------------------------------------------------
def test_record_build_result(db):
    a = add_node(db, "h1")
    claims.record_build_result(db, "h1", False)
    claims.record_build_result(db, "h1", False)
    assert node(db, a).failed_builds == 2
    claims.record_build_result(db, "h1", True)
    assert node(db, a).failed_builds == 0
    claims.record_build_result(db, "no-such-host", False)  # no error


# ---- concurrency ------------------------------------------------------------------------
def test_concurrent_claims_never_overcommit(db):
    # Room for 20 small instances by RAM (vCPU 8 x 4 = 32, disk 250).
    node_id = add_node(db, "h1", vcpus=8, memory_mb=20 * 512, local_gb=250)
    start = threading.Barrier(16)

    def worker(_: int) -> int:
        start.wait()
        won = 0
        while claims.claim_resources(db, str(uuid.uuid4()), node_id, SMALL, "p"):
            won += 1
        return won

    with ThreadPoolExecutor(16) as pool:
        wins = sum(pool.map(worker, range(16)))
    assert wins == 20
    assert len(allocations(db)) == 20
    assert_counters_match_allocations(db)


def test_concurrent_claims_and_releases_stay_consistent(db):
    nodes = [add_node(db, f"h{i}", vcpus=4, memory_mb=8 * 512, local_gb=80) for i in range(2)]
    consumers = [f"c{i}" for i in range(24)]
    start = threading.Barrier(16)

    def worker(k: int) -> None:
        start.wait()
        for i, consumer in enumerate(consumers[k % 8::8]):
            claims.claim_resources(db, consumer, nodes[(k + i) % 2], SMALL, "p")
            if (k + i) % 3 == 0:
                claims.release_resources(db, consumer)  # others may release it too

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(worker, range(16)))
    assert_counters_match_allocations(db)
    with ThreadPoolExecutor(16) as pool:  # concurrent duplicate releases of everything
        list(pool.map(lambda c: claims.release_resources(db, c), consumers * 2))
    assert allocations(db) == []
    assert_counters_match_allocations(db)


# ---- the scheduler on each database -----------------------------------------------------
@pytest.fixture
def scheduler(db, tmp_path) -> Scheduler:
    return Scheduler(db, load_settings(environ={}, data_dir=tmp_path, database_url=db.url))


def spec(count: int, memory_mb: int = 512, **hints) -> RequestSpec:
    return RequestSpec.from_dict({
        "project_id": "p", "instance_uuids": [str(uuid.uuid4()) for _ in range(count)],
        "flavor": {"vcpus": 1, "memory_mb": memory_mb, "root_gb": 10},
        "scheduler_hints": hints})


def test_select_destinations_claims_the_chosen_hosts(db, scheduler):
    add_node(db, "h1")
    add_node(db, "h2")
    request = spec(3)
    result = scheduler.select_destinations(request)
    assert len(result) == 3
    held = {(a.consumer_uuid, a.node_id) for a in allocations(db)}
    assert held == {(u, hosts[0].node_id) for u, hosts in zip(request.instance_uuids, result,
                                                              strict=True)}
    assert_counters_match_allocations(db)


def test_no_valid_host_releases_the_whole_request(db, scheduler):
    add_node(db, "h1", memory_mb=2048)
    with pytest.raises(NoValidHost):
        scheduler.select_destinations(spec(3, memory_mb=1024))
    assert allocations(db) == []
    assert_counters_match_allocations(db)


def test_concurrent_schedulers_never_overcommit(db, tmp_path):
    for i in range(4):
        add_node(db, f"h{i}", vcpus=16, memory_mb=10 * 512, local_gb=1000)
    settings = load_settings(environ={}, data_dir=tmp_path, database_url=db.url)
    schedulers = [Scheduler(db, settings) for _ in range(8)]
    start = threading.Barrier(8)

    def worker(k: int) -> tuple[int, int]:
        start.wait()
        ok = failed = 0
        for _ in range(8):
            try:
                schedulers[k].select_destinations(spec(1))
                ok += 1
            except NoValidHost:
                failed += 1
        return ok, failed

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(worker, range(8)))
    assert sum(ok for ok, _ in results) == 40  # 4 nodes x 10
    assert sum(f for _, f in results) == 24
    assert_counters_match_allocations(db)


def test_host_states_on_each_database(db, tmp_path):
    now = datetime.now(UTC)
    add_node(db, "up", capabilities={"cpu_arch": "x86_64", "numa": {"nodes": 2}})
    for host in ("stale", "disabled", "forced", "lonely"):
        add_node(db, host)
    with db.session() as s:
        services = {svc.host: svc for svc in s.scalars(select(ComputeService))}
        services["stale"].last_seen_up = now - timedelta(seconds=61)
        services["disabled"].disabled = True
        services["forced"].forced_down = True
        s.delete(services["lonely"])
    settings = load_settings(environ={}, data_dir=tmp_path, service_down_time=60)
    states = {h.host: h for h in load_host_states(db, settings, now)}
    assert {h: (s.enabled, s.up) for h, s in states.items()} == {
        "up": (True, True), "stale": (True, False), "disabled": (False, True),
        "forced": (True, False), "lonely": (False, False)}
    assert states["up"].capabilities == {"cpu_arch": "x86_64", "numa": {"nodes": 2}}
    assert states["stale"].capabilities == {}


def test_in_memory_host_states_follow_the_log_on_each_database(db, tmp_path):
    ids = {host: add_node(db, host) for host in ("a", "b", "c")}
    settings = load_settings(environ={}, data_dir=tmp_path, service_down_time=60)
    manager = Scheduler(db, settings).host_manager
    assert {h.host for h in manager.host_states() if h.up} == {"a", "b", "c"}
    assert claims.claim_resources(db, "c1", ids["a"], SMALL, "p")
    with db.session() as s:
        s.execute(update(ComputeService).where(ComputeService.host == "b").values(
            disabled=True))
        note_hosts_changed(s, ["b"])
        s.execute(update(ComputeService).where(ComputeService.host == "c").values(
            last_seen_up=datetime.now(UTC) - timedelta(seconds=61)))  # no heartbeat
    states = {h.host: h for h in manager.host_states()}
    assert (states["a"].vcpus_used, states["b"].enabled, states["c"].up) == (1, False, False)
    assert manager.full_loads == 1


def test_a_change_committed_out_of_order_is_read_late(db, backend):
    if backend == "sqlite":
        pytest.skip("SQLite has one writer at a time: changes commit in their order")
    cursor = ChangeCursor()
    with db.session() as s:
        cursor.start(s.connection(), 0.0)
    with db.session() as first:
        note_nodes_changed(first, [1])  # numbered first, committed last
        with db.session() as second:
            note_nodes_changed(second, [2])
        with db.session() as s:
            assert cursor.read(s.connection(), 1.0) == {2}
    with db.session() as s:
        assert cursor.read(s.connection(), 2.0) == {1}
    assert cursor.gaps == {}
