from core.scheduler.filters.server_group import (
    ServerGroupAffinityFilter,
    ServerGroupAntiAffinityFilter,
)
from tests.unit.core.scheduler.factories import make_group, make_host, make_settings, make_spec

AFFINITY = ServerGroupAffinityFilter(make_settings())
ANTI = ServerGroupAntiAffinityFilter(make_settings())
NODE1, NODE2 = make_host("node1", 1), make_host("node2", 2)


def test_no_group_passes_everything():
    spec = make_spec()
    assert not AFFINITY.applies_to(spec) and not ANTI.applies_to(spec)
    assert AFFINITY.host_passes(NODE1, spec) and ANTI.host_passes(NODE1, spec)


def test_affinity_first_member_goes_anywhere():
    spec = make_spec(group=make_group("affinity"))
    assert AFFINITY.applies_to(spec)
    assert AFFINITY.host_passes(NODE1, spec) and AFFINITY.host_passes(NODE2, spec)


def test_affinity_sticks_to_members_hosts():
    spec = make_spec(group=make_group("affinity", {"node1": 1}))
    assert AFFINITY.host_passes(NODE1, spec)
    assert not AFFINITY.host_passes(NODE2, spec)


def test_anti_affinity_avoids_members_hosts():
    spec = make_spec(group=make_group("anti-affinity", {"node1": 1}))
    assert ANTI.applies_to(spec)
    assert not ANTI.host_passes(NODE1, spec)
    assert ANTI.host_passes(NODE2, spec)


def test_anti_affinity_max_server_per_host():
    spec = make_spec(group=make_group("anti-affinity", {"node1": 1, "node2": 2},
                                      max_server_per_host=2))
    assert ANTI.host_passes(NODE1, spec)
    assert not ANTI.host_passes(NODE2, spec)


def test_filters_ignore_the_other_policies():
    for policy in ("soft-affinity", "soft-anti-affinity"):
        spec = make_spec(group=make_group(policy, {"node1": 3}))
        assert not AFFINITY.applies_to(spec) and not ANTI.applies_to(spec)
        assert AFFINITY.host_passes(NODE2, spec) and ANTI.host_passes(NODE1, spec)
    assert ANTI.host_passes(NODE1, make_spec(group=make_group("affinity", {"node1": 1})))
    assert AFFINITY.host_passes(NODE2, make_spec(group=make_group("anti-affinity",
                                                                  {"node1": 1})))
