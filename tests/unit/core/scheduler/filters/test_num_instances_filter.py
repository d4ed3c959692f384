from core.scheduler.filters.num_instances import NumInstancesFilter
from tests.unit.core.scheduler.factories import make_host, make_settings, make_spec


def test_limit_comes_from_settings():
    flt = NumInstancesFilter(make_settings(max_instances_per_host=3))
    assert flt.host_passes(make_host(num_instances=2), make_spec())
    assert not flt.host_passes(make_host(num_instances=3), make_spec())
