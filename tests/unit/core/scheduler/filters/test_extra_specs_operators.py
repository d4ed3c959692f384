import pytest

from core.extra_specs import match


@pytest.mark.parametrize(("value", "requirement", "expected"), [
    ("1", "1", True), ("1", "2", False),
    ("4", "= 2", True), ("1", "= 2", False),
    ("2", "== 2", True), ("2.0", "== 2", True), ("3", "== 2", False),
    ("3", "!= 2", True),
    ("3", ">= 2", True), ("1", ">= 2", False),
    ("1", "<= 2", True), ("3", "<= 2", False),
    ("abc", "s== abc", True), ("abd", "s!= abc", True),
    ("abc", "s< abd", True), ("abc", "s<= abc", True),
    ("abd", "s> abc", True), ("abc", "s>= abd", False),
    ("sse4 avx", "<in> avx", True), ("sse4", "<in> avx", False),
    ("sse4 avx fma", "<all-in> avx sse4", True), ("sse4", "<all-in> avx sse4", False),
    ("b", "<or> a <or> b <or> c", True), ("d", "<or> a <or> b", False),
    ("x", ">= 2", False),  # not a number
    (None, ">= 2", False),
    ("2", ">=", False),    # no operand
])
def test_match(value, requirement, expected):
    assert match(value, requirement) is expected
