"""Discovery and the operator's views: the versions (``GET /volume/`` 300,
``GET /volume/v3/`` 200, both a list as ``cinder/api/versions.py`` answers),
availability zones, services (admin) and the scheduler's pools (admin)."""

from __future__ import annotations

from typing import Any

from connexion import request

from gateway.openstack.volume import views
from gateway.openstack.volume.base import Handler, parse_bool
from gateway.openstack.volume.microversions import MAX_VERSION, MIN_VERSION

UPDATED = "2023-08-31T00:00:00Z"


class Versions(Handler):
    def _v3(self) -> dict[str, Any]:
        return {"id": "v3.0", "status": "CURRENT", "version": str(MAX_VERSION),
                "min_version": str(MIN_VERSION), "updated": UPDATED,
                "links": [{"rel": "describedby", "type": "text/html",
                           "href": "https://docs.openstack.org/"},
                          {"rel": "self", "href": f"{self.deps.base}/v3/"}],
                "media-types": [{"base": "application/json",
                                 "type": "application/vnd.openstack.volume+json;version=3"}]}

    def list(self):
        return {"versions": [self._v3()]}, 300

    def show(self):
        return {"versions": [self._v3()]}


class Zones(Handler):
    def list(self):
        zones = self.deps.backends.availability_zones(self.context())
        return {"availabilityZoneInfo": [{"zoneName": zone, "zoneState": {"available": up}}
                                         for zone, up in zones]}


class Services(Handler):
    def list(self):
        params = request.query_params
        services = self.deps.backends.services(self.context())
        host, binary = params.get("host"), params.get("binary")
        out = []
        for svc in services:
            if (host and svc.host != host) or (binary and svc.binary != binary):
                continue
            row: dict[str, Any] = {
                "binary": svc.binary, "host": svc.host, "zone": svc.zone,
                "status": "disabled" if svc.disabled else "enabled",
                "state": "up" if svc.up else "down",
                "updated_at": views.timestamp(svc.updated_at),
                "disabled_reason": svc.disabled_reason}
            if svc.binary == "cinder-volume":
                row.update(cluster=None, replication_status="disabled",
                           active_backend_id=None, frozen=False)
            out.append(row)
        return {"services": out}


class Pools(Handler):
    def list(self):
        ctx = self.context()
        params = request.query_params
        detail = parse_bool(params.get("detail"), "detail")
        name = params.get("name")
        out = []
        for pool in self.deps.backends.pools(ctx):
            if name and pool.name != name:
                continue
            item: dict[str, Any] = {"name": pool.name}
            if detail:
                item["capabilities"] = {
                    **dict(pool.capabilities or {}),
                    "pool_name": pool.name.partition("#")[2],
                    "total_capacity_gb": pool.total_capacity_gb,
                    "free_capacity_gb": pool.free_capacity_gb,
                    "allocated_capacity_gb": pool.provisioned_capacity_gb,
                    "provisioned_capacity_gb": pool.provisioned_capacity_gb,
                    "max_over_subscription_ratio": pool.max_over_subscription_ratio,
                    "thin_provisioning_support": pool.thin_provisioning_support,
                    "thick_provisioning_support": pool.thick_provisioning_support,
                    "reserved_percentage": pool.reserved_percentage,
                    "timestamp": views.timestamp(pool.updated_at)}
            out.append(item)
        return {"pools": out}
