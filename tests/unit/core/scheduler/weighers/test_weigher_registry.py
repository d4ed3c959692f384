import pytest

from core.scheduler.weighers import WEIGHERS, build_weighers
from tests.unit.core.scheduler.factories import make_settings


def test_default_settings_build_with_their_multipliers():
    settings = make_settings()
    built = build_weighers(settings.weigher_multipliers, settings)
    assert [(type(w).__name__, m) for w, m in built] == list(settings.weigher_multipliers)


def test_every_registered_weigher_can_be_built():
    assert len(build_weighers([(n, 1.0) for n in WEIGHERS], make_settings())) == 7


def test_unknown_weigher_is_a_value_error():
    with pytest.raises(ValueError, match="NoSuchWeigher"):
        build_weighers([("NoSuchWeigher", 1.0)], make_settings())
