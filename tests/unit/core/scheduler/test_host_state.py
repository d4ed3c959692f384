"""Loading host states and a request's hint context from a (SQLite) database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.compute.models import ComputeService, Instance, ServerGroup, ServerGroupMember
from core.db import Database
from core.db.migrate import upgrade
from core.placement.models import ComputeNode
from core.scheduler.host_state import (
    _UNAVAILABLE,
    DISABLED,
    FORCED_DOWN,
    SILENT,
    load_host_states,
    load_spec_context,
    unavailable_hosts,
)
from tests.unit.core.scheduler.factories import make_host, make_settings, make_spec

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('hs') / 'nimbus.db'}")
    upgrade(database)
    seen = {"up": NOW - timedelta(seconds=30), "stale": NOW - timedelta(seconds=61),
            "disabled": NOW, "forced": NOW, "zoneless": NOW}
    with database.session() as s:
        for name in ("up", "stale", "disabled", "forced", "lonely", "zoneless"):
            s.add(ComputeNode(host=name, hypervisor_hostname=f"{name}.local", vcpus=8,
                              memory_mb=8192, local_gb=80, vcpus_used=2, memory_mb_used=1024,
                              local_gb_used=10, running_vms=2, failed_builds=1,
                              cpu_allocation_ratio=2.0, capabilities={"ssd": "true"},
                              availability_zone="" if name == "zoneless" else "az1"))
            if name != "lonely":
                s.add(ComputeService(host=name, binary="nova-compute", topic="compute",
                                     last_seen_up=seen[name], disabled=name == "disabled",
                                     forced_down=name == "forced"))
        # A conductor on "lonely" is not a compute service.
        s.add(ComputeService(host="lonely", binary="nova-conductor", topic="conductor",
                             last_seen_up=NOW))
        for uuid, host, deleted in (("i-up", "up", False), ("i-stale", "stale", False),
                                    ("i-gone", "disabled", True), ("i-new", None, False),
                                    ("i-self", "forced", False)):
            s.add(Instance(uuid=uuid, display_name=uuid, project_id="p", user_id="u",
                           flavor={}, flavorid="1", vcpus=1, memory_mb=64, root_gb=1,
                           host=host, deleted=deleted, reservation_id="r"))
        s.add(ServerGroup(id=1, uuid="g-anti", name="g", project_id="p", user_id="u",
                          policy="anti-affinity", rules={"max_server_per_host": 2}))
        s.flush()
        for uuid in ("i-up", "i-stale", "i-gone", "i-new", "i-self"):
            s.add(ServerGroupMember(group_id=1, instance_uuid=uuid))
    yield database
    database.dispose()


def test_loads_every_node_with_usage_and_service_state(db):
    states = {h.host: h for h in load_host_states(db, make_settings(service_down_time=60),
                                                  NOW)}
    assert set(states) == {"up", "stale", "disabled", "forced", "lonely", "zoneless"}
    up = states["up"]
    assert (up.enabled, up.up) == (True, True)
    assert (up.nodename, up.availability_zone, up.capabilities) == ("up.local", "az1",
                                                                    {"ssd": "true"})
    assert (up.free_vcpus, up.free_ram_mb, up.free_disk_gb) == (14, 7168, 70)
    assert (up.num_instances, up.failed_builds) == (2, 1)
    assert (states["stale"].enabled, states["stale"].up) == (True, False)
    assert (states["disabled"].enabled, states["disabled"].up) == (False, True)
    assert (states["forced"].enabled, states["forced"].up) == (True, False)
    assert (states["lonely"].enabled, states["lonely"].up) == (False, False)
    assert states["zoneless"].availability_zone == "nova"


def test_unavailable_hosts_are_the_disabled_forced_down_and_silent_ones(db):
    with db.session() as s:
        found = unavailable_hosts(s, make_settings(service_down_time=60), NOW)
    assert found == {"stale": {SILENT}, "disabled": {DISABLED}, "forced": {FORCED_DOWN}}


def test_unavailable_hosts_are_read_through_indexes_only(db):
    """The plan: index ranges (SEARCH), never a read of every service (SCAN)."""
    with db.engine.connect() as conn:
        compiled = _UNAVAILABLE.compile(dialect=conn.dialect)
        params = tuple(NOW.replace(tzinfo=None) if name == "cutoff" else compiled.params[name]
                       for name in compiled.positiontup)
        plan = [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}",
                                                       params)]
    searches = [step for step in plan if step.startswith(("SEARCH", "SCAN"))]
    assert len(searches) == 4 and all(
        step.startswith("SEARCH compute_services USING INDEX") for step in searches), plan


def test_down_time_comes_from_settings(db):
    states = {h.host: h for h in load_host_states(db, make_settings(service_down_time=120),
                                                  NOW)}
    assert states["stale"].up


def test_spec_context_loads_hint_hosts(db):
    spec = make_spec(scheduler_hints={"same_host": ["i-up", "i-gone"],
                                      "different_host": "i-new"})
    with db.session() as s:
        load_spec_context(s, spec)
    assert spec.instance_hosts == {"i-up": "up"}
    assert spec.group is None


def test_spec_context_loads_group_member_hosts_but_not_the_instances_being_placed(db):
    spec = make_spec(scheduler_hints={"group": "g-anti"})
    spec.instance_uuids = ["i-self", "i-brand-new"]
    with db.session() as s:
        load_spec_context(s, spec)
    assert spec.group is not None
    assert (spec.group.policy, spec.group.rules) == ("anti-affinity", {"max_server_per_host": 2})
    assert dict(spec.group.hosts) == {"up": 1, "stale": 1}


def test_unknown_group_is_no_group(db):
    spec = make_spec(scheduler_hints={"group": "nope"})
    with db.session() as s:
        load_spec_context(s, spec)
    assert spec.group is None and spec.instance_hosts == {}


def test_consume_updates_usage_in_memory():
    host = make_host()
    host.consume({"vcpus": 2, "memory_mb": 1024, "disk_gb": 10})
    assert (host.vcpus_used, host.memory_mb_used, host.local_gb_used,
            host.num_instances) == (2, 1024, 10, 1)


def test_an_aggregates_zone_and_metadata_reach_its_hosts(tmp_path):
    from core.compute.models import Aggregate, AggregateHost, AggregateMetadata

    database = Database(f"sqlite:///{tmp_path / 'agg.db'}")
    upgrade(database)
    with database.session() as s:
        for name in ("in", "out"):
            s.add(ComputeNode(host=name, hypervisor_hostname=name, vcpus=8, memory_mb=8192,
                              local_gb=80, vcpus_used=0, memory_mb_used=0, local_gb_used=0,
                              running_vms=0, failed_builds=0, availability_zone="nova"))
        s.add(Aggregate(id=1, name="fast"))
        s.flush()
        s.add(AggregateHost(aggregate_id=1, host="in"))
        s.add(AggregateMetadata(aggregate_id=1, key="availability_zone", value="z1"))
        s.add(AggregateMetadata(aggregate_id=1, key="ssd", value="true"))
    states = {h.host: h for h in load_host_states(database, make_settings(), NOW)}
    assert states["in"].availability_zone == "z1"
    assert states["in"].aggregate_metadata == {"availability_zone": {"z1"}, "ssd": {"true"}}
    assert states["out"].availability_zone == "nova"
    assert states["out"].aggregate_metadata == {}
    database.dispose()
