from core.scheduler.filters.disk import DiskFilter
from tests.unit.core.scheduler.factories import make_host, make_settings, make_spec

FILTER = DiskFilter(make_settings())


def test_root_ephemeral_and_swap_count():
    # 10 + 5 + ceil(1025 MiB / 1024) = 17 GiB
    spec = make_spec(root_gb=10, flavor={"ephemeral_gb": 5, "swap": 1025})
    assert spec.flavor.disk_gb == 17
    assert FILTER.host_passes(make_host(local_gb=100, local_gb_used=83), spec)
    assert not FILTER.host_passes(make_host(local_gb=100, local_gb_used=84), spec)


def test_disk_allocation_ratio_is_honoured():
    host = make_host(local_gb=100, local_gb_used=100, disk_allocation_ratio=2.0)
    assert FILTER.host_passes(host, make_spec(root_gb=100))
    assert not FILTER.host_passes(host, make_spec(root_gb=101))
