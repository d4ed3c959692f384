"""``os-server-groups``: one policy per group (``policies`` list below 2.64),
soft policies from 2.15, project and user ids shown from 2.13; from 2.64 the
body has ``policy`` (a string) and ``rules`` (``max_server_per_host`` for an
anti-affinity group, which the scheduler's anti-affinity filter honours), and
``policies`` and ``metadata`` are gone."""

from __future__ import annotations

from typing import Any

from connexion import request

from core import errors
from gateway.openstack.compute import microversions, views
from gateway.openstack.compute.base import NO_CONTENT, Handler, query_int

HARD_POLICIES = ("anti-affinity", "affinity")
POLICY_AND_RULES = (2, 64)


def _only(spec: dict[str, Any], allowed: tuple[str, ...], required: str) -> None:
    """The version's schema: ``required`` present, nothing beyond ``allowed``."""
    for key in spec:
        if key not in allowed:
            raise errors.InvalidInput("Invalid input for field/attribute server_group. "
                                      "Additional properties are not allowed "
                                      f"('{key}' was unexpected)")
    if required not in spec:
        raise errors.InvalidInput("Invalid input for field/attribute server_group. "
                                  f"'{required}' is a required property")


def _rules(rules: dict[str, Any], policy: str) -> dict[str, Any]:
    """Nova's 2.64 rules: only ``max_server_per_host`` (a positive integer), and
    only for the anti-affinity policy."""
    for key in rules:
        if key != "max_server_per_host":
            raise errors.InvalidInput("Invalid input for field/attribute rules. Additional "
                                      f"properties are not allowed ('{key}' was unexpected)")
    if rules and policy != "anti-affinity":
        raise errors.InvalidInput("Only anti-affinity policy supports rules.")
    if not rules:
        return {}
    raw = rules["max_server_per_host"]
    text = str(raw)
    if isinstance(raw, bool) or not text.isascii() or not text.isdigit() or int(text) < 1:
        raise errors.InvalidInput("Invalid input for field/attribute max_server_per_host. "
                                  f"Value: {raw}. {raw!r} is not a positive integer")
    return {"max_server_per_host": int(text)}


class ServerGroups(Handler):
    def list(self, **_: Any):
        ctx = self.context()
        raw = request.query_params.get("all_projects")
        all_projects = raw is not None and raw.strip().lower() not in ("0", "false", "no")
        groups = self.deps.server_groups.list_groups(ctx, all_projects, query_int("limit"),
                                              query_int("offset") or 0)
        mv = microversions.current()
        return {"server_groups": [views.server_group(g, mv) for g in groups]}

    def show(self, server_group_id: str):
        group = self.deps.server_groups.get(self.context(), server_group_id)
        return {"server_group": views.server_group(group, microversions.current())}

    def create(self, body: dict[str, Any]):
        mv = microversions.current()
        spec = body["server_group"]
        rules: dict[str, Any] = {}
        if mv >= POLICY_AND_RULES:
            _only(spec, ("name", "policy", "rules"), "policy")
            policy = spec["policy"]
            rules = _rules(spec.get("rules") or {}, policy)
        else:
            _only(spec, ("name", "policies"), "policies")
            policy = spec["policies"][0]
            if mv < (2, 15) and policy not in HARD_POLICIES:
                raise errors.InvalidInput(
                    f"Invalid input for field/attribute 0. Value: {policy}. '{policy}' is "
                    f"not one of {list(HARD_POLICIES)}")
        group = self.deps.server_groups.create(self.context(), spec["name"], policy, rules)
        return {"server_group": views.server_group(group, mv)}

    def delete(self, server_group_id: str):
        self.deps.server_groups.delete(self.context(), server_group_id)
        return NO_CONTENT
