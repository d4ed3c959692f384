from core.scheduler.weighers.server_group import (
    ServerGroupSoftAffinityWeigher,
    ServerGroupSoftAntiAffinityWeigher,
)
from tests.unit.core.scheduler.factories import make_group, make_host, make_settings, make_spec

SOFT = ServerGroupSoftAffinityWeigher(make_settings())
SOFT_ANTI = ServerGroupSoftAntiAffinityWeigher(make_settings())
NODE1, NODE2 = make_host("node1", 1), make_host("node2", 2)


def test_soft_affinity_prefers_hosts_with_members():
    spec = make_spec(group=make_group("soft-affinity", {"node1": 2}))
    assert SOFT.weigh(NODE1, spec) == 2 and SOFT.weigh(NODE2, spec) == 0


def test_soft_anti_affinity_prefers_hosts_without_members():
    spec = make_spec(group=make_group("soft-anti-affinity", {"node1": 2}))
    assert SOFT_ANTI.weigh(NODE1, spec) == -2 and SOFT_ANTI.weigh(NODE2, spec) == 0


def test_other_policies_and_no_group_weigh_nothing():
    for spec in (make_spec(), make_spec(group=make_group("anti-affinity", {"node1": 1}))):
        assert SOFT.weigh(NODE1, spec) == 0 and SOFT_ANTI.weigh(NODE1, spec) == 0
    assert SOFT.weigh(NODE1, make_spec(group=make_group("soft-anti-affinity",
                                                        {"node1": 1}))) == 0
