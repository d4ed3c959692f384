"""What the filters and weighers know about each compute node, loaded in one query.

``load_host_states`` reads every node with its ``nova-compute`` service row in a
single Core select (no ORM objects: 10,000 hosts must load quickly).
``load_spec_context`` looks up only what one request's hints need: the hosts of
the instances named by ``same_host`` / ``different_host`` and where the members
of its server group run.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, and_, cast, select
from sqlalchemy.orm import Session

from core.compute.aggregates import ZONE_KEY, host_metadata
from core.compute.models import ComputeService, Instance, ServerGroup, ServerGroupMember
from core.db import Database
from core.placement.models import ComputeNode
from core.scheduler.request_spec import GroupInfo, RequestSpec
from core.settings import Settings

COMPUTE_BINARY = "nova-compute"


@dataclass(slots=True)
class HostState:
    """One compute node as the scheduler sees it at the start of a request."""

    host: str
    nodename: str
    node_id: int
    node_uuid: str
    availability_zone: str
    vcpus_total: int
    memory_mb: int
    local_gb: int
    vcpus_used: int = 0
    memory_mb_used: int = 0
    local_gb_used: int = 0
    cpu_allocation_ratio: float = 1.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    num_instances: int = 0
    failed_builds: int = 0
    generation: int = 0
    enabled: bool = True
    up: bool = True
    hypervisor_type: str = "fake"
    hypervisor_version: int = 0
    cpu_arch: str = "x86_64"
    host_ip: str = ""
    capabilities: dict[str, Any] = field(default_factory=dict)
    # key -> values the host's aggregates give it (AggregateInstanceExtraSpecsFilter)
    aggregate_metadata: dict[str, set[str]] = field(default_factory=dict)

    @property
    def free_vcpus(self) -> float:
        return self.vcpus_total * self.cpu_allocation_ratio - self.vcpus_used

    @property
    def free_ram_mb(self) -> float:
        return self.memory_mb * self.ram_allocation_ratio - self.memory_mb_used

    @property
    def free_disk_gb(self) -> float:
        return self.local_gb * self.disk_allocation_ratio - self.local_gb_used

    def consume(self, resources: dict[str, int]) -> None:
        """Account in memory for an instance just claimed here (later instances of
        the same request see it)."""
        self.vcpus_used += resources["vcpus"]
        self.memory_mb_used += resources["memory_mb"]
        self.local_gb_used += resources["disk_gb"]
        self.num_instances += 1
        self.generation += 1


# In HostState's field order, from ``host`` to ``cpu_arch``/``host_ip``.
_NODE_COLUMNS = (ComputeNode.host, ComputeNode.hypervisor_hostname, ComputeNode.id,
                 ComputeNode.uuid, ComputeNode.availability_zone, ComputeNode.vcpus,
                 ComputeNode.memory_mb, ComputeNode.local_gb, ComputeNode.vcpus_used,
                 ComputeNode.memory_mb_used, ComputeNode.local_gb_used,
                 ComputeNode.cpu_allocation_ratio, ComputeNode.ram_allocation_ratio,
                 ComputeNode.disk_allocation_ratio, ComputeNode.running_vms,
                 ComputeNode.failed_builds, ComputeNode.generation)
_NODE_DETAILS = (ComputeNode.hypervisor_type, ComputeNode.hypervisor_version,
                 ComputeNode.architecture, ComputeNode.host_ip)


def load_host_states(session_or_db: Session | Database, settings: Settings,
                     now: datetime) -> list[HostState]:
    """Every compute node, ordered by id. A node without a ``nova-compute`` service
    row counts as disabled and down; a service is up when not forced down and seen
    within ``settings.service_down_time`` seconds before ``now`` (timezone-aware)."""
    if isinstance(session_or_db, Database):
        with session_or_db.session() as session:
            return load_host_states(session, settings, now)
    cutoff = now - timedelta(seconds=settings.service_down_time)
    # Service state and JSON are worked out in SQL / by json.loads directly: per-row
    # type processing is most of the cost at 10,000 hosts.
    enabled = ComputeService.disabled.is_(False)
    up = and_(ComputeService.forced_down.is_(False), ComputeService.last_seen_up >= cutoff)
    stmt = (select(*_NODE_COLUMNS, enabled, up, *_NODE_DETAILS,
                   cast(ComputeNode.capabilities, Text))
            .outerjoin(ComputeService, and_(ComputeService.host == ComputeNode.host,
                                            ComputeService.binary == COMPUTE_BINARY))
            .order_by(ComputeNode.id))
    default_zone = settings.default_availability_zone
    aggregated = host_metadata(session_or_db)
    states = []
    for row in session_or_db.connection().execute(stmt).all():
        (host, nodename, node_id, node_uuid, zone, vcpus, ram, disk, vcpus_used, ram_used,
         disk_used, cpu_ratio, ram_ratio, disk_ratio, vms, failed, generation, is_enabled,
         is_up, hv_type, hv_version, arch, host_ip, caps) = row
        states.append(HostState(
            host, nodename, node_id, node_uuid, zone or default_zone, vcpus, ram, disk,
            vcpus_used, ram_used, disk_used, cpu_ratio, ram_ratio, disk_ratio, vms, failed,
            generation, bool(is_enabled), bool(is_up), hv_type, hv_version, arch, host_ip,
            json.loads(caps) if caps else {}))
        meta = aggregated.get(host)
        if meta:  # an aggregate's zone is its hosts' zone
            states[-1].aggregate_metadata = meta
            zones = meta.get(ZONE_KEY)
            if zones:
                states[-1].availability_zone = min(zones)
    return states


def load_spec_context(session: Session, spec: RequestSpec) -> None:
    """Fill ``spec.instance_hosts`` (hosts of the same_host / different_host
    instances) and ``spec.group`` (the hinted server group, its members' hosts).

    Deleted instances and instances without a host are left out; so are the
    instances being scheduled (a resize may land back on its own host).
    """
    wanted = set(spec.same_host) | set(spec.different_host)
    if wanted:
        rows = session.execute(select(Instance.uuid, Instance.host).where(
            Instance.uuid.in_(wanted), Instance.deleted.is_(False),
            Instance.host.is_not(None)))
        spec.instance_hosts = {r.uuid: r.host for r in rows}
    group_uuid = spec.group_uuid
    if not group_uuid:
        return
    group = session.execute(select(ServerGroup.id, ServerGroup.policy, ServerGroup.rules)
                            .where(ServerGroup.uuid == group_uuid)).first()
    if group is None:
        return
    stmt = (select(Instance.host)
            .join(ServerGroupMember, ServerGroupMember.instance_uuid == Instance.uuid)
            .where(ServerGroupMember.group_id == group.id, Instance.deleted.is_(False),
                   Instance.host.is_not(None)))
    if spec.instance_uuids:
        stmt = stmt.where(Instance.uuid.not_in(spec.instance_uuids))
    hosts = Counter(host for host in session.scalars(stmt) if host)
    spec.group = GroupInfo(uuid=group_uuid, policy=group.policy, rules=dict(group.rules or {}),
                           hosts=hosts)
