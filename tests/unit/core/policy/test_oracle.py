"""Differential test: our rule engine against oslo.policy 6.0.1 as the oracle.

Random rule strings (grammar-built, then sometimes mangled), legacy lists, rule
sets referring to each other, and odd credentials and targets. For each rule
the two parse trees must have the same shape, and for each case oslo's tree is
called with a fake enforcer holding the same rules. Agreement means: the same
bool, or - where oslo raises out of the evaluation - a denial from us
(``evaluate`` turns errors into "no").
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oslo_policy import _checks as oslo_checks
from oslo_policy import _parser as oslo_parser

from core.policy import checks
from core.policy.checks import evaluate, parse_rule

RULE_NAMES = ("r0", "r1", "r2", "r3")
ATOMS = (
    "@", "!", "role:admin", "role:ADMIN", "role:member", "role:Reader", "role:%(role)s",
    "role:%(missing)s", "role:", "role:50%", "rule:", "rule:nope",
    "user_id:%(user_id)s", "user_id:%(target.user.id)s", "user_id:u1", "project_id:%(project_id)s",
    "project_id:%(target.project.id)s", "token.project.id:%(target.project.id)s",
    "token.project.domain.id:d1", "token.domain.id:None", "groups.id:g1", "groups.id:%(group)s",
    "tags:b", "tags:['a']", "roles:admin", "roles:%(role)s", "is_admin:True", "is_admin:1",
    "is_admin:%(flag)s", "True:%(flag)s", "1:%(n)s", "'member':%(role)s", "None:%(none)s",
    "None:%(missing)s", "domain_id:None", "system_scope:all", "system_scope:%(scope)s",
    "user_id.x:u1", "1a:b", ":x", "x:", "@@", "foo", "'quoted'", '"dq"', "ROLE:admin",
    "Rule:r0", "a:b:c", "{}:{}", "[1]:[1]", "b'x':b'x'", "user_id:%(n)d", "user_id:%s",
    "project_id:%(pct)s", "http://example.com/%(user_id)s", "https:x", "-1:-1", "0x10:16",
)
OPERATORS = ("and", "or", "AND", "Or", "not", "NOT", "(", ")")
SPACES = (" ", " ", " ", "  ", "\t", "\n")

CREDS_CHOICES: dict[str, tuple[Any, ...]] = {
    "user_id": ("u1", "u2", None, 1),
    "project_id": ("p1", "p2", None),
    "domain_id": (None, "d1"),
    "roles": (["admin"], ["Member", "reader"], [], ["ADMIN", "member"], "admin", [1], None),
    "is_admin": (True, False, 1, "1", "True"),
    "system_scope": ("all", None, ""),
    "token": ({"project": {"id": "p1", "domain": {"id": "d1"}}, "domain": {"id": None}},
              {"project": [{"id": "p1"}, {"id": "p2"}]}, "opaque"),
    "groups": ([{"id": "g1"}, {"id": "g2"}], ["g1"], [], [[{"id": "g1"}]]),
    "tags": (["a", "b"], [["a"], "c"], ("b",)),
}
TARGET_CHOICES: dict[str, tuple[Any, ...]] = {
    "user_id": ("u1", "u2", None),
    "project_id": ("p1", "p3"),
    "target.project.id": ("p1", "p2"),
    "target.user.id": ("u1", 1),
    "role": ("admin", "MEMBER", "reader"),
    "flag": (True, "True", False),
    "n": (1, "1", 16, "x"),
    "none": (None, "None"),
    "group": ("g1", "g2"),
    "scope": ("all", "none"),
    "pct": ("50%", "p1"),
    "target": ({"project": {"id": "p1"}},),
}


class FakeEnforcer:
    """All an oslo check needs from an enforcer: ``rules``."""

    def __init__(self, rules: dict[str, Any]) -> None:
        self.rules = rules


class AlwaysFalseRemote(oslo_checks.Check):
    """Stand-in for oslo's http/https checks: we never make the remote call."""

    def __call__(self, target: Any, creds: Any, enforcer: Any, current_rule: Any = None) -> bool:
        return False


@pytest.fixture(autouse=True)
def _quiet_and_offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(oslo_checks, "extension_checks",
                        {"http": AlwaysFalseRemote, "https": AlwaysFalseRemote})
    for name in ("oslo_policy", "core.policy"):
        logging.getLogger(name).disabled = True
    yield
    for name in ("oslo_policy", "core.policy"):
        logging.getLogger(name).disabled = False


def random_mapping(rng: random.Random, choices: dict[str, tuple[Any, ...]]) -> dict[str, Any]:
    return {key: rng.choice(values) for key, values in choices.items() if rng.random() < 0.8}


def expression(rng: random.Random, depth: int, atoms: tuple[str, ...]) -> list[str]:
    """Tokens of a well-formed expression (``or`` of ``and`` of factors)."""
    tokens: list[str] = []
    for i in range(rng.choice((1, 1, 2, 3))):
        if i:
            tokens.append(rng.choice(("or", "OR", "Or")))
        for j in range(rng.choice((1, 1, 2, 3))):
            if j:
                tokens.append(rng.choice(("and", "AND", "And")))
            tokens.extend(["not"] * rng.choice((0, 0, 0, 1, 2)))
            if depth > 0 and rng.random() < 0.3:
                tokens += ["(", *expression(rng, depth - 1, atoms), ")"]
            else:
                tokens.append(rng.choice(atoms))
    return tokens


def mangle(rng: random.Random, tokens: list[str]) -> list[str]:
    """Sometimes break the expression: drop, duplicate, insert or swap tokens."""
    tokens = list(tokens)
    for _ in range(rng.choice((0, 0, 0, 0, 1, 2))):
        i = rng.randrange(len(tokens) + 1)
        action = rng.choice(("drop", "dup", "insert", "swap"))
        if action == "insert" or not tokens:
            tokens.insert(i, rng.choice(OPERATORS + ATOMS))
        elif action == "drop" and i < len(tokens):
            del tokens[i]
        elif action == "dup" and i < len(tokens):
            tokens.insert(i, tokens[i])
        elif i + 1 < len(tokens):
            tokens[i], tokens[i + 1] = tokens[i + 1], tokens[i]
    return tokens


def join(rng: random.Random, tokens: list[str]) -> str:
    """Join with random whitespace; parentheses often stick to their neighbour."""
    out = ""
    for token in tokens:
        glue = (token == ")" or out.endswith("(")) and rng.random() < 0.6
        out += ("" if glue or not out else rng.choice(SPACES)) + token
    return rng.choice(("", "", " ")) + out + rng.choice(("", "", "\n"))


def random_rule(rng: random.Random, atoms: tuple[str, ...]) -> Any:
    if rng.random() < 0.08:  # legacy list of lists
        return [rng.choice((rng.choice(atoms), [rng.choice(atoms) for _ in range(rng.randrange(3))]))
                for _ in range(rng.randrange(3))]
    if rng.random() < 0.02:
        return rng.choice(("", "   "))
    return join(rng, mangle(rng, expression(rng, 2, atoms)))


def random_rule_set(rng: random.Random) -> dict[str, Any]:
    """Rules r0..r3; r_i refers only to r_j with j > i, except for rare cycles."""
    rules = {}
    for i, name in enumerate(RULE_NAMES):
        allowed = RULE_NAMES if rng.random() < 0.03 else RULE_NAMES[i + 1:]
        rules[name] = random_rule(rng, ATOMS + tuple(f"rule:{n}" for n in allowed))
    return rules


def oslo_decision(check: Any, rules: dict[str, Any], target: dict[str, Any],
                  creds: dict[str, Any]) -> bool | str:
    """oslo's answer for a parsed oslo ``check``, or how it raised."""
    try:
        return bool(check(target, creds, FakeEnforcer(rules)))
    except Exception as exc:  # noqa: BLE001 - the oracle raising is an outcome we compare
        return f"raises {type(exc).__name__}"


def same_tree(oslo: Any) -> checks.BaseCheck:
    """The tree our parser should build for an oslo parse tree."""
    if isinstance(oslo, oslo_checks.NotCheck):
        return checks.NotCheck(same_tree(oslo.rule))
    if isinstance(oslo, oslo_checks.AndCheck | oslo_checks.OrCheck):
        ours = checks.AndCheck if isinstance(oslo, oslo_checks.AndCheck) else checks.OrCheck
        return ours(tuple(same_tree(rule) for rule in oslo.rules))
    if isinstance(oslo, oslo_checks.RuleCheck):
        return checks.RuleCheck(oslo.match)
    if isinstance(oslo, oslo_checks.RoleCheck):
        return checks.RoleCheck(oslo.match)
    if isinstance(oslo, oslo_checks.GenericCheck):
        return checks.GenericCheck.build(oslo.kind, oslo.match)
    if isinstance(oslo, oslo_checks.TrueCheck):
        return checks.TrueCheck()
    assert isinstance(oslo, oslo_checks.FalseCheck | AlwaysFalseRemote), oslo
    return checks.FalseCheck()


def agrees(oslo: bool | str, ours: bool) -> bool:
    return ours is False if isinstance(oslo, str) else ours is oslo


def test_random_rules_agree_with_oslo_policy() -> None:
    rng = random.Random(20240611)
    outcomes = {"allow": 0, "deny": 0, "oslo raises": 0}
    failures = []
    started = time.perf_counter()
    for _ in range(500):
        rule_set = random_rule_set(rng)
        oslo_rules = {name: oslo_parser.parse_rule(text) for name, text in rule_set.items()}
        our_rules = {name: parse_rule(text) for name, text in rule_set.items()}
        for _ in range(5):
            rule = random_rule(rng, ATOMS + tuple(f"rule:{n}" for n in RULE_NAMES))
            oslo_check, our_check = oslo_parser.parse_rule(rule), parse_rule(rule)
            if our_check != same_tree(oslo_check):
                failures.append((rule, "parse trees differ", our_check, str(oslo_check)))
            for _ in range(4):
                creds = random_mapping(rng, CREDS_CHOICES)
                target = random_mapping(rng, TARGET_CHOICES)
                oslo = oslo_decision(oslo_check, oslo_rules, target, creds)
                ours = evaluate(our_check, target, creds, our_rules)
                outcome = "oslo raises" if isinstance(oslo, str) else "allow" if oslo else "deny"
                outcomes[outcome] += 1
                if not agrees(oslo, ours):
                    failures.append((rule, rule_set, target, creds, oslo, ours))
    cases = sum(outcomes.values())
    print(f"oracle: {cases} cases in {time.perf_counter() - started:.2f}s, {outcomes}")
    assert not failures, f"{len(failures)} disagreements, first: {failures[:3]}"
    # The generator must exercise every kind of outcome, not just denials.
    assert min(outcomes.values()) > cases // 50


SOUP_RULES = {"r0": "role:admin or rule:r1", "r1": "user_id:%(user_id)s", "r2": "rule:r2"}
SOUP_OSLO_RULES = {name: oslo_parser.parse_rule(text) for name, text in SOUP_RULES.items()}
SOUP_OUR_RULES = {name: parse_rule(text) for name, text in SOUP_RULES.items()}
TOKEN_SOUP = st.lists(st.sampled_from(OPERATORS + ATOMS + ("rule:r0", "rule:r1")), max_size=12)


@settings(max_examples=300, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tokens=TOKEN_SOUP, glue=st.booleans(), seed=st.integers(0, 2**16))
def test_token_soup_agrees_with_oslo_policy(tokens: list[str], glue: bool, seed: int) -> None:
    """Arbitrary token sequences (mostly malformed): shrinks to a minimal case."""
    rng = random.Random(seed)
    rule = "".join(tokens) if glue else " ".join(tokens)
    oslo_check, our_check = oslo_parser.parse_rule(rule), parse_rule(rule)
    assert our_check == same_tree(oslo_check), (rule, our_check, str(oslo_check))
    for _ in range(4):
        creds, target = random_mapping(rng, CREDS_CHOICES), random_mapping(rng, TARGET_CHOICES)
        oslo = oslo_decision(oslo_check, SOUP_OSLO_RULES, target, creds)
        ours = evaluate(our_check, target, creds, SOUP_OUR_RULES)
        assert agrees(oslo, ours), (rule, target, creds, oslo, ours)
