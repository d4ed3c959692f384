from core.scheduler.weighers.build_failure import BuildFailureWeigher
from tests.unit.core.scheduler.factories import make_host, make_settings, make_spec


def test_more_failures_weigh_less():
    weigher = BuildFailureWeigher(make_settings())
    assert weigher.weigh(make_host(failed_builds=0), make_spec()) == 0
    assert weigher.weigh(make_host(failed_builds=3), make_spec()) == -3


def test_default_multiplier_is_nova_s():
    assert dict(make_settings().weigher_multipliers)["BuildFailureWeigher"] == 1e6
