from core.scheduler.weighers.ram import RAMWeigher
from tests.unit.core.scheduler.factories import make_host, make_settings, make_spec


def test_free_ram_with_ratio():
    host = make_host(memory_mb=1000, memory_mb_used=300, ram_allocation_ratio=1.5)
    assert RAMWeigher(make_settings()).weigh(host, make_spec()) == 1200
