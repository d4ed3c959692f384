from core.scheduler.weighers.disk import DiskWeigher
from tests.unit.core.scheduler.factories import make_host, make_settings, make_spec


def test_free_disk_with_ratio():
    host = make_host(local_gb=100, local_gb_used=40, disk_allocation_ratio=1.0)
    assert DiskWeigher(make_settings()).weigh(host, make_spec()) == 60
