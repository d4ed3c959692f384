"""The compute API's quota operations (``os-quota-sets`` and ``limits``) with
Nova's policies, over the quota service (:mod:`core.quota.service`); a user's
key pairs are counted here, from their own table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from core import errors
from core.compute.models import KeyPair
from core.context import RequestContext
from core.numbers import INT64_MIN, BadInteger, as_int
from core.policy import PolicyEnforcer
from core.quota.service import (
    COUNTED,
    FIXED_DEFAULTS,
    MAX_CLASS_NAME,
    MAX_LIMIT,
    NETWORK,
    RESOURCES,
    QuotaService,
)

# What Nova's quota classes hold: the compute resources (server_groups and
# server_group_members shown from 2.50; network ones until 2.50, injected files
# until 2.57: the API filters by version).
CLASS_RESOURCES = ("instances", "cores", "ram", "key_pairs", "metadata_items",
                   "server_groups", "server_group_members", *FIXED_DEFAULTS, *NETWORK)


class QuotaSetService:
    """The ``os-quota-sets`` and ``limits`` operations, with Nova's policies."""

    def __init__(self, quotas: QuotaService, policy: PolicyEnforcer) -> None:
        self.quotas = quotas
        self.policy = policy

    def usage(self, project_id: str, user_id: str | None = None) -> dict[str, int]:
        """In-use counts of every resource, with the key pairs of ``user_id`` if given."""
        out = self.quotas.usage(project_id)
        if user_id:
            with self.quotas.db.session() as s:
                out["key_pairs"] = s.scalar(select(func.count()).select_from(KeyPair)
                                            .where(KeyPair.user_id == user_id)) or 0
        return out

    def show(self, ctx: RequestContext, project_id: str,
             user_id: str | None = None) -> dict[str, int]:
        self.policy.enforce("os_compute_api:os-quota-sets:show",
                            {"project_id": project_id}, ctx)
        return self.quotas.limits_for(project_id, user_id)

    def detail(self, ctx: RequestContext, project_id: str,
               user_id: str | None = None) -> dict[str, dict[str, int]]:
        self.policy.enforce("os_compute_api:os-quota-sets:detail",
                            {"project_id": project_id}, ctx)
        limits = self.quotas.limits_for(project_id, user_id)
        used = self.usage(project_id, user_id or ctx.user_id)
        return {r: {"in_use": used.get(r, 0), "limit": limits[r], "reserved": 0}
                for r in limits}

    def defaults(self, ctx: RequestContext, project_id: str) -> dict[str, int]:
        self.policy.enforce("os_compute_api:os-quota-sets:defaults",
                            {"project_id": project_id}, ctx)
        return self.quotas.defaults()

    # ---- quota classes (os-quota-class-sets) ----------------------------
    def show_class(self, ctx: RequestContext, name: str) -> dict[str, int]:
        """A quota class's compute limits (a class never set shows the defaults)."""
        self.policy.enforce("os_compute_api:os-quota-class-sets:show",
                            {"quota_class": name}, ctx)
        with self.quotas.db.session() as s:
            limits = self.quotas.class_limits_in(s, _class_name(name))
        return {k: limits[k] for k in CLASS_RESOURCES}

    def update_class(self, ctx: RequestContext, name: str,
                     values: Mapping[str, Any]) -> dict[str, int]:
        """Set a quota class's limits; those of ``default`` are every project's
        defaults from then on."""
        self.policy.enforce("os_compute_api:os-quota-class-sets:update",
                            {"quota_class": name}, ctx)
        limits = _limits(values, CLASS_RESOURCES, "quota_class_set")
        result = self.quotas.set_class_limits(_class_name(name), limits)
        return {k: result[k] for k in CLASS_RESOURCES}

    def update(self, ctx: RequestContext, project_id: str, values: Mapping[str, Any],
               user_id: str | None = None, force: bool = False) -> dict[str, int]:
        """Set limits; unless ``force``, a counted one may not go below its usage."""
        self.policy.enforce("os_compute_api:os-quota-sets:update",
                            {"project_id": project_id}, ctx)
        limits = _limits(values, RESOURCES, "quota_set")
        if not force:
            used = self.quotas.usage(project_id)
            for resource, limit in limits.items():
                minimum = used.get(resource, 0) if resource in COUNTED else 0
                if limit != -1 and limit < minimum:
                    raise errors.InvalidInput(
                        f"Quota limit {limit} for {resource} must be greater than or equal "
                        f"to already used and reserved {minimum}.")
        self.quotas.set_limits(project_id, limits, user_id)
        return self.quotas.limits_for(project_id, user_id)

    def delete(self, ctx: RequestContext, project_id: str, user_id: str | None = None) -> None:
        self.policy.enforce("os_compute_api:os-quota-sets:delete",
                            {"project_id": project_id}, ctx)
        self.quotas.clear_limits(project_id, user_id)

    def limits(self, ctx: RequestContext, project_id: str | None = None
               ) -> tuple[dict[str, int], dict[str, int]]:
        """(limits, usage) for the caller's project, or another one (admins)."""
        self.policy.enforce("os_compute_api:limits", {"project_id": ctx.project_id}, ctx)
        target = project_id or ctx.project_id
        if target != ctx.project_id:
            self.policy.enforce("os_compute_api:limits:other_project",
                                {"project_id": target}, ctx)
        if target is None:
            raise errors.InvalidInput("A project-scoped token is required.")
        return self.quotas.limits_for(target), self.usage(target, ctx.user_id)


def _class_name(name: str) -> str:
    if not 1 <= len(name) <= MAX_CLASS_NAME:
        raise errors.InvalidInput(f"Quota class name must be 1 to {MAX_CLASS_NAME} "
                                  "characters long.")
    return name


def _limits(values: Mapping[str, Any], known: tuple[str, ...], body: str) -> dict[str, int]:
    """Limits as Nova's schema reads them: integers (or their digits), -1 to MAX_LIMIT."""
    limits: dict[str, int] = {}
    for resource, value in values.items():
        if resource not in known:
            raise errors.InvalidInput(f"Bad key(s) {resource} in {body}")
        try:  # an int, or a string of ASCII digits, as Nova's schema allows
            limit = as_int(value, INT64_MIN)
        except BadInteger:
            raise errors.InvalidInput(f"Invalid input for field/attribute {resource}. "
                                      f"Value: {value}. {value!r} is not an integer",
                                      param=resource) from None
        if limit < -1:
            raise errors.InvalidInput(f"Quota limit {limit} for {resource} must be -1 "
                                      "or greater.")
        if limit > MAX_LIMIT:
            raise errors.InvalidInput(f"Quota limit {limit} for {resource} must be less "
                                      f"than or equal to {MAX_LIMIT}.")
        limits[resource] = limit
    return limits
