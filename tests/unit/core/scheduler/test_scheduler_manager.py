"""The filter scheduler on in-memory host states; claims are recorded by a fake."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from core.errors import CoreError
from core.placement import claims
from core.scheduler.filters.image_properties import ImagePropertiesFilter
from core.scheduler.manager import NoValidHost, Scheduler
from tests.unit.core.scheduler.factories import (
    make_group,
    make_host,
    make_hosts,
    make_settings,
    make_spec,
)

ONLY_RAM = "RAMWeigher:1.0"


class FakeClaims:
    """Claims that always fit, except on nodes listed in ``lose`` (another scheduler
    took the room)."""

    def __init__(self) -> None:
        self.held: dict[tuple[str, int], dict] = {}
        self.lose: set[int] = set()
        self.attempts: list[tuple[str, int]] = []

    def claim(self, db, consumer, node_id, resources, project_id, generation=None,
              holder=None) -> bool:
        self.attempts.append((consumer, node_id))
        if node_id in self.lose:
            return False
        self.held[(consumer, node_id)] = dict(resources)
        return True

    def release(self, db, consumer, node_id=None, holder=None) -> int:
        gone = [k for k in self.held if k[0] == consumer and node_id in (None, k[1])]
        for key in gone:
            del self.held[key]
        return len(gone)


@pytest.fixture
def ledger(monkeypatch) -> FakeClaims:
    fake = FakeClaims()
    monkeypatch.setattr(claims, "claim_resources", fake.claim)
    monkeypatch.setattr(claims, "release_resources", fake.release)
    return fake


def scheduler(seed: int = 0, **settings) -> Scheduler:
    return Scheduler(db=None, settings=make_settings(**settings),  # type: ignore[arg-type]
                     rng=random.Random(seed))


def chosen_hosts(result) -> list[str]:
    return [hosts[0].host for hosts in result]


# ---- construction -----------------------------------------------------------
def test_unknown_filter_or_weigher_fails_construction():
    with pytest.raises(ValueError):
        scheduler(scheduler_filters="ComputeFilter,Bogus")
    with pytest.raises(ValueError):
        scheduler(scheduler_weighers="Bogus:1.0")


def test_no_valid_host_is_a_core_error_with_nova_s_message():
    exc = NoValidHost()
    assert isinstance(exc, CoreError)
    assert str(exc) == "No valid host was found. There are not enough hosts available."


# ---- weighing -----------------------------------------------------------------
def test_weights_are_normalised_multiplied_and_summed():
    s = scheduler(scheduler_weighers="RAMWeigher:1.0,CPUWeigher:2.0")
    hosts = [make_host("a", 1, memory_mb=1000, vcpus_total=4),
             make_host("b", 2, memory_mb=3000, vcpus_total=2),
             make_host("c", 3, memory_mb=2000, vcpus_total=3)]
    weighed = {h.host: w for h, w in s.weigh_hosts(hosts, make_spec())}
    # RAM: a 0, b 1, c 0.5; CPU (x2): a 1, b 0, c 0.5.
    assert weighed == pytest.approx({"a": 2.0, "b": 1.0, "c": 1.5})
    assert [h.host for h, _ in s.weigh_hosts(hosts, make_spec())] == ["a", "c", "b"]


def test_equal_hosts_weigh_zero_and_keep_their_order():
    s = scheduler()
    weighed = s.weigh_hosts(make_hosts(3), make_spec())
    assert [(h.host, w) for h, w in weighed] == [("node1", 0.0), ("node2", 0.0),
                                                ("node3", 0.0)]


def test_the_best_few_come_in_the_order_of_a_full_sort():
    s = scheduler()  # 1 + 3 wanted of 100: only those are put in order
    hosts = [make_host(f"n{i}", i, memory_mb_used=512 * (i % 7), vcpus_used=i % 3)
             for i in range(100)]
    spec = make_spec()
    everyone = [h for h, _ in s.weigh_hosts(hosts, spec)]
    assert s.rank_hosts(hosts, spec).best(4) == everyone[:4]
    # Once those lose their claims, the rest is sorted in full.
    full = {h.node_id for h in everyone[:6]}
    assert s.rank_hosts(hosts, spec, full).best(10) == everyone[6:16]
    assert s.rank_hosts(hosts, spec, {h.node_id for h in hosts}).best(1) == []


def test_a_filter_of_traits_asks_once_per_kind_of_host(monkeypatch):
    asked = Counter()
    original = ImagePropertiesFilter.host_passes

    def counting(self, host_state, spec):
        asked[host_state.traits] += 1
        return original(self, host_state, spec)

    monkeypatch.setattr(ImagePropertiesFilter, "host_passes", counting)
    hosts = [*make_hosts(5, cpu_arch="x86_64", traits=1),
             *(make_host(f"arm{i}", 10 + i, cpu_arch="aarch64", traits=2) for i in range(3)),
             make_host("odd", 20, cpu_arch="aarch64")]  # like no other
    spec = make_spec(image={"properties": {"architecture": "aarch64"}})
    passing = scheduler().filter_hosts(hosts, spec)
    assert [h.host for h in passing] == ["arm0", "arm1", "arm2", "odd"]
    assert asked == {1: 1, 2: 1, None: 1}


def test_negative_ram_multiplier_stacks():
    s = scheduler(scheduler_weighers="RAMWeigher:-1.0")
    hosts = [make_host("empty", 1), make_host("busy", 2, memory_mb_used=8000)]
    assert s.weigh_hosts(hosts, make_spec())[0][0].host == "busy"


def test_build_failures_outweigh_free_resources(ledger):
    s = scheduler()
    hosts = [make_host("roomy", 1, failed_builds=2), make_host("tight", 2, memory_mb=2048)]
    assert chosen_hosts(s.place(make_spec(), hosts)) == ["tight"]


# ---- choosing -----------------------------------------------------------------
def test_subset_size_picks_at_random_among_the_best(ledger):
    picks = Counter()
    for seed in range(60):
        s = scheduler(seed, host_subset_size=3, scheduler_weighers=ONLY_RAM)
        hosts = [make_host(f"n{i}", i, memory_mb=1000 * i) for i in range(1, 7)]
        picks[chosen_hosts(s.place(make_spec(), hosts))[0]] += 1
    assert set(picks) == {"n6", "n5", "n4"}


def test_subset_size_one_is_deterministic(ledger):
    hosts = [make_host(f"n{i}", i, memory_mb=1000 * i) for i in range(1, 7)]
    for seed in range(5):
        s = scheduler(seed, scheduler_weighers=ONLY_RAM)
        assert chosen_hosts(s.place(make_spec(), [make_host(h.host, h.node_id,
                                                            memory_mb=h.memory_mb)
                                                  for h in hosts])) == ["n6"]


def test_alternates_are_the_next_best_hosts_that_passed(ledger):
    s = scheduler(max_attempts=3, scheduler_weighers=ONLY_RAM)
    hosts = [make_host("small", 1, memory_mb=1024), make_host("big", 2, memory_mb=8192),
             make_host("mid", 3, memory_mb=4096), make_host("down", 4, up=False),
             make_host("bigger", 5, memory_mb=9000)]
    (selections,) = s.place(make_spec(), hosts)
    assert [sel.host for sel in selections] == ["bigger", "big", "mid"]
    assert ledger.held.keys() == {("inst-0", 5)}  # alternates are not claimed
    assert selections[0].to_dict() == {"host": "bigger", "nodename": "bigger", "node_id": 5,
                                       "node_uuid": "uuid-bigger", "availability_zone": "nova"}


def test_max_attempts_one_means_no_alternates(ledger):
    (selections,) = scheduler(max_attempts=1).place(make_spec(), make_hosts(3))
    assert len(selections) == 1


def test_fewer_alternates_when_fewer_hosts_pass(ledger):
    (selections,) = scheduler(max_attempts=5).place(make_spec(), make_hosts(2))
    assert len(selections) == 2


def test_lost_claim_race_moves_on_to_the_next_host(ledger):
    ledger.lose = {2}
    s = scheduler(scheduler_weighers=ONLY_RAM)
    hosts = [make_host("a", 1, memory_mb=1024), make_host("b", 2, memory_mb=8192),
             make_host("c", 3, memory_mb=4096)]
    (selections,) = s.place(make_spec(), hosts)
    assert selections[0].host == "c"
    assert "b" not in [sel.host for sel in selections]  # a full host is no alternate
    assert ledger.attempts == [("inst-0", 2), ("inst-0", 3)]


def test_every_claim_lost_is_no_valid_host(ledger):
    ledger.lose = {1, 2}
    with pytest.raises(NoValidHost):
        scheduler().place(make_spec(), make_hosts(2))


def test_no_host_passing_is_no_valid_host(ledger):
    with pytest.raises(NoValidHost):
        scheduler().place(make_spec(memory_mb=1 << 20), make_hosts(3))
    assert ledger.attempts == []


def test_force_host_considers_only_that_host(ledger):
    result = scheduler().place(make_spec(force_host="node2"), make_hosts(3))
    assert [[sel.host for sel in hosts] for hosts in result] == [["node2"]]


def test_force_host_skips_filters_but_not_the_claim(ledger):
    hosts = make_hosts(2, enabled=False)
    assert chosen_hosts(scheduler().place(make_spec(force_host="node1"), hosts)) == ["node1"]
    ledger.lose = {1}
    with pytest.raises(NoValidHost):
        scheduler().place(make_spec(force_host="node1"), make_hosts(2))
    with pytest.raises(NoValidHost):
        scheduler().place(make_spec(force_host="elsewhere"), make_hosts(2))


def test_requested_destination_limits_the_hosts_but_keeps_the_filters(ledger):
    """Nova 2.74's host / hypervisor_hostname: only that host or node, through the
    filters (a disabled one is no valid host, unlike a forced host)."""
    assert chosen_hosts(scheduler().place(make_spec(requested_host="node2"),
                                          make_hosts(3))) == ["node2"]
    assert chosen_hosts(scheduler().place(make_spec(requested_node="node3"),
                                          make_hosts(3))) == ["node3"]
    with pytest.raises(NoValidHost):
        scheduler().place(make_spec(requested_host="node1"), make_hosts(2, enabled=False))
    with pytest.raises(NoValidHost):
        scheduler().place(make_spec(requested_host="node1", requested_node="node2"),
                          make_hosts(2))


def test_ignore_hosts_are_never_chosen_nor_alternates(ledger):
    (selections,) = scheduler().place(make_spec(ignore_hosts=["node1", "node3"]),
                                      make_hosts(4))
    assert {sel.host for sel in selections} == {"node2", "node4"}


# ---- several instances in one request -------------------------------------------
def test_later_instances_see_earlier_claims(ledger):
    s = scheduler(scheduler_weighers=ONLY_RAM)
    hosts = [make_host("a", 1, memory_mb=4096), make_host("b", 2, memory_mb=3072)]
    result = s.place(make_spec(memory_mb=2048, count=3), hosts)
    # a (4096 free) then b (3072 > 2048 left on a) then a again (2048 left, b 1024).
    assert chosen_hosts(result) == ["a", "b", "a"]
    assert hosts[0].memory_mb_used == 4096 and hosts[0].num_instances == 2


def test_anti_affinity_spreads_within_one_request(ledger):
    spec = make_spec(count=3, group=make_group("anti-affinity"))
    assert sorted(chosen_hosts(scheduler().place(spec, make_hosts(3)))) == [
        "node1", "node2", "node3"]


def test_anti_affinity_honours_existing_members_and_max_server_per_host(ledger):
    spec = make_spec(count=3, group=make_group("anti-affinity", {"node1": 1},
                                               max_server_per_host=2))
    placed = Counter(chosen_hosts(scheduler().place(spec, make_hosts(2))))
    assert placed == {"node1": 1, "node2": 2}


def test_affinity_stacks_within_one_request(ledger):
    spec = make_spec(count=4, group=make_group("affinity"))
    hosts = make_hosts(3)
    assert len(set(chosen_hosts(scheduler().place(spec, hosts)))) == 1


def test_soft_anti_affinity_spreads_without_filtering(ledger):
    spec = make_spec(count=4, group=make_group("soft-anti-affinity"))
    placed = Counter(chosen_hosts(scheduler(scheduler_weighers=ONLY_RAM).place(
        spec, make_hosts(3))))
    assert sorted(placed.values()) == [1, 1, 2]


def test_soft_affinity_stacks_without_filtering(ledger):
    spec = make_spec(count=3, group=make_group("soft-affinity"))
    placed = chosen_hosts(scheduler(scheduler_weighers=ONLY_RAM).place(spec, make_hosts(3)))
    assert len(set(placed)) == 1


def test_soft_affinity_gives_way_when_the_host_is_full(ledger):
    spec = make_spec(count=3, memory_mb=8192, group=make_group("soft-affinity"))
    placed = chosen_hosts(scheduler(scheduler_weighers=ONLY_RAM).place(spec, make_hosts(2)))
    assert Counter(placed) == {"node1": 2, "node2": 1}


def test_one_instance_without_a_host_releases_the_whole_request(ledger):
    spec = make_spec(count=3, group=make_group("anti-affinity"))
    with pytest.raises(NoValidHost):
        scheduler().place(spec, make_hosts(2))
    assert len(ledger.attempts) == 2
    assert ledger.held == {}
