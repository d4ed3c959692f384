from core.scheduler.weighers.num_instances import NumInstancesWeigher
from tests.unit.core.scheduler.factories import make_host, make_settings, make_spec


def test_counts_instances():
    assert NumInstancesWeigher(make_settings()).weigh(make_host(num_instances=7),
                                                      make_spec()) == 7


def test_default_multiplier_is_zero():
    assert dict(make_settings().weigher_multipliers)["NumInstancesWeigher"] == 0.0
