"""``Filter.N.Name`` / ``Filter.N.Value.M``: EC2's describe filters.

An item passes when it passes every filter; it passes a filter when one of
its values for the filter's name matches one of the filter's values. Values
may use ``*`` (any run of characters) and ``?`` (one character), ``\\`` escapes
either; matching is case-sensitive, as in AWS. Each describe action lists the
names it supports; any other name is an ``InvalidParameterValue``.

Owners are shown by account id; a filter on an owner (``owner-id``,
``…user-id``, ``…owner-id``) also takes a project id (:func:`owners_as_accounts`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from gateway.ec2.errors import Ec2Error

T = TypeVar("T")
Getter = Callable[[T], Any]  # a value, an iterable of values, or None
MAX_VALUES = 200  # per filter, as AWS


def wire_text(value: Any) -> str:
    """A value as EC2 writes it, which is what filter values are compared to."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str | bool | int | float):
        return [wire_text(value)]
    return [wire_text(v) for v in value if v is not None]


def pattern(value: str) -> re.Pattern[str]:
    """The regular expression of an EC2 filter value (``*``, ``?``, ``\\``)."""
    out: list[str] = []
    chars = iter(value)
    for ch in chars:
        if ch == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


def names_owner(name: str | None) -> bool:
    """Whether filter ``name`` compares an owner's account id."""
    return bool(name) and str(name).endswith(("owner-id", "user-id"))


def owners_as_accounts(filters: Sequence[Mapping[str, Any]] | None,
                       accounts: Mapping[str, str]) -> list[Mapping[str, Any]] | None:
    """``filters`` with each value of an owner filter that is a project id
    (a key of ``accounts``) replaced by that project's account id."""
    if not filters:
        return None if filters is None else []
    out: list[Mapping[str, Any]] = []
    for f in filters:
        if names_owner(f.get("Name")) and f.get("Values"):
            f = {**f, "Values": [accounts.get(v, v) for v in f["Values"]]}
        out.append(f)
    return out


class Filters(Generic[T]):
    """The filters one describe action supports.

    ``getters`` maps a filter name to a function reading the item's value(s);
    ``tags``, if given, reads an item's tags and enables ``tag:<key>``,
    ``tag-key`` and ``tag-value``.
    """

    def __init__(self, getters: Mapping[str, Getter[T]],
                 tags: Callable[[T], Mapping[str, str]] | None = None) -> None:
        self.getters = dict(getters)
        self.tags = tags

    def _getter(self, name: str) -> Getter[T]:
        getter = self.getters.get(name)
        if getter is not None:
            return getter
        tags = self.tags
        if tags is not None:
            if name.startswith("tag:") and len(name) > 4:
                key = name[4:]
                return lambda item: tags(item).get(key)
            if name == "tag-key":
                return lambda item: list(tags(item))
            if name == "tag-value":
                return lambda item: list(tags(item).values())
        raise Ec2Error("InvalidParameterValue", f"The filter '{name}' is invalid")

    def matcher(self, filters: Sequence[Mapping[str, Any]] | None) -> Callable[[T], bool]:
        """A predicate for the ``Filters`` parameter (None or [] passes all)."""
        compiled: list[tuple[Getter[T], list[re.Pattern[str]]]] = []
        for f in filters or ():
            name = f.get("Name")
            if not name:
                raise Ec2Error("InvalidParameterValue", "A filter must have a Name.")
            values = f.get("Values") or []
            if not values:
                raise Ec2Error("InvalidParameterValue",
                               f"The filter '{name}' must have at least one value.")
            if len(values) > MAX_VALUES:
                raise Ec2Error("InvalidParameterValue",
                               f"The filter '{name}' takes at most {MAX_VALUES} values.")
            compiled.append((self._getter(name), [pattern(v) for v in values]))

        def matches(item: T) -> bool:
            for getter, patterns in compiled:
                have = _values(getter(item))
                if not any(p.fullmatch(v) for v in have for p in patterns):
                    return False
            return True

        return matches

    def apply(self, items: Iterable[T], filters: Sequence[Mapping[str, Any]] | None) -> list[T]:
        matches = self.matcher(filters)
        return [item for item in items if matches(item)]
