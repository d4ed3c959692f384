"""The scheduler's in-memory host states (core/scheduler/host_manager.py): loaded
once, then brought up to date from the host changes log, on a SQLite database
that a second engine (another process) writes to as well."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, update

from core.compute.models import ComputeService
from core.db import Database
from core.placement import claims
from core.placement.models import ComputeNode, HostChange
from core.scheduler import host_manager
from core.scheduler.manager import NoValidHost, Scheduler
from core.services import CoreServices
from tests.support.core_services import ADMIN, RecordingBus, add_compute_host, make_core
from tests.unit.core.scheduler.factories import make_spec

RAM = 32768 - 1024  # what add_compute_host leaves free on a host


@pytest.fixture
def core(tmp_path) -> Iterator[CoreServices]:
    services = make_core(tmp_path, RecordingBus())
    yield services
    services.db.dispose()


@pytest.fixture
def other(core) -> Iterator[Database]:
    """The same database through an engine of its own: another process."""
    db = Database(core.db.url)
    yield db
    db.dispose()


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def states(scheduler: Scheduler) -> dict[str, object]:
    return {h.host: h for h in scheduler.host_manager.host_states()}


def test_changes_by_another_process_are_read_without_loading_every_host(core, other):
    add_compute_host(core.db, "h1")
    _, h2 = add_compute_host(core.db, "h2")
    scheduler = Scheduler(core.db, core.settings)
    assert states(scheduler)["h2"].memory_mb_used == 1024
    assert claims.claim_resources(other, "c1", h2, {"vcpus": 2, "memory_mb": 4096,
                                                    "disk_gb": 20}, "p")
    h2_state = states(scheduler)["h2"]
    assert (h2_state.vcpus_used, h2_state.memory_mb_used, h2_state.num_instances) == \
        (4, 5120, 2)
    claims.release_resources(other, "c1")
    assert states(scheduler)["h2"].memory_mb_used == 1024
    add_compute_host(other, "h3")  # registered meanwhile
    assert set(states(scheduler)) == {"h1", "h2", "h3"}
    assert scheduler.host_manager.full_loads == 1


def test_disabled_forced_down_deleted_and_silent_hosts_leave_the_candidates(core, other):
    for name in ("h1", "h2", "h3", "h4"):
        add_compute_host(core.db, name)
    scheduler = Scheduler(core.db, core.settings)
    assert all(h.enabled and h.up for h in states(scheduler).values())
    with other.session() as s:  # around the API, as an operator's SQL would
        s.execute(update(ComputeService).where(ComputeService.host == "h1").values(
            disabled=True))
    core.hosts.update_service(ADMIN, "h2", "nova-compute", forced_down=True)
    service_id = next(v.service.id for v in core.hosts.list_services(ADMIN, host="h3"))
    core.hosts.delete_service(ADMIN, service_id)
    with other.session() as s:  # h4 stops beating: nothing is logged for that
        s.execute(update(ComputeService).where(ComputeService.host == "h4").values(
            last_seen_up=datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)))
    seen = states(scheduler)
    assert set(seen) == {"h1", "h2", "h4"}
    assert (seen["h1"].enabled, seen["h2"].up, seen["h4"].up) == (False, False, False)
    with pytest.raises(NoValidHost):
        scheduler.place(make_spec(), scheduler.host_manager.host_states())
    with other.session() as s:  # h4 is back
        s.execute(update(ComputeService).where(ComputeService.host == "h4").values(
            last_seen_up=datetime.datetime.now(datetime.UTC)))
    (selection,), = scheduler.select_destinations(make_spec())
    assert selection.host == "h4"
    assert scheduler.host_manager.full_loads == 1


def test_an_aggregate_zone_reaches_the_view(core):
    add_compute_host(core.db, "h1")
    add_compute_host(core.db, "h2")
    scheduler = Scheduler(core.db, core.settings)
    before = states(scheduler)
    assert before["h1"].traits == before["h2"].traits
    aggregate = core.aggregates.create(ADMIN, "fast", "az-fast")
    core.aggregates.add_host(ADMIN, aggregate.id, "h1")
    after = states(scheduler)
    assert (after["h1"].availability_zone, after["h2"].availability_zone) == \
        ("az-fast", "nova")
    assert after["h1"].traits != after["h2"].traits
    core.aggregates.set_metadata(ADMIN, aggregate.id, {"ssd": "true"})
    assert states(scheduler)["h1"].aggregate_metadata["ssd"] == {"true"}
    (selection,), = scheduler.select_destinations(make_spec(availability_zone="az-fast"))
    assert selection.host == "h1"
    core.aggregates.remove_host(ADMIN, aggregate.id, "h1")
    assert states(scheduler)["h1"].availability_zone == "nova"


def test_failed_builds_reach_the_view(core, other):
    add_compute_host(core.db, "h1")
    scheduler = Scheduler(core.db, core.settings)
    claims.record_build_result(other, "h1", success=False)
    assert states(scheduler)["h1"].failed_builds == 1
    claims.record_build_result(other, "h1", success=True)
    assert states(scheduler)["h1"].failed_builds == 0


def test_a_stale_view_claims_the_next_host_and_never_overcommits(core, other):
    _, big = add_compute_host(core.db, "big", memory_mb=65536)
    add_compute_host(core.db, "small")
    scheduler = Scheduler(core.db, core.settings)
    hosts = scheduler.host_manager.host_states()  # "big" has the most room
    # Another scheduler takes all that is left on "big" meanwhile.
    assert claims.claim_resources(other, "theirs", big, {"vcpus": 1, "memory_mb": 65536 - 1024,
                                                         "disk_gb": 1}, "p")
    (selection,), = scheduler.place(make_spec(memory_mb=2048), hosts)
    assert selection.host == "small"
    with core.db.session() as s:
        node = s.get(ComputeNode, big)
        assert node.memory_mb_used == node.memory_mb  # full, not over
    assert states(scheduler)["big"].free_ram_mb == 0  # and the view knows it now


def test_a_reload_of_many_nodes_loads_them_all(core, other):
    ids = [add_compute_host(core.db, f"h{i}")[1] for i in range(70)]
    scheduler = Scheduler(core.db, core.settings)
    scheduler.host_manager.host_states()
    for i, node_id in enumerate(ids):
        assert claims.claim_resources(other, f"c{i}", node_id, {"vcpus": 1, "memory_mb": 1,
                                                                "disk_gb": 1}, "p")
    assert all(h.num_instances == 2 for h in scheduler.host_manager.host_states())
    assert scheduler.host_manager.full_loads == 2


def test_every_host_is_loaded_again_now_and_then_and_the_log_is_pruned(core, other,
                                                                        monkeypatch):
    _, node = add_compute_host(core.db, "h1")
    scheduler = Scheduler(core.db, core.settings)
    ticks = Ticks()
    scheduler.host_manager.monotonic = ticks
    scheduler.host_manager.host_states()
    ticks.now += host_manager.RESYNC_INTERVAL + 1
    scheduler.host_manager.host_states()
    assert scheduler.host_manager.full_loads == 2
    # A change written around the log is seen at the next full load.
    with other.session() as s:
        s.execute(update(ComputeNode).values(failed_builds=3))
    assert states(scheduler)["h1"].failed_builds == 0
    ticks.now += host_manager.RESYNC_INTERVAL + 1
    assert states(scheduler)["h1"].failed_builds == 3

    def logged() -> int:
        with core.db.session() as s:
            return s.scalar(select(func.count()).select_from(HostChange))

    claims.claim_resources(other, "c1", node, {"vcpus": 1, "memory_mb": 1, "disk_gb": 1}, "p")
    ticks.now += host_manager.PRUNE_INTERVAL
    scheduler.host_manager.host_states()  # read up to here, as of now
    assert logged() == 2
    ticks.now += host_manager.RETAIN
    claims.claim_resources(other, "c2", node, {"vcpus": 1, "memory_mb": 1, "disk_gb": 1}, "p")
    scheduler.host_manager.host_states()
    assert logged() == 1  # what had been read an hour ago is gone; the rest stays
    assert states(scheduler)["h1"].num_instances == 3


def test_every_claim_lost_to_other_schedulers_is_no_valid_host(core, other):
    _, node = add_compute_host(core.db, "h1")
    scheduler = Scheduler(core.db, core.settings)
    hosts = scheduler.host_manager.host_states()
    assert claims.claim_resources(other, "theirs", node, {"vcpus": 1, "memory_mb": RAM,
                                                          "disk_gb": 1}, "p")
    with pytest.raises(NoValidHost):
        scheduler.place(make_spec(), hosts)
    assert states(scheduler)["h1"].free_ram_mb == 0
