from core.scheduler.filters.availability_zone import AvailabilityZoneFilter
from tests.unit.core.scheduler.factories import make_host, make_settings, make_spec

FILTER = AvailabilityZoneFilter(make_settings())


def test_no_zone_requested_passes_every_host():
    spec = make_spec()
    assert not FILTER.applies_to(spec)
    assert FILTER.host_passes(make_host(availability_zone="az2"), spec)


def test_host_in_requested_zone_passes():
    spec = make_spec(availability_zone="az2")
    assert FILTER.applies_to(spec)
    assert FILTER.host_passes(make_host(availability_zone="az2"), spec)


def test_host_in_other_zone_fails():
    assert not FILTER.host_passes(make_host(availability_zone="nova"),
                                  make_spec(availability_zone="az2"))
