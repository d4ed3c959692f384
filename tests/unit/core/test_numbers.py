"""core/numbers.py: integers from client text are ASCII digits within bounds;
everything ``int()`` or ``isdigit()`` would let through besides is a BadInteger."""

from __future__ import annotations

import pytest

from core.numbers import (
    INT32_MAX,
    INT64_MAX,
    INT64_MIN,
    BadInteger,
    as_int,
    is_ascii_digits,
    parse_int,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("0", 0), ("7", 7), ("0042", 42), (str(INT64_MAX), INT64_MAX), ("0" * 5000 + "5", 5),
])
def test_ascii_digits_read_as_integers(text, expected):
    assert parse_int(text) == expected


@pytest.mark.parametrize("text", [
    "", "¹", "²", "٥", "５", "𝟓", "1_000", " 5", "5 ", "+5", "-5", "5.0", "1e3", "0x10",
    "five", "\u00005",
])
def test_anything_else_is_not_an_integer(text):
    with pytest.raises(BadInteger, match="is not an integer"):
        parse_int(text)


def test_a_sign_only_where_negative_values_are_allowed():
    assert parse_int("-5", INT64_MIN) == -5
    assert parse_int("+5", -1) == 5
    assert parse_int(str(INT64_MIN), INT64_MIN) == INT64_MIN
    for text in ("--5", "-", "+", "-¹", "- 5"):
        with pytest.raises(BadInteger):
            parse_int(text, INT64_MIN)


@pytest.mark.parametrize(("text", "low", "high"), [
    (str(INT64_MAX + 1), 0, INT64_MAX),
    ("36893488147419103231", 0, INT64_MAX),
    ("9" * 5000, 0, INT64_MAX),          # int() itself refuses more than 4,300 digits
    (str(INT64_MIN - 1), INT64_MIN, INT64_MAX),
    ("0", 1, 10), ("11", 1, 10), ("-2", -1, 10),
])
def test_out_of_bounds_is_refused(text, low, high):
    with pytest.raises(BadInteger, match=f"is not between {low} and {high}"):
        parse_int(text, low, high)


def test_cap_reads_any_larger_value_as_the_bound():
    assert parse_int("5", 0, INT32_MAX, cap=True) == 5
    assert parse_int(str(INT32_MAX + 1), 0, INT32_MAX, cap=True) == INT32_MAX
    assert parse_int("9" * 5000, 0, INT32_MAX, cap=True) == INT32_MAX
    with pytest.raises(BadInteger):
        parse_int("-" + "9" * 30, INT64_MIN, INT32_MAX, cap=True)
    with pytest.raises(BadInteger):
        parse_int("٥", 0, INT32_MAX, cap=True)


def test_bad_integer_is_a_value_error_with_a_short_message():
    with pytest.raises(ValueError) as info:
        parse_int("x" * 500)
    assert len(str(info.value)) < 80


@pytest.mark.parametrize(("value", "expected"), [(5, 5), ("5", 5), (-1, -1), ("-1", -1)])
def test_json_values_as_ints(value, expected):
    assert as_int(value, -1) == expected


@pytest.mark.parametrize("value", [True, False, None, 5.0, 5.5, [5], {"a": 5}, "٥", "¹",
                                   2**64, -2, 2**4000])
def test_json_values_that_are_not_ints_in_bounds(value):
    with pytest.raises(BadInteger):
        as_int(value, -1)


def test_ascii_digits():
    assert is_ascii_digits("0123456789")
    assert not any(is_ascii_digits(t) for t in ("", "¹", "٥", "1 ", "-1", "1_0"))
