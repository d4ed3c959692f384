"""List rows' values read cheaply: the same text from SQLite's timestamps, the
server back ends' naive datetimes and the ORM's aware ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from core.compute.raw_values import (
    as_datetime,
    json_value,
    micro,
    millis_z,
    seconds_space,
    seconds_z,
)

WHEN = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
FORMS = [WHEN, WHEN.replace(tzinfo=None), "2026-01-02 03:04:05.678901",
         WHEN.astimezone(timezone(timedelta(hours=2))), "2026-01-02T03:04:05.678901"]


@pytest.mark.parametrize("value", FORMS, ids=["aware", "naive", "sqlite", "other zone", "iso"])
def test_every_form_of_a_timestamp_reads_the_same(value):
    assert seconds_z(value) == "2026-01-02T03:04:05Z"
    assert micro(value) == "2026-01-02T03:04:05.678901"
    assert millis_z(value) == "2026-01-02T03:04:05.678Z"
    assert seconds_space(value) == "2026-01-02 03:04:05"
    assert as_datetime(value) == WHEN


def test_whole_seconds_in_text_and_none():
    assert micro("2026-01-02 03:04:05") == "2026-01-02T03:04:05.000000"
    assert seconds_z(None) is micro(None) is millis_z(None) is as_datetime(None) is None


def test_json_text_is_parsed_and_parsed_values_pass():
    assert json_value('{"a": [1, "x"]}') == {"a": [1, "x"]}
    assert json_value(b"null") is None
    assert json_value({"a": 1}) == {"a": 1}
    assert json_value('{"n": NaN}')["n"] != 0  # what json writes and orjson refuses
