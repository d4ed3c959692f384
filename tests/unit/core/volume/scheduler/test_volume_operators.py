import pytest

from core.extra_specs import CINDER, NOVA, match


@pytest.mark.parametrize("value, requirement, expected", [
    ("4", "= 4", True), ("5", "= 4", True), ("3", "= 4", False),
    ("4", "== 4.0", True), ("4", "!= 4", False), ("4", ">= 5", False), ("4", "<= 5", True),
    ("abc", "s== abc", True), ("abc", "s!= abc", False), ("abc", "s< abd", True),
    ("abc", "s<= abc", True), ("abd", "s> abc", True), ("abc", "s>= abd", False),
    ("sse4 avx", "<in> avx", True), ("sse4", "<in> avx", False),
    (True, "<is> True", True), (True, "<is> true", True), (False, "<is> True", False),
    ("b", "<or> a <or> b", True), ("c", "<or> a <or> b", False),
    ("iSCSI", "iSCSI", True), ("iSCSI", "FC", False),
    (None, "= 1", False), (None, "x", False),
    ("many", "= 4", False),  # not a number
    ("4", "=", False),  # no operand
])
def test_match(value, requirement, expected):
    assert match(value, requirement, CINDER) is expected


def test_each_dialect_has_its_own_operator():
    assert match("True", "<is> True", CINDER) and not match("True", "<is> True", NOVA)
    assert match("a b", "<all-in> a b", NOVA) and not match("a b", "<all-in> a b", CINDER)
