"""What projects used over a period (Nova's ``os-simple-tenant-usage``): the
hours each instance ran within the window (from its ``launched_at`` to its
``terminated_at``, or to the window's end while it runs) times its flavor's
vCPUs, RAM and disk. Deleted instances that ran within the window count; an
instance never launched counts nothing (nova/api/openstack/compute/
simple_tenant_usage.py, ``InstanceList.get_active_by_window_joined``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select

from core import errors
from core.clock import utcnow
from core.compute.models import Instance
from core.context import RequestContext
from core.db import Database
from core.policy import PolicyEnforcer

TERMINATED = "terminated"


@dataclass(frozen=True)
class ServerUsage:
    instance_id: str
    name: str
    tenant_id: str
    flavor: str
    hours: float
    vcpus: int
    memory_mb: int
    local_gb: int
    started_at: datetime | None
    ended_at: datetime | None
    state: str
    uptime: int


@dataclass
class ProjectUsage:
    tenant_id: str
    start: datetime
    stop: datetime
    total_hours: float = 0.0
    total_vcpus_usage: float = 0.0
    total_memory_mb_usage: float = 0.0
    total_local_gb_usage: float = 0.0
    server_usages: list[ServerUsage] = field(default_factory=list)


def hours_in(launched_at: datetime | None, terminated_at: datetime | None,
             start: datetime, stop: datetime) -> float:
    """The hours an instance ran within [start, stop] (Nova's ``_hours_for``)."""
    if launched_at is None:
        return 0.0
    if terminated_at is not None and terminated_at < start:
        return 0.0
    if launched_at > stop:
        return 0.0
    end = min(stop, terminated_at) if terminated_at is not None else stop
    return (end - max(launched_at, start)).total_seconds() / 3600.0


def _server_usage(inst: Instance, start: datetime, stop: datetime,
                  now: datetime) -> ServerUsage:
    flavor = inst.flavor or {}
    ended = inst.terminated_at
    state = TERMINATED if ended is not None else inst.vm_state
    began = inst.launched_at
    uptime = int(((ended if ended is not None else now) - began).total_seconds()) \
        if began is not None else 0
    return ServerUsage(
        instance_id=inst.uuid, name=inst.display_name, tenant_id=inst.project_id,
        flavor=str(flavor.get("name") or ""), hours=hours_in(began, ended, start, stop),
        vcpus=int(flavor.get("vcpus", inst.vcpus) or 0),
        memory_mb=int(flavor.get("memory_mb", inst.memory_mb) or 0),
        local_gb=int(flavor.get("root_gb", inst.root_gb) or 0)
        + int(flavor.get("ephemeral_gb") or 0),
        started_at=began, ended_at=ended, state=state, uptime=uptime)


class TenantUsageService:
    def __init__(self, db: Database, policy: PolicyEnforcer) -> None:
        self.db = db
        self.policy = policy

    @staticmethod
    def check_period(start: datetime, stop: datetime) -> None:
        if not start < stop:
            raise errors.InvalidInput("Invalid start time. The start time cannot occur after "
                                      "the end time.", param="start")

    def _instances(self, start: datetime, stop: datetime, project_id: str | None,
                   limit: int | None, marker: str | None) -> list[Instance]:
        stmt = (select(Instance)
                .where(or_(Instance.terminated_at.is_(None), Instance.terminated_at > start),
                       Instance.launched_at < stop)
                .order_by(Instance.created_at, Instance.id))
        if project_id is not None:
            stmt = stmt.where(Instance.project_id == project_id)
        with self.db.session() as s:
            if marker is not None:
                after = s.scalar(select(Instance).where(Instance.uuid == marker))
                if after is None:
                    raise errors.InvalidInput(f"Marker {marker} could not be found.",
                                              param="marker")
                stmt = stmt.where(or_(Instance.created_at > after.created_at,
                                      (Instance.created_at == after.created_at)
                                      & (Instance.id > after.id)))
            if limit is not None:
                stmt = stmt.limit(limit)
            return list(s.scalars(stmt))

    def usages(self, ctx: RequestContext, start: datetime, stop: datetime,
               project_id: str | None = None, limit: int | None = None,
               marker: str | None = None) -> tuple[list[ProjectUsage], list[str]]:
        """Every project's usage in the window (one project's, with ``project_id``),
        in the order their instances were made; and the instance ids counted,
        in order (the last one is the next page's marker)."""
        if project_id is None:
            self.policy.enforce("os_compute_api:os-simple-tenant-usage:list", {}, ctx)
        else:
            self.policy.enforce("os_compute_api:os-simple-tenant-usage:show",
                                {"project_id": project_id}, ctx)
        self.check_period(start, stop)
        now = utcnow()
        out: dict[str, ProjectUsage] = {}
        counted = []
        for inst in self._instances(start, stop, project_id, limit, marker):
            usage = _server_usage(inst, start, stop, now)
            summary = out.get(usage.tenant_id)
            if summary is None:
                summary = out[usage.tenant_id] = ProjectUsage(usage.tenant_id, start, stop)
            summary.total_hours += usage.hours
            summary.total_vcpus_usage += usage.vcpus * usage.hours
            summary.total_memory_mb_usage += usage.memory_mb * usage.hours
            summary.total_local_gb_usage += usage.local_gb * usage.hours
            summary.server_usages.append(usage)
            counted.append(usage.instance_id)
        return list(out.values()), counted
