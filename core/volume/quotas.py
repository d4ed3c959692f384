"""The Block Storage API's quotas (``/os-quota-sets``, ``/limits``) with
Cinder's names and policies, over the shared quota service.

``volumes``, ``gigabytes`` and ``snapshots`` are counted (QuotaService
reserves them with the rows they count; snapshots' sizes count in
``gigabytes``, as Cinder counts them). Cinder's other keys are limits only:
``backups``, ``backup_gigabytes``, ``groups`` (nothing makes those here),
``per_volume_gigabytes`` (checked on create and extend) and the per-type
``volumes_<type>``, ``snapshots_<type>``, ``gigabytes_<type>`` (shown, and
stored when set, not enforced).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.context import RequestContext
from core.numbers import INT64_MIN, BadInteger, as_int
from core.policy import PolicyEnforcer
from core.quota.models import QuotaLimit
from core.quota.service import CINDER, MAX_LIMIT, QuotaService
from core.volume.errors import InvalidInput, per_volume_exceeded
from core.volume.models import VolumeType

# Limits of things never counted here, with Cinder's defaults.
FIXED = {"backups": 10, "backup_gigabytes": 1000, "groups": 10, "per_volume_gigabytes": -1}
PER_TYPE = ("volumes", "snapshots", "gigabytes")


class VolumeQuotas:
    def __init__(self, quotas: QuotaService, policy: PolicyEnforcer) -> None:
        self.quotas = quotas
        self.policy = policy
        self.db = quotas.db

    def _enforce(self, ctx: RequestContext, rule: str, project_id: str | None) -> None:
        self.policy.enforce(rule, {"project_id": project_id or ""}, ctx)

    # ---- reading ---------------------------------------------------------------------
    def _type_names(self, s: Session) -> list[str]:
        return list(s.scalars(select(VolumeType.name).order_by(VolumeType.name)))

    def _own(self, s: Session, project_id: str) -> dict[str, int]:
        """The project's stored limits of the keys the quota service does not know."""
        return dict(s.execute(select(QuotaLimit.resource, QuotaLimit.hard_limit).where(
            QuotaLimit.project_id == project_id, QuotaLimit.user_id == "",
            QuotaLimit.resource.not_in(list(CINDER)))).tuples().all())

    def _defaults(self, s: Session) -> dict[str, int]:
        base = self.quotas.defaults()
        out = {r: base[r] for r in CINDER}
        out.update(FIXED)
        for name in self._type_names(s):
            for r in PER_TYPE:
                out[f"{r}_{name}"] = -1
        return out

    def limits_of(self, s: Session, project_id: str) -> dict[str, int]:
        """Every Cinder quota key's limit for ``project_id`` (-1: unlimited)."""
        out = self._defaults(s)
        limits = self.quotas.limits_in(s, project_id)
        out.update({r: limits[r] for r in CINDER})
        out.update({k: v for k, v in self._own(s, project_id).items() if k in out})
        return out

    def show(self, ctx: RequestContext, project_id: str, usage: bool = False
             ) -> dict[str, Any]:
        """``{key: limit}``, or with ``usage`` ``{key: {limit, in_use, reserved}}``."""
        self._enforce(ctx, "volume_extension:quotas:show", project_id)
        with self.db.session() as s:
            limits = self.limits_of(s, project_id)
        if not usage:
            return limits
        used = self.quotas.usage(project_id)
        return {k: {"limit": v, "in_use": used.get(k, 0) if k in CINDER else 0,
                    "reserved": 0} for k, v in limits.items()}

    def defaults(self, ctx: RequestContext, project_id: str) -> dict[str, int]:
        self._enforce(ctx, "volume_extension:quotas:show", project_id)
        with self.db.session() as s:
            return self._defaults(s)

    def limits(self, ctx: RequestContext, project_id: str | None = None) -> dict[str, int]:
        """Cinder's ``/limits`` absolute values for the caller's project (or,
        for admins, ``project_id``'s)."""
        target = project_id or ctx.project_id or ""
        self._enforce(ctx, "limits_extension:used_limits", target)
        with self.db.session() as s:
            limits = self.limits_of(s, target)
        used = self.quotas.usage(target)
        return {"maxTotalVolumes": limits["volumes"],
                "maxTotalSnapshots": limits["snapshots"],
                "maxTotalVolumeGigabytes": limits["gigabytes"],
                "maxTotalBackups": limits["backups"],
                "maxTotalBackupGigabytes": limits["backup_gigabytes"],
                "totalVolumesUsed": used.get("volumes", 0),
                "totalGigabytesUsed": used.get("gigabytes", 0),
                "totalSnapshotsUsed": used.get("snapshots", 0),
                "totalBackupsUsed": 0, "totalBackupGigabytesUsed": 0}

    # ---- writing ---------------------------------------------------------------------
    def update(self, ctx: RequestContext, project_id: str, values: Mapping[str, Any],
               skip_validation: bool = True) -> dict[str, int]:
        """Set limits (Cinder's keys); with ``skip_validation`` false a counted
        limit may not go below what is in use. The new limits."""
        self._enforce(ctx, "volume_extension:quotas:update", project_id)
        if not isinstance(values, Mapping) or not values:
            raise InvalidInput("Missing required element 'quota_set' in request body.",
                               param="quota_set")
        with self.db.session() as s:
            known = self._defaults(s)
        changes: dict[str, int] = {}
        for key, value in values.items():
            if key in ("id", "tenant_id", "project_id"):
                continue
            if key not in known:
                raise InvalidInput(f"Bad key(s) in quota set: {key}", param=key)
            try:
                limit = as_int(value, INT64_MIN)
            except BadInteger:
                raise InvalidInput(f"{key} must be an integer.", param=key) from None
            if limit < -1:
                raise InvalidInput("Quota limit must be -1 or greater.", param=key)
            if limit > MAX_LIMIT:
                raise InvalidInput(f"{key} must be <= {MAX_LIMIT}.", param=key)
            changes[key] = limit
        if not skip_validation:
            used = self.quotas.usage(project_id)
            for key, limit in changes.items():
                minimum = used.get(key, 0) if key in CINDER else 0
                if limit != -1 and limit < minimum:
                    raise InvalidInput(f"Quota {key} limit must be equal or greater than "
                                       f"existing resources. Current usage is {minimum} "
                                       f"and the requested limit is {limit}.", param=key)
        if changes:
            self.quotas.set_limits(project_id, changes)
        with self.db.session() as s:
            return self.limits_of(s, project_id)

    def delete(self, ctx: RequestContext, project_id: str) -> None:
        """Back to the defaults (only the Block Storage keys)."""
        self._enforce(ctx, "volume_extension:quotas:delete", project_id)
        with self.db.session() as s:
            keys = list(self._defaults(s))
            s.execute(delete(QuotaLimit).where(QuotaLimit.project_id == project_id,
                                               QuotaLimit.resource.in_(keys)))

    # ---- for the volume services -----------------------------------------------------
    def check_per_volume(self, s: Session, project_id: str, size: int) -> None:
        """QuotaExceeded (Cinder's VolumeSizeExceedsLimit) if ``size`` passes the
        project's ``per_volume_gigabytes``."""
        limit = self._own(s, project_id).get("per_volume_gigabytes",
                                             FIXED["per_volume_gigabytes"])
        if limit >= 0 and size > limit:
            raise per_volume_exceeded(size, limit)
