import math

from core.volume.scheduler.weighers import CapacityWeigher, normalize
from tests.unit.core.volume.scheduler.factories import make_pool, make_request


def test_normalize_scales_to_zero_one_and_equal_values_give_zero():
    assert normalize([10, 20, 30]) == [0.0, 0.5, 1.0]
    assert normalize([5, 5]) == [0.0, 0.0]
    assert normalize([]) == []
    assert normalize([1, math.inf]) == [0.0, 1.0]


def pools():
    return [make_pool("h@b#small", free_capacity_gb=20, total_capacity_gb=100,
                      provisioned_capacity_gb=80),
            make_pool("h@b#big", free_capacity_gb=80, total_capacity_gb=100,
                      provisioned_capacity_gb=20),
            make_pool("h@b#mid", free_capacity_gb=50, total_capacity_gb=100,
                      provisioned_capacity_gb=50)]


def test_positive_multiplier_spreads_to_the_most_free():
    ranked = CapacityWeigher(1.0).weigh(pools(), make_request(extra_specs={
        "provisioning:type": "thick"}))
    assert [p.name for _, p in ranked] == ["h@b#big", "h@b#mid", "h@b#small"]
    assert [w for w, _ in ranked] == [1.0, 0.5, 0.0]


def test_negative_multiplier_stacks_on_the_least_free():
    ranked = CapacityWeigher(-1.0).weigh(pools(), make_request())
    assert [p.name for _, p in ranked][0] == "h@b#small"


def test_thin_pools_weigh_their_virtual_free_capacity():
    thin = make_pool("h@b#thin", total_capacity_gb=100, free_capacity_gb=10,
                     provisioned_capacity_gb=100, thin_provisioning_support=True,
                     max_over_subscription_ratio=10)
    thick = make_pool("h@b#thick", total_capacity_gb=500, free_capacity_gb=500)
    ranked = CapacityWeigher(1.0).weigh([thick, thin], make_request())
    assert ranked[0][1].name == "h@b#thin"  # 1000 - 100 virtual free beats 500


def test_infinite_pools_come_last_when_spreading_first_when_stacking():
    ps = [make_pool("h@b#inf", total_capacity_gb=-1), make_pool("h@b#fin")]
    assert CapacityWeigher(1.0).weigh(ps, make_request())[0][1].name == "h@b#fin"
    assert CapacityWeigher(-1.0).weigh(ps, make_request())[0][1].name == "h@b#fin"
