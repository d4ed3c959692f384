import pytest

from core.scheduler.filters import FILTERS, build_filters
from tests.unit.core.scheduler.factories import make_settings


def test_default_settings_name_registered_filters_in_order():
    settings = make_settings()
    built = build_filters(settings.enabled_filters, settings)
    assert [type(f).__name__ for f in built] == list(settings.enabled_filters)


def test_every_registered_filter_can_be_built():
    built = build_filters(FILTERS, make_settings())
    assert len(built) == len(FILTERS) == 13


def test_unknown_filter_is_a_value_error():
    with pytest.raises(ValueError, match="NoSuchFilter"):
        build_filters(["RamFilter", "NoSuchFilter"], make_settings())


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        FILTERS["Mine"] = object  # type: ignore[index]


def test_aggregate_extra_specs_filter_is_available_but_not_enabled_by_default():
    # Nova's default enabled_filters leave it out; operators switch it on by setting.
    assert "AggregateInstanceExtraSpecsFilter" in FILTERS
    assert "AggregateInstanceExtraSpecsFilter" not in make_settings().enabled_filters
