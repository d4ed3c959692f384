import pytest

from core.scheduler.weighers.base import normalize


def test_min_max_to_zero_one():
    assert normalize([10, 20, 15]) == [0.0, 1.0, 0.5]


def test_negative_values():
    assert normalize([-3, 0, -1.5]) == [0.0, 1.0, 0.5]


@pytest.mark.parametrize("values", [[], [7], [4, 4, 4]])
def test_all_equal_or_empty_gives_zeros(values):
    assert normalize(values) == [0.0] * len(values)
