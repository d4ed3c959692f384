import pytest

from core.volume.scheduler.filters import (
    AvailabilityZoneFilter,
    CapabilitiesFilter,
    CapacityFilter,
    build_filters,
    filter_pools,
)
from tests.unit.core.volume.scheduler.factories import make_pool, make_request, make_settings

SETTINGS = make_settings()
AZ = AvailabilityZoneFilter(SETTINGS)
CAPACITY = CapacityFilter(SETTINGS)
CAPABILITIES = CapabilitiesFilter(SETTINGS)
THICK = {"provisioning:type": "thick"}


# ---- AvailabilityZoneFilter ----
def test_zone_of_the_volume_must_match():
    assert AZ.pool_passes(make_pool(availability_zone="az1"),
                          make_request(availability_zone="az1"))
    assert not AZ.pool_passes(make_pool(availability_zone="az2"),
                              make_request(availability_zone="az1"))


def test_no_zone_passes_every_pool():
    assert AZ.pool_passes(make_pool(availability_zone="az2"), make_request())


def test_type_zones_win_over_the_volume_zone():
    spec = {"RESKEY:availability_zones": "az1, az3"}
    assert AZ.pool_passes(make_pool(availability_zone="az3"),
                          make_request(availability_zone="nova", extra_specs=spec))
    assert not AZ.pool_passes(make_pool(availability_zone="nova"),
                              make_request(availability_zone="nova", extra_specs=spec))


# ---- CapacityFilter: thick ----
def test_thick_exact_fit_passes_and_one_more_fails():
    pool = make_pool(total_capacity_gb=100, free_capacity_gb=100, provisioned_capacity_gb=90)
    assert CAPACITY.pool_passes(pool, make_request(10, extra_specs=THICK))
    assert not CAPACITY.pool_passes(pool, make_request(11, extra_specs=THICK))


def test_thick_is_bounded_by_reported_free_space():
    pool = make_pool(total_capacity_gb=100, free_capacity_gb=5, provisioned_capacity_gb=0)
    assert CAPACITY.pool_passes(pool, make_request(5, extra_specs=THICK))
    assert not CAPACITY.pool_passes(pool, make_request(6, extra_specs=THICK))


def test_reserved_percentage_is_floored_and_kept_back():
    # floor(105 * 10%) = 10 reserved: 95 available
    pool = make_pool(total_capacity_gb=105, free_capacity_gb=105, reserved_percentage=10)
    assert CAPACITY.pool_passes(pool, make_request(95, extra_specs=THICK))
    assert not CAPACITY.pool_passes(pool, make_request(96, extra_specs=THICK))


def test_thin_request_on_a_thick_only_pool_uses_thick_math():
    pool = make_pool(total_capacity_gb=100, provisioned_capacity_gb=95,
                     thin_provisioning_support=False, max_over_subscription_ratio=20)
    assert not CAPACITY.pool_passes(pool, make_request(10))


# ---- CapacityFilter: thin ----
def test_thin_over_subscribes_up_to_the_ratio():
    pool = make_pool(total_capacity_gb=100, free_capacity_gb=100, provisioned_capacity_gb=0,
                     thin_provisioning_support=True, max_over_subscription_ratio=2.0)
    assert CAPACITY.pool_passes(pool, make_request(200))
    assert not CAPACITY.pool_passes(pool, make_request(201))


def test_thin_counts_what_is_provisioned():
    pool = make_pool(total_capacity_gb=100, provisioned_capacity_gb=150,
                     thin_provisioning_support=True, max_over_subscription_ratio=2.0)
    assert CAPACITY.pool_passes(pool, make_request(50))
    assert not CAPACITY.pool_passes(pool, make_request(51))


def test_thin_with_a_ratio_below_one_fails():
    pool = make_pool(thin_provisioning_support=True, max_over_subscription_ratio=0.5)
    assert not CAPACITY.pool_passes(pool, make_request(1))


def test_thick_type_on_a_thin_pool_is_not_over_subscribed():
    pool = make_pool(total_capacity_gb=100, free_capacity_gb=100, provisioned_capacity_gb=95,
                     thin_provisioning_support=True, max_over_subscription_ratio=20)
    assert not CAPACITY.pool_passes(pool, make_request(10, extra_specs=THICK))
    assert CAPACITY.pool_passes(pool, make_request(10))


def test_zero_request_passes_and_empty_pool_fails():
    assert CAPACITY.pool_passes(make_pool(total_capacity_gb=0), make_request(0))
    assert not CAPACITY.pool_passes(make_pool(total_capacity_gb=0), make_request(1))


def test_infinite_capacity_passes_without_reserve():
    assert CAPACITY.pool_passes(make_pool(total_capacity_gb=-1), make_request(10 ** 6))
    assert not CAPACITY.pool_passes(make_pool(total_capacity_gb=-1, reserved_percentage=5),
                                    make_request(1))


def test_extend_asks_for_the_delta():
    pool = make_pool(total_capacity_gb=100, free_capacity_gb=100, provisioned_capacity_gb=95)
    assert CAPACITY.pool_passes(pool, make_request(5, extend=True, extra_specs=THICK))


# ---- CapabilitiesFilter ----
CAPS = {"volume_backend_name": "lvm-1", "storage_protocol": "iSCSI", "multiattach": True,
        "iops": 500, "tiers": ["gold", "silver"], "qos": {"max": "100"}}


@pytest.mark.parametrize("specs, passes", [
    ({}, True),
    ({"volume_backend_name": "lvm-1"}, True),
    ({"volume_backend_name": "lvm-2"}, False),
    ({"capabilities:storage_protocol": "iSCSI"}, True),
    ({"capabilities:storage_protocol": "<in> SCS"}, True),
    ({"multiattach": "<is> True"}, True),
    ({"multiattach": "<is> False"}, False),
    ({"iops": ">= 400"}, True),
    ({"iops": "= 600"}, False),
    ({"tiers": "gold"}, True),
    ({"tiers": "bronze"}, False),
    ({"capabilities:qos:max": "== 100"}, True),
    ({"missing_key": "x"}, False),
    ({"provisioning:type": "thin", "RESKEY:availability_zones": "x",
      "vendor:whatever": "y"}, True),
    ({"storage_protocol": "<or> FC <or> iSCSI"}, True),
    ({"storage_protocol": "<or> FC <or> NFS"}, False),
])
def test_capabilities_extra_specs(specs, passes):
    pool = make_pool(capabilities=CAPS)
    assert CAPABILITIES.pool_passes(pool, make_request(extra_specs=specs)) is passes


def test_online_extend_support_is_needed_for_attached_volumes():
    pool = make_pool(capabilities={"online_extend_support": False})
    assert not CAPABILITIES.pool_passes(pool, make_request(extend=True, attached=True))
    assert CAPABILITIES.pool_passes(pool, make_request(extend=True, attached=False))


# ---- registry ----
def test_default_filters_in_order_and_unknown_names_fail():
    assert [type(f).__name__ for f in build_filters(SETTINGS.enabled_volume_filters,
                                                    SETTINGS)] == [
        "AvailabilityZoneFilter", "CapacityFilter", "CapabilitiesFilter"]
    with pytest.raises(ValueError, match="NoSuchFilter"):
        build_filters(["CapacityFilter", "NoSuchFilter"], SETTINGS)


def test_filter_pools_keeps_those_every_filter_passes():
    pools = [make_pool("h@b#a", availability_zone="nova"),
             make_pool("h@b#b", availability_zone="other"),
             make_pool("h@b#c", availability_zone="nova", total_capacity_gb=1)]
    passed = filter_pools([AZ, CAPACITY], pools, make_request(5, availability_zone="nova"))
    assert [p.name for p in passed] == ["h@b#a"]
