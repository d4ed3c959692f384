"""Nova's _hours_for: the hours an instance ran within a usage window."""

from datetime import UTC, datetime, timedelta

import pytest

from core.compute.tenant_usage import hours_in

T0 = datetime(2030, 1, 1, tzinfo=UTC)
START, STOP = T0, T0 + timedelta(hours=10)


def h(n: float) -> datetime:
    return T0 + timedelta(hours=n)


@pytest.mark.parametrize(("launched", "terminated", "hours"), [
    (None, None, 0.0),  # never launched
    (h(-5), h(-1), 0.0),  # ended before the window
    (h(11), None, 0.0),  # launched after it
    (h(2), None, 8.0),  # still running: to the window's end
    (h(-3), None, 10.0),
    (h(2), h(5), 3.0),
    (h(-3), h(4), 4.0),
    (h(8), h(20), 2.0),
])
def test_hours_within_the_window(launched, terminated, hours):
    assert hours_in(launched, terminated, START, STOP) == pytest.approx(hours)
