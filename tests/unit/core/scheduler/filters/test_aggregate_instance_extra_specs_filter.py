import pytest

from core.scheduler.filters.aggregate_instance_extra_specs import (
    AggregateInstanceExtraSpecsFilter,
)
from tests.unit.core.scheduler.factories import make_host, make_settings, make_spec

FILTER = AggregateInstanceExtraSpecsFilter(make_settings())
HOST = make_host(aggregate_metadata={"ssd": {"true"}, "gpus": {"2", "4"},
                                     "availability_zone": {"z1"}})
BARE = make_host("node2", 2)


def passes(host=HOST, **extra_specs):
    return FILTER.host_passes(host, make_spec(flavor={"extra_specs": extra_specs}))


def test_no_extra_specs_passes_and_skips():
    spec = make_spec()
    assert not FILTER.applies_to(spec)
    assert FILTER.host_passes(BARE, spec)


@pytest.mark.parametrize(("key", "requirement", "expected"), [
    ("aggregate_instance_extra_specs:ssd", "true", True),
    ("aggregate_instance_extra_specs:ssd", "false", False),
    ("aggregate_instance_extra_specs:gpus", "4", True),  # one of its values matches
    ("aggregate_instance_extra_specs:gpus", ">= 3", True),
    ("aggregate_instance_extra_specs:gpus", ">= 5", False),
    ("aggregate_instance_extra_specs:missing", "x", False),
    ("ssd", "true", True),  # unscoped keys are matched too (as Nova does)
    ("ssd", "<or> false <or> true", True),
    ("hw:cpu_policy", "dedicated", True),  # other scopes are not this filter's
    ("capabilities:ssd", "false", True),
])
def test_specs_against_aggregate_metadata(key, requirement, expected):
    assert passes(**{key: requirement}) is expected


def test_a_host_in_no_aggregate_fails_a_scoped_spec():
    assert not passes(BARE, **{"aggregate_instance_extra_specs:ssd": "true"})
    assert passes(BARE, **{"hw:mem_page_size": "large"})
