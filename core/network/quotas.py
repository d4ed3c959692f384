"""The Network API's quotas: Neutron's names over the shared quota service
(``floatingip`` is the same count EC2's Elastic IPs and Nova's floating IPs use)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select

from core import errors
from core.context import RequestContext
from core.policy import PolicyEnforcer
from core.quota.models import QuotaLimit
from core.quota.service import MAX_LIMIT, QuotaService

# Neutron's name -> the quota service's
NAMES = {"network": "networks", "subnet": "subnets", "port": "ports", "router": "routers",
         "floatingip": "floating_ips", "security_group": "security_groups",
         "security_group_rule": "security_group_rules"}
FIXED = {"subnetpool": -1, "rbac_policy": 10}  # not counted here


class NetworkQuotas:
    def __init__(self, quotas: QuotaService, policy: PolicyEnforcer) -> None:
        self.quotas = quotas
        self.policy = policy

    def _enforce(self, ctx: RequestContext, rule: str, project_id: str) -> None:
        self.policy.enforce(f"network:{rule}", {"project_id": project_id}, ctx)

    @staticmethod
    def _neutron(limits: Mapping[str, int]) -> dict[str, int]:
        return {**{n: limits[r] for n, r in NAMES.items()}, **FIXED}

    def get(self, ctx: RequestContext, project_id: str) -> dict[str, int]:
        self._enforce(ctx, "get_quota", project_id)
        return self._neutron(self.quotas.limits_for(project_id))

    def defaults(self, ctx: RequestContext, project_id: str) -> dict[str, int]:
        self._enforce(ctx, "get_quota", project_id)
        return self._neutron(self.quotas.defaults())

    def details(self, ctx: RequestContext, project_id: str) -> dict[str, dict[str, int]]:
        self._enforce(ctx, "get_quota", project_id)
        limits = self.quotas.limits_for(project_id)
        used = self.quotas.usage(project_id)
        out = {n: {"limit": limits[r], "used": used.get(r, 0), "reserved": 0}
               for n, r in NAMES.items()}
        out.update({n: {"limit": v, "used": 0, "reserved": 0} for n, v in FIXED.items()})
        return out

    def list(self, ctx: RequestContext) -> list[dict[str, Any]]:
        """Projects with quotas of their own (not the defaults), as Neutron lists them."""
        self._enforce(ctx, "get_quotas", ctx.project_id or "")
        with self.quotas.db.session() as s:
            projects = sorted(set(s.scalars(select(QuotaLimit.project_id).where(
                QuotaLimit.user_id == "", QuotaLimit.resource.in_(list(NAMES.values()))))))
        return [{**self._neutron(self.quotas.limits_for(p)), "project_id": p, "tenant_id": p}
                for p in projects]

    def update(self, ctx: RequestContext, project_id: str, values: Any) -> dict[str, int]:
        self._enforce(ctx, "update_quota", project_id)
        if not isinstance(values, Mapping) or not values:
            raise errors.InvalidInput("Invalid input: a quota object of limits is required.",
                                      param="quota")
        changes = {}
        for name, value in values.items():
            if name in ("project_id", "tenant_id"):
                continue
            if name not in NAMES:
                raise errors.InvalidInput(f"Unrecognized attribute(s) '{name}'", param=name)
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise errors.InvalidInput(f"Invalid input for {name}. Reason: '{value}' is "
                                          "not an integer.", param=name) from None
            if isinstance(value, bool) or number < -1 or number > MAX_LIMIT:
                raise errors.InvalidInput(f"Invalid input for {name}. Reason: '{value}' is "
                                          "too small - must be at least '-1'.", param=name)
            changes[NAMES[name]] = number
        self.quotas.set_limits(project_id, changes)
        return self._neutron(self.quotas.limits_for(project_id))

    def reset(self, ctx: RequestContext, project_id: str) -> None:
        self._enforce(ctx, "delete_quota", project_id)
        with self.quotas.db.session() as s:
            s.execute(delete(QuotaLimit).where(QuotaLimit.project_id == project_id,
                                               QuotaLimit.resource.in_(list(NAMES.values()))))
