"""core/clock.py: timestamps a client sends are read in UTC, within the
years datetime and the database columns hold."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.clock import parse_timestamp, utcnow


def test_now_is_aware_utc():
    assert utcnow().tzinfo is UTC


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-01-31T23:59:59Z", datetime(2024, 1, 31, 23, 59, 59, tzinfo=UTC)),
    ("2024-01-31T23:59:59", datetime(2024, 1, 31, 23, 59, 59, tzinfo=UTC)),
    ("2024-02-01T00:59:59+01:00", datetime(2024, 1, 31, 23, 59, 59, tzinfo=UTC)),
    ("9999-12-31T23:59:59.999999Z", datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ("0001-01-01T00:00:00", datetime(1, 1, 1, tzinfo=UTC)),
])
def test_timestamps_read_in_utc(text, expected):
    parsed = parse_timestamp(text)
    assert parsed == expected and parsed.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("text", [
    "9999-12-31T23:59:59-01:00",   # year 10000 in UTC: astimezone overflowed, a 500
    "0001-01-01T00:00:00+01:00",   # year 0 in UTC
    "٢٠٢٤-01-01", "yesterday", "", "2024-13-01",
])
def test_what_utc_cannot_hold_or_is_no_timestamp_is_a_value_error(text):
    with pytest.raises(ValueError):
        parse_timestamp(text)
