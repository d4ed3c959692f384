from core.scheduler.filters.compute import ComputeFilter
from tests.unit.core.scheduler.factories import make_host, make_settings, make_spec


def test_enabled_and_up_host_passes():
    assert ComputeFilter(make_settings()).host_passes(make_host(), make_spec())


def test_disabled_host_fails():
    assert not ComputeFilter(make_settings()).host_passes(make_host(enabled=False), make_spec())


def test_down_host_fails():
    assert not ComputeFilter(make_settings()).host_passes(make_host(up=False), make_spec())
