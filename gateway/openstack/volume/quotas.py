"""``/v3/os-quota-sets/{project}`` (``?usage=true``, ``/defaults``, update,
reset) and ``/v3/limits`` (exactly Cinder's ten absolute keys: Tempest's schema
rejects any other)."""

from __future__ import annotations

from typing import Any

from connexion import NoContent, request

from core import errors
from gateway.openstack.volume import microversions
from gateway.openstack.volume.base import Handler, member_body, parse_bool

# Cinder's /limits keys, exactly (Tempest's schema allows no other)
ABSOLUTE = ("maxTotalVolumes", "maxTotalSnapshots", "maxTotalVolumeGigabytes",
            "maxTotalBackups", "maxTotalBackupGigabytes", "totalVolumesUsed",
            "totalGigabytesUsed", "totalSnapshotsUsed", "totalBackupsUsed",
            "totalBackupGigabytesUsed")


def _limit(key: str, value: Any) -> int:
    if isinstance(value, bool):
        value = None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = None
    if number is None or number < -1:
        raise errors.InvalidInput(f"Quota limit {value!r} for {key} must be an integer "
                                  "greater than or equal to -1.", param=key)
    return number


class VolumeQuotas(Handler):
    @property
    def quotas(self) -> Any:
        return self.services.quotas

    def show(self, project_id: str, **_: Any):
        ctx = self.context()
        usage = parse_bool(request.query_params.get("usage"), "usage")
        values = self.quotas.show(ctx, project_id, usage=usage)
        return {"quota_set": {"id": project_id, **values}}

    def defaults(self, project_id: str, **_: Any):
        values = self.quotas.defaults(self.context(), project_id)
        return {"quota_set": {"id": project_id, **values}}

    def update(self, project_id: str, body: Any, **_: Any):
        ctx = self.context()
        attrs = member_body(body, "quota_set")
        limits = {k: _limit(k, v) for k, v in attrs.items() if k not in ("id", "tenant_id")}
        if not limits:
            raise errors.InvalidInput("Missing required element 'quota_set' in request "
                                      "body: no limits to set.")
        values = self.quotas.update(ctx, project_id, limits)
        return {"quota_set": dict(values)}

    def reset(self, project_id: str, **_: Any):
        self.quotas.delete(self.context(), project_id)
        return NoContent, 200


class VolumeLimits(Handler):
    def show(self, **_: Any):
        ctx = self.context()
        project_id = ctx.project_id
        asked = request.query_params.get("project_id")
        if asked and ctx.is_admin and microversions.current() >= (3, 39):
            project_id = asked
        if not project_id:
            raise errors.InvalidInput("The limits are a project's: use a project-scoped "
                                      "token.")
        limits = self.services.quotas.limits(ctx, project_id)
        return {"limits": {"rate": [], "absolute": {key: int(limits.get(key, 0))
                                                    for key in ABSOLUTE}}}
