from core.scheduler.filters.affinity import DifferentHostFilter, SameHostFilter
from tests.unit.core.scheduler.factories import make_host, make_settings, make_spec

SAME = SameHostFilter(make_settings())
DIFFERENT = DifferentHostFilter(make_settings())
NODE1, NODE2 = make_host("node1", 1), make_host("node2", 2)


def spec_with(hint: str, uuids, hosts):
    spec = make_spec(scheduler_hints={hint: uuids})
    spec.instance_hosts = hosts
    return spec


def test_without_hints_both_pass_and_skip():
    spec = make_spec()
    assert not SAME.applies_to(spec) and not DIFFERENT.applies_to(spec)
    assert SAME.host_passes(NODE1, spec) and DIFFERENT.host_passes(NODE1, spec)


def test_same_host():
    spec = spec_with("same_host", ["a", "b"], {"a": "node1"})
    assert SAME.applies_to(spec)
    assert SAME.host_passes(NODE1, spec)
    assert not SAME.host_passes(NODE2, spec)


def test_same_host_accepts_a_single_uuid_string():
    assert SAME.host_passes(NODE1, spec_with("same_host", "a", {"a": "node1"}))


def test_same_host_with_unplaced_instances_passes_nothing():
    spec = spec_with("same_host", ["a"], {})
    assert not SAME.host_passes(NODE1, spec) and not SAME.host_passes(NODE2, spec)


def test_different_host():
    spec = spec_with("different_host", ["a", "b"], {"a": "node1", "b": "node3"})
    assert DIFFERENT.applies_to(spec)
    assert not DIFFERENT.host_passes(NODE1, spec)
    assert DIFFERENT.host_passes(NODE2, spec)
