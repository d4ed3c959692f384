"""The oslo.policy rule language: a parser and the checks it builds.

Follows oslo.policy 6.0.1 (``_parser.parse_rule``, ``_checks``) construct for
construct, oddities included; ``tests/unit/core/policy/test_oracle.py`` compares
the two on thousands of generated rules. The right side of ``left:right`` is
``right % target``, so ``%(target.project.id)s`` needs a *flat* dotted key, as
in oslo (the Enforcer flattens nested targets, as Keystone does).

Deliberate differences: ``http:``/``https:`` checks never pass (oslo POSTs the
target and the caller's credentials to that URL on every decision; Nimbus has
no remote policy service and sends no token data to third parties). Where oslo
raises out of an evaluation (bad ``%`` format, a left side that is not Python,
indexing into a string, a rule reaching itself), :func:`evaluate` denies.
"""

from __future__ import annotations

import ast
import functools
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

LOG = logging.getLogger(__name__)

ListRule = Sequence["str | Sequence[str]"]


class PolicyCycleError(RuntimeError):
    """A rule was re-entered while being evaluated (oslo: RecursionError)."""


@dataclass
class Evaluation:
    """The inputs of one decision, shared by every check in the tree."""

    target: Mapping[str, Any]
    creds: Mapping[str, Any]
    rules: Mapping[str, BaseCheck]
    active: set[str] = field(default_factory=set)


class BaseCheck:
    """A node of a parsed rule; immutable and safe to share between threads."""

    __slots__ = ()

    def check(self, ev: Evaluation) -> bool:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class TrueCheck(BaseCheck):
    def check(self, ev: Evaluation) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class FalseCheck(BaseCheck):
    def check(self, ev: Evaluation) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class RuleCheck(BaseCheck):
    """``rule:NAME``: evaluates another rule; an unknown name fails."""

    name: str

    def check(self, ev: Evaluation) -> bool:
        if self.name in ev.active:
            raise PolicyCycleError(f"rule {self.name!r} reaches itself")
        ev.active.add(self.name)
        try:  # oslo turns a KeyError anywhere below into False: mirror it
            return ev.rules[self.name].check(ev)
        except KeyError:
            return False
        finally:
            ev.active.discard(self.name)


@dataclass(frozen=True, slots=True)
class RoleCheck(BaseCheck):
    """``role:NAME``: case-insensitive membership in ``creds["roles"]``."""

    match: str

    def check(self, ev: Evaluation) -> bool:
        try:
            match = self.match % ev.target
        except KeyError:
            return False
        if "roles" in ev.creds:
            return match.lower() in [x.lower() for x in ev.creds["roles"]]
        return False


@dataclass(frozen=True, slots=True)
class GenericCheck(BaseCheck):
    """``left:right``: ``str(literal) == right``, or a path into creds (``path``)."""

    kind: str
    match: str
    literal: str | None = None
    literal_error: str | None = None  # left is not even Python: oslo raises
    path: tuple[str, ...] = ()

    @classmethod
    def build(cls, kind: str, match: str) -> GenericCheck:
        try:
            value = ast.literal_eval(kind)
        except ValueError:
            return cls(kind, match, path=tuple(kind.split(".")))
        except Exception as exc:  # noqa: BLE001 - SyntaxError, TypeError, MemoryError
            return cls(kind, match, literal_error=type(exc).__name__)
        return cls(kind, match, literal=str(value))

    def check(self, ev: Evaluation) -> bool:
        try:
            match = self.match % ev.target
        except KeyError:
            return False
        if self.literal_error is not None:
            raise ValueError(f"left side {self.kind!r}: {self.literal_error}")
        if self.literal is not None:
            return match == self.literal
        return _find_in_dict(ev.creds, self.path, match)


def _find_in_dict(value: Any, path: tuple[str, ...], match: str) -> bool:
    """Walk ``path`` into ``value``; a list along the way matches any element."""
    if not path:
        return match == str(value)
    key, rest = path[0], path[1:]
    try:
        value = value[key]
    except KeyError:
        return False
    if isinstance(value, list):
        return any(_find_in_dict(item, rest, match) for item in value)
    return _find_in_dict(value, rest, match)


@dataclass(frozen=True, slots=True)
class NotCheck(BaseCheck):
    rule: BaseCheck

    def check(self, ev: Evaluation) -> bool:
        return not self.rule.check(ev)


@dataclass(frozen=True, slots=True)
class AndCheck(BaseCheck):
    rules: tuple[BaseCheck, ...]

    def check(self, ev: Evaluation) -> bool:
        return all(rule.check(ev) for rule in self.rules)


@dataclass(frozen=True, slots=True)
class OrCheck(BaseCheck):
    rules: tuple[BaseCheck, ...]

    def check(self, ev: Evaluation) -> bool:
        return any(rule.check(ev) for rule in self.rules)


def evaluate(check: BaseCheck, target: Mapping[str, Any], creds: Mapping[str, Any],
             rules: Mapping[str, BaseCheck]) -> bool:
    """Decide ``check`` (``rules`` resolve ``rule:NAME``); errors deny, never raise."""
    try:
        return bool(check.check(Evaluation(target, creds, rules)))
    except Exception as exc:  # noqa: BLE001 - a broken rule must deny, not crash
        detail = str(exc) if isinstance(exc, PolicyCycleError) else type(exc).__name__
        LOG.error("Policy check failed with an error, denying: %s", detail)
        return False


def parse_check(atom: str) -> BaseCheck:
    """Parse one atom (no operators), as oslo's ``_parse_check`` does."""
    if atom == "!":
        return FalseCheck()
    if atom == "@":
        return TrueCheck()
    if not isinstance(atom, str) or ":" not in atom:
        LOG.warning("Failed to understand policy atom %r; it never passes", atom)
        return FalseCheck()
    kind, match = atom.split(":", 1)
    if kind in ("http", "https"):
        LOG.warning("Remote policy check %r is not supported; it never passes", atom)
        return FalseCheck()
    if kind == "rule":
        return RuleCheck(match)
    if kind == "role":
        return RoleCheck(match)
    return GenericCheck.build(kind, match)


# Token kinds of the shift-reduce parser (a port of oslo's ParseState).
_CHECK, _AND_EXPR, _OR_EXPR, _AND, _OR, _NOT, _LPAREN, _RPAREN, _STRING = range(9)
_CHECKISH = (_CHECK, _AND_EXPR, _OR_EXPR)
_OPERATORS = {"and": _AND, "or": _OR, "not": _NOT}
_SPLIT = re.compile(r"\s+")


def _tokenize(rule: str) -> list[tuple[int, Any]]:
    tokens: list[tuple[int, Any]] = []
    for tok in _SPLIT.split(rule):
        if not tok or tok.isspace():
            continue
        clean = tok.lstrip("(")
        tokens.extend((_LPAREN, "(") for _ in range(len(tok) - len(clean)))
        if not clean:
            continue
        tok = clean
        clean = tok.rstrip(")")
        trail = len(tok) - len(clean)
        operator = _OPERATORS.get(clean.lower())
        if operator is not None:
            tokens.append((operator, clean))
        elif clean:
            # A quoted token is a "string": it never reduces, so the rule fails.
            if len(tok) >= 2 and tok[0] == tok[-1] and tok[0] in "\"'":
                tokens.append((_STRING, tok[1:-1]))
            else:
                tokens.append((_CHECK, parse_check(clean)))
        tokens.extend((_RPAREN, ")") for _ in range(trail))
    return tokens


def _reduce(stack: list[tuple[int, Any]]) -> None:
    """Greedy reductions on the top of the stack, in oslo's order."""
    while True:
        if len(stack) >= 3:
            (ka, a), (kb, b), (kc, c) = stack[-3:]
            new: tuple[int, Any] | None = None
            if ka == _LPAREN and kb in _CHECKISH and kc == _RPAREN:
                new = (_CHECK, b)
            elif ka == _CHECK and kb == _AND and kc == _CHECK:
                new = (_AND_EXPR, AndCheck((a, c)))
            elif ka == _AND_EXPR and kb == _AND and kc == _CHECK:
                new = (_AND_EXPR, AndCheck(a.rules + (c,)))
            elif ka == _OR_EXPR and kb == _AND and kc == _CHECK:
                # "x or y and z": "and" binds tighter, so it takes y from the "or".
                last = a.rules[-1]
                extended = last.rules if isinstance(last, AndCheck) else (last,)
                new = (_OR_EXPR, OrCheck(a.rules[:-1] + (AndCheck(extended + (c,)),)))
            elif ka in (_CHECK, _AND_EXPR) and kb == _OR and kc == _CHECK:
                new = (_OR_EXPR, OrCheck((a, c)))
            elif ka == _OR_EXPR and kb == _OR and kc == _CHECK:
                new = (_OR_EXPR, OrCheck(a.rules + (c,)))
            if new is not None:
                stack[-3:] = [new]
                continue
        if len(stack) >= 2 and stack[-2][0] == _NOT and stack[-1][0] == _CHECK:
            stack[-2:] = [(_CHECK, NotCheck(stack[-1][1]))]
            continue
        return


@functools.lru_cache(maxsize=2048)
def _parse_text_rule(rule: str) -> BaseCheck:
    if not rule:
        return TrueCheck()
    stack: list[tuple[int, Any]] = []
    for token in _tokenize(rule):
        stack.append(token)
        _reduce(stack)
    if len(stack) == 1 and isinstance(stack[0][1], BaseCheck):  # a check, not a stray token
        return stack[0][1]
    LOG.warning("Failed to understand policy rule %r; it never passes", rule)
    return FalseCheck()


def parse_rule(rule: str | ListRule) -> BaseCheck:
    """Parse a rule string (cached) or a legacy list of lists into a check.

    Never raises: a rule that cannot be parsed never passes, as in oslo.
    ``[["a", "b"], ["c"]]`` means ``(a and b) or c``; ``[]`` passes.
    """
    if isinstance(rule, str):
        return _parse_text_rule(rule)
    if not rule:
        return TrueCheck()
    or_list: list[BaseCheck] = []
    for inner in rule:
        if not inner:
            continue
        atoms = [inner] if isinstance(inner, str) else inner
        and_list = [parse_check(atom) for atom in atoms]
        or_list.append(and_list[0] if len(and_list) == 1 else AndCheck(tuple(and_list)))
    if not or_list:
        return FalseCheck()
    return or_list[0] if len(or_list) == 1 else OrCheck(tuple(or_list))
