from core.scheduler.filters.ram import RamFilter
from tests.unit.core.scheduler.factories import make_host, make_settings, make_spec

FILTER = RamFilter(make_settings())


def test_exact_fit_passes():
    host = make_host(memory_mb=4096, memory_mb_used=3072)
    assert FILTER.host_passes(host, make_spec(memory_mb=1024))


def test_one_mib_too_many_fails():
    host = make_host(memory_mb=4096, memory_mb_used=3072)
    assert not FILTER.host_passes(host, make_spec(memory_mb=1025))


def test_allocation_ratio_is_honoured():
    host = make_host(memory_mb=4096, memory_mb_used=4096, ram_allocation_ratio=1.5)
    assert FILTER.host_passes(host, make_spec(memory_mb=2048))
    assert not FILTER.host_passes(host, make_spec(memory_mb=2049))
