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
from core.quota.service import COUNTED, MAX_LIMIT, RESOURCES, QuotaService


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

    def update(self, ctx: RequestContext, project_id: str, values: Mapping[str, Any],
               user_id: str | None = None, force: bool = False) -> dict[str, int]:
        """Set limits; unless ``force``, a counted one may not go below its usage."""
        self.policy.enforce("os_compute_api:os-quota-sets:update",
                            {"project_id": project_id}, ctx)
        limits: dict[str, int] = {}
        for resource, value in values.items():
            if resource not in RESOURCES:
                raise errors.InvalidInput(f"Bad key(s) {resource} in quota_set")
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
