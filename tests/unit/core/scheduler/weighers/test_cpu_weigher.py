from core.scheduler.weighers.cpu import CPUWeigher
from tests.unit.core.scheduler.factories import make_host, make_settings, make_spec


def test_free_vcpus_with_ratio():
    host = make_host(vcpus_total=8, cpu_allocation_ratio=4.0, vcpus_used=10)
    assert CPUWeigher(make_settings()).weigh(host, make_spec()) == 22
