"""gateway/json_body.py: JSON request bodies hold only what the services can
store and the API can answer with; anything else is a BadJson (a 400)."""

from __future__ import annotations

import pytest

from gateway.json_body import MAX_DEPTH, BadJson, parse_json_body


def test_ordinary_json_reads_as_the_standard_library_does():
    text = '{"a": [1, -2, 3.5, true, null, "é\\u00e9"], "b": {"c": 9223372036854775807}}'
    assert parse_json_body(text) == {"a": [1, -2, 3.5, True, None, "éé"],
                                     "b": {"c": 2**63 - 1}}
    assert parse_json_body(text.encode()) == parse_json_body(text)
    assert parse_json_body('"\\ud83d\\ude00"') == "😀"   # a surrogate pair is one character


@pytest.mark.parametrize(("text", "message"), [
    ('{"n": 18446744073709551616}', "64-bit"),               # 2**64: saved, then unlistable
    ('{"n": -9223372036854775809}', "64-bit"),
    ('{"n": ' + "9" * 5000 + "}", "64-bit"),                 # int() raises a ValueError
    ('{"n": 1e400}', "too large"),
    ('{"n": NaN}', "not a JSON value"),
    ('{"n": -Infinity}', "not a JSON value"),
    ('{"s": "\\ud800"}', "surrogate"),
    ('{"\\udfff": 1}', "surrogate"),
    ("[" * 100_000 + "]" * 100_000, "nested"),               # RecursionError
    ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nested"),
    ("{not json", "Expecting"),
    (b"\xff{}", "UTF-8"),
])
def test_what_nothing_can_keep_is_bad_json(text, message):
    with pytest.raises(BadJson, match=message):
        parse_json_body(text)


def test_nesting_up_to_the_limit_is_fine():
    depth = MAX_DEPTH
    assert parse_json_body("[" * depth + "]" * depth) is not None
