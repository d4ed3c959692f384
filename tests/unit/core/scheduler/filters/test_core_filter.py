from core.scheduler.filters.cores import CoreFilter
from tests.unit.core.scheduler.factories import make_host, make_settings, make_spec

FILTER = CoreFilter(make_settings())


def test_overcommit_ratio_gives_room():
    host = make_host(vcpus_total=4, cpu_allocation_ratio=4.0, vcpus_used=14)
    assert FILTER.host_passes(host, make_spec(vcpus=2))
    assert not FILTER.host_passes(host, make_spec(vcpus=3))


def test_ratio_one_means_physical_cores():
    host = make_host(vcpus_total=4, cpu_allocation_ratio=1.0, vcpus_used=3)
    assert FILTER.host_passes(host, make_spec(vcpus=1))
    assert not FILTER.host_passes(host, make_spec(vcpus=2))
