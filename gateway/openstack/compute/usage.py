"""``os-simple-tenant-usage``: what every project (admins) or one project used
over a period; paging (``limit``, ``marker``) from 2.40."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from connexion import request

from core import errors
from core.clock import utcnow
from core.compute.tenant_usage import ProjectUsage, ServerUsage, TenantUsageService
from core.numbers import BadInteger, parse_int
from gateway.openstack.compute import microversions
from gateway.openstack.compute.base import MAX_INT, ComputeDeps, Handler

PAGING = (2, 40)


def _time(value: datetime | None) -> str | None:
    """oslo's PERFECT_TIME_FORMAT: microseconds always, no zone."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value is not None else None


# The only forms Nova's simple_tenant_usage._parse_datetime takes (naive, UTC).
TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")


def parse_usage_time(text: str) -> datetime:
    """``text`` in one of :data:`TIME_FORMATS` (a zone, a date alone or any other
    ISO form is Nova's 400); UTC."""
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise errors.InvalidInput("Invalid datetime string: Datetime is in invalid format",
                              param="start")


def _when(name: str) -> datetime:
    text = request.query_params.get(name)
    return parse_usage_time(text) if text else utcnow()


def server_usage_view(u: ServerUsage) -> dict[str, Any]:
    return {"instance_id": u.instance_id, "name": u.name, "tenant_id": u.tenant_id,
            "flavor": u.flavor, "hours": u.hours, "vcpus": u.vcpus,
            "memory_mb": u.memory_mb, "local_gb": u.local_gb,
            "started_at": _time(u.started_at), "ended_at": _time(u.ended_at),
            "state": u.state, "uptime": u.uptime}


def usage_view(u: ProjectUsage, detailed: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tenant_id": u.tenant_id, "start": _time(u.start), "stop": _time(u.stop),
        "total_hours": u.total_hours, "total_vcpus_usage": u.total_vcpus_usage,
        "total_memory_mb_usage": u.total_memory_mb_usage,
        "total_local_gb_usage": u.total_local_gb_usage}
    if detailed:
        out["server_usages"] = [server_usage_view(s) for s in u.server_usages]
    return out


class TenantUsage(Handler):
    def __init__(self, deps: ComputeDeps) -> None:
        super().__init__(deps)
        self.usage: TenantUsageService = deps.tenant_usage
        self.max_limit = deps.settings.max_limit

    def _paging(self) -> tuple[int | None, str | None]:
        if microversions.current() < PAGING:
            return None, None
        p = request.query_params
        limit = None
        if "limit" in p:
            try:
                limit = parse_int(p["limit"], 1, MAX_INT, cap=True)
            except BadInteger:
                raise errors.InvalidInput("limit must be a positive integer",
                                          param="limit") from None
        return min(limit or self.max_limit, self.max_limit), p.get("marker") or None

    def _links(self, path: str, counted: list[str], limit: int | None) -> list[dict]:
        if limit is None or len(counted) < limit or not counted:
            return []
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
        return [{"rel": "next", "href": f"{self.deps.base}/v2.1/{path}?"
                 + urlencode([*params, ("marker", counted[-1])])}]

    def list(self, **_: Any):
        ctx = self.context()
        detailed = request.query_params.get("detailed", "0") == "1"
        limit, marker = self._paging()
        usages, counted = self.usage.usages(ctx, _when("start"), _when("end"),
                                            limit=limit, marker=marker)
        out: dict[str, Any] = {"tenant_usages": [usage_view(u, detailed) for u in usages]}
        links = self._links("os-simple-tenant-usage", counted, limit)
        if links:
            out["tenant_usages_links"] = links
        return out

    def show(self, tenant_id: str, **_: Any):
        ctx = self.context()
        limit, marker = self._paging()
        usages, counted = self.usage.usages(ctx, _when("start"), _when("end"), tenant_id,
                                            limit=limit, marker=marker)
        out: dict[str, Any] = {"tenant_usage": usage_view(usages[0], True) if usages else {}}
        links = self._links(f"os-simple-tenant-usage/{tenant_id}", counted, limit)
        if links:
            out["tenant_usage_links"] = links
        return out
