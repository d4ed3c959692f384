"""Unit tests for core/policy/checks.py: one test per construct of the language."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from core.policy.checks import (
    AndCheck,
    FalseCheck,
    GenericCheck,
    NotCheck,
    OrCheck,
    RoleCheck,
    RuleCheck,
    TrueCheck,
    evaluate,
    parse_rule,
)

CREDS: dict[str, Any] = {
    "user_id": "u1",
    "project_id": "p1",
    "domain_id": None,
    "roles": ["Member", "reader"],
    "is_admin": True,
    "token": {"project": {"id": "p1", "domain": {"id": "default"}}, "domain": {"id": None}},
    "groups": [{"id": "g1"}, {"id": "g2"}],
    "scopes": ("a", "b"),
}
TARGET: dict[str, Any] = {
    "user_id": "u1",
    "project_id": "p2",
    "target.project.id": "p1",
    "target.role.name": "member",
    "role": "READER",
    "flag": True,
    "n": 1,
    "none": None,
}


def decide(rule: Any, target: dict[str, Any] | None = None, creds: dict[str, Any] | None = None,
           rules: dict[str, str] | None = None) -> bool:
    parsed = {name: parse_rule(text) for name, text in (rules or {}).items()}
    return evaluate(parse_rule(rule), TARGET if target is None else target,
                    CREDS if creds is None else creds, parsed)


@pytest.mark.parametrize(("rule", "expected"), [("@", True), ("!", False), ("", True)])
def test_special_atoms(rule: str, expected: bool) -> None:
    assert decide(rule) is expected


def test_whitespace_only_rule_fails_unlike_the_empty_rule() -> None:
    # oslo: "" is "always"; "  " tokenizes to nothing and fails to parse.
    assert decide("   ") is False


def test_rule_reference_and_unknown_rule() -> None:
    rules = {"is_member": "role:member", "nobody": "!"}
    assert decide("rule:is_member", rules=rules) is True
    assert decide("rule:nobody", rules=rules) is False
    assert decide("rule:missing", rules=rules) is False
    assert decide("not rule:missing", rules=rules) is True


def test_rule_cycle_denies_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    rules = {"a": "rule:b", "b": "rule:a or @"}
    with caplog.at_level(logging.ERROR, logger="core.policy.checks"):
        assert decide("rule:a or @", rules=rules) is False
    assert "reaches itself" in caplog.text


@pytest.mark.parametrize(("rule", "expected"), [
    ("role:member", True),           # creds say "Member": case-insensitive
    ("role:MEMBER", True),
    ("role:admin", False),
    ("role:%(role)s", True),         # interpolated from the target: "READER"
    ("role:%(missing)s", False),     # a missing target key fails
])
def test_role_check(rule: str, expected: bool) -> None:
    assert decide(rule) is expected


def test_role_check_without_roles_in_creds() -> None:
    assert decide("role:member", creds={"user_id": "u1"}) is False


@pytest.mark.parametrize(("rule", "expected"), [
    ("user_id:%(user_id)s", True),
    ("project_id:%(project_id)s", False),
    ("project_id:%(target.project.id)s", True),       # flat dotted target key
    ("user_id:%(nope)s", False),                      # missing target key
    ("user_id:u1", True),                             # right side is plain text
    ("token.project.id:%(target.project.id)s", True),  # dotted path into creds
    ("token.project.domain.id:default", True),
    ("token.domain.id:None", True),                   # None compares as "None"
    ("domain_id:None", True),
    ("token.missing.id:x", False),
    ("groups.id:g2", True),                           # a list on the path: any element
    ("groups.id:g3", False),
    ("roles:reader", True),                           # a list at the leaf: any element
    ("roles:member", False),                          # ... compared exactly, not folded
    ("scopes:a", False),                              # tuples are not lists (oslo)
])
def test_generic_check_against_creds(rule: str, expected: bool) -> None:
    assert decide(rule) is expected


def test_nested_target_is_not_looked_up_by_checks() -> None:
    # oslo.policy only interpolates "right % target": nested dicts are not walked.
    nested = {"target": {"project": {"id": "p1"}}}
    assert decide("project_id:%(target.project.id)s", target=nested) is False


@pytest.mark.parametrize(("rule", "expected"), [
    ("True:%(flag)s", True),
    ("'member':%(target.role.name)s", True),
    ("'admin':%(target.role.name)s", False),
    ("1:%(n)s", True),
    ("None:%(none)s", True),
    ("not None:%(none)s", False),
    ("None:%(missing)s", False),
    ("is_admin:True", True),     # creds path, str(True) == "True"
    ("is_admin:1", False),       # ... which is not "1"
])
def test_literal_left_side(rule: str, expected: bool) -> None:
    assert decide(rule) is expected


def test_is_admin_one_matches_integer_creds() -> None:
    assert decide("is_admin:1", creds={"is_admin": 1}) is True


@pytest.mark.parametrize(("rule", "expected"), [
    ("@ or ! and !", True),          # and binds tighter than or
    ("! and ! or @", True),
    ("! or @ and !", False),
    ("not @ or @", True),            # not binds tightest
    ("not ! and !", False),
    ("not (! and @)", True),
    ("(@ or !) and !", False),
    ("@ and @ and @ or !", True),
    ("! or ! or ! or @ and @ and @", True),
    ("@ AND not ! Or !", True),      # operators are case-insensitive
    ("not not @", True),
    ("((@))", True),
    ("( @ )", True),
    ("(role:admin or role:member) and not role:other", True),
])
def test_operators_and_parentheses(rule: str, expected: bool) -> None:
    assert decide(rule) is expected


def test_parse_tree_shapes() -> None:
    assert parse_rule("@ or ! and !") == OrCheck((TrueCheck(), AndCheck((FalseCheck(), FalseCheck()))))
    assert parse_rule("not role:a") == NotCheck(RoleCheck("a"))
    assert parse_rule("rule:x") == RuleCheck("x")
    assert isinstance(parse_rule("a.b:c"), GenericCheck)


@pytest.mark.parametrize(("rule", "expected"), [
    ([["@", "!"], ["@"]], True),
    ([["@", "!"]], False),
    ([["role:member", "user_id:%(user_id)s"]], True),
    ([], True),              # empty list: always
    ([[]], False),           # only empty inner lists: never
    (["@"], True),           # a bare string stands for a one-item list
    ([["@ or !"]], False),   # inner items are single atoms, not expressions
])
def test_list_of_lists(rule: Any, expected: bool) -> None:
    assert decide(rule) is expected


@pytest.mark.parametrize("rule", [
    "@ and", "(@", "@)", "and", "not", "@ @", "(@) (@)", "'@'", '"role:member"',
    "@ or or @",
])
def test_malformed_rules_fail(rule: str) -> None:
    assert parse_rule(rule) == FalseCheck()
    assert decide(rule) is False


def test_malformed_atoms_fail_alone_not_the_whole_rule() -> None:
    # oslo oddities: an atom without ":" is a failing check, so "not" of it
    # passes; a quoted token breaks the whole parse unless a parenthesis sticks
    # to it (then it is an atom again).
    assert decide("foo") is False
    assert decide("not foo") is True
    assert decide("not 'x'") is False
    assert decide("not ('x')") is True


def test_remote_checks_never_pass() -> None:
    assert decide("http://policy.example.com/check") is False
    assert decide("https://policy.example.com/%(user_id)s or role:member") is True
    assert parse_rule("https:x") == FalseCheck()


@pytest.mark.parametrize("rule", [
    "role:50%",                # bad format: oslo raises ValueError
    "user_id:%(n)d%",          # bad format
    "1a:b",                    # left side is not Python: oslo raises SyntaxError
    "user_id.x:u1",            # indexing into a string: oslo raises TypeError
])
def test_evaluation_errors_deny_and_do_not_log_creds(
        rule: str, caplog: pytest.LogCaptureFixture) -> None:
    creds = {**CREDS, "secret": "s3cr3t-value"}
    with caplog.at_level(logging.DEBUG):
        assert decide(rule, creds=creds) is False
        assert decide(f"not {rule}", creds=creds) is False  # the whole decision denies
    assert "s3cr3t-value" not in caplog.text
    assert "denying" in caplog.text


def test_parse_is_cached() -> None:
    assert parse_rule("role:cached and @") is parse_rule("role:cached and @")
