"""What the filters and weighers know about each compute node, and how it is read.

``load_host_rows`` reads every node (or the nodes named) with its
``nova-compute`` service row in a single Core select (no ORM objects: 10,000
hosts must load quickly); the scheduler keeps them in memory
(``core.scheduler.host_manager``). ``unavailable_hosts`` finds, through
indexes, the few hosts whose service is disabled, forced down or silent.
``load_spec_context`` looks up only what one request's hints need: the hosts of
the instances named by ``same_host`` / ``different_host`` and where the members
of its server group run.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, and_, bindparam, cast, literal, select, true, union_all
from sqlalchemy.orm import Session

from core.compute.aggregates import ZONE_KEY, host_metadata
from core.compute.models import ComputeService, Instance, ServerGroup, ServerGroupMember
from core.db import Database
from core.db.base import UTCDateTime
from core.placement.models import ComputeNode
from core.scheduler.request_spec import GroupInfo, RequestSpec
from core.settings import Settings

COMPUTE_BINARY = "nova-compute"


@dataclass(slots=True)
class HostState:
    """One compute node as the scheduler sees it at the start of a request.

    A reload makes a new HostState; only ``consume`` (and ``up``) change one,
    so the totals and ratios, and the limits worked out from them, stay put.
    """

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
    # Equal for hosts whose TRAIT_FIELDS are equal (None: not known to be like any
    # other): the scheduler asks a filter that reads only those once per traits.
    traits: int | None = None
    # total * allocation ratio: the most a claim lets be used (worked out once;
    # the filters and weighers of a large cloud read them for every host).
    vcpus_limit: float = field(init=False, default=0.0)
    memory_mb_limit: float = field(init=False, default=0.0)
    local_gb_limit: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.vcpus_limit = self.vcpus_total * self.cpu_allocation_ratio
        self.memory_mb_limit = self.memory_mb * self.ram_allocation_ratio
        self.local_gb_limit = self.local_gb * self.disk_allocation_ratio

    @property
    def free_vcpus(self) -> float:
        return self.vcpus_limit - self.vcpus_used

    @property
    def free_ram_mb(self) -> float:
        return self.memory_mb_limit - self.memory_mb_used

    @property
    def free_disk_gb(self) -> float:
        return self.local_gb_limit - self.local_gb_used

    def consume(self, resources: dict[str, int]) -> None:
        """Account in memory for an instance just claimed here (later instances of
        the same request see it)."""
        self.vcpus_used += resources["vcpus"]
        self.memory_mb_used += resources["memory_mb"]
        self.local_gb_used += resources["disk_gb"]
        self.num_instances += 1
        self.generation += 1


# The fields hosts share when they are alike (``HostState.traits``): filters that
# read only these give the same answer for every host with the same traits.
TRAIT_FIELDS = frozenset({"availability_zone", "hypervisor_type", "hypervisor_version",
                          "cpu_arch", "capabilities", "aggregate_metadata"})

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


# Built once (each refresh runs them). Service state and JSON are worked out in
# SQL / by json.loads directly: per-row type processing is most of the cost of
# loading 10,000 hosts.
_HOSTS = (select(*_NODE_COLUMNS, ComputeService.disabled.is_(False),
                 ComputeService.forced_down.is_(False),
                 ComputeService.last_seen_up >= bindparam("cutoff", type_=UTCDateTime()),
                 *_NODE_DETAILS, cast(ComputeNode.capabilities, Text), ComputeService.id)
          .outerjoin(ComputeService, and_(ComputeService.host == ComputeNode.host,
                                          ComputeService.binary == COMPUTE_BINARY))
          .order_by(ComputeNode.id))
_HOSTS_BY_ID = _HOSTS.where(ComputeNode.id.in_(bindparam("ids", expanding=True)))
# What makes a host unavailable, as ``unavailable_hosts`` reports it.
SILENT, DISABLED, FORCED_DOWN = "silent", "disabled", "forced_down"
# Index ranges only (an OR of these would read every compute service's entry):
# heartbeats older than the cutoff, or none; disabled; forced down.
_IS_COMPUTE = ComputeService.binary == COMPUTE_BINARY
_UNAVAILABLE = union_all(
    select(ComputeService.host, literal(SILENT)).where(
        _IS_COMPUTE, ComputeService.last_seen_up < bindparam("cutoff", type_=UTCDateTime())),
    select(ComputeService.host, literal(SILENT)).where(
        _IS_COMPUTE, ComputeService.last_seen_up.is_(None)),
    select(ComputeService.host, literal(DISABLED)).where(
        _IS_COMPUTE, ComputeService.disabled == true()),
    select(ComputeService.host, literal(FORCED_DOWN)).where(
        _IS_COMPUTE, ComputeService.forced_down == true()))

def load_host_rows(session: Session, settings: Settings, now: datetime,
                   node_ids: Iterable[int] | None = None,
                   parsed: dict[str, dict[str, Any]] | None = None
                   ) -> list[tuple[HostState, bool]]:
    """``(state, registered)`` of every compute node (or of ``node_ids``), by id.

    ``registered``: the node has a ``nova-compute`` service (without one it is
    disabled and down). ``parsed`` maps capabilities as stored (JSON text) to
    their dict, shared by the hosts that report the same.
    """
    cutoff = now - timedelta(seconds=settings.service_down_time)
    conn = session.connection()
    if node_ids is None:
        rows = conn.execute(_HOSTS, {"cutoff": cutoff}).all()
    else:
        rows = conn.execute(_HOSTS_BY_ID, {"cutoff": cutoff, "ids": list(node_ids)}).all()
    aggregated = host_metadata(session, None if node_ids is None else [r[0] for r in rows])
    default_zone = settings.default_availability_zone
    parsed = {} if parsed is None else parsed
    out = []
    for row in rows:
        (host, nodename, node_id, node_uuid, zone, vcpus, ram, disk, vcpus_used, ram_used,
         disk_used, cpu_ratio, ram_ratio, disk_ratio, vms, failed, generation, is_enabled,
         not_forced, is_fresh, hv_type, hv_version, arch, host_ip, caps, registered) = row
        capabilities = parsed.get(caps or "")
        if capabilities is None:
            capabilities = parsed[caps or ""] = json.loads(caps) if caps else {}
        state = HostState(
            host, nodename, node_id, node_uuid, zone or default_zone, vcpus, ram, disk,
            vcpus_used, ram_used, disk_used, cpu_ratio, ram_ratio, disk_ratio, vms, failed,
            generation, bool(is_enabled), bool(not_forced and is_fresh), hv_type, hv_version,
            arch, host_ip, capabilities)
        meta = aggregated.get(host)
        if meta:  # an aggregate's zone is its hosts' zone
            state.aggregate_metadata = meta
            zones = meta.get(ZONE_KEY)
            if zones:
                state.availability_zone = min(zones)
        out.append((state, registered is not None))
    return out


def load_host_states(session_or_db: Session | Database, settings: Settings,
                     now: datetime) -> list[HostState]:
    """Every compute node, ordered by id. A node without a ``nova-compute`` service
    row counts as disabled and down; a service is up when not forced down and seen
    within ``settings.service_down_time`` seconds before ``now`` (timezone-aware)."""
    if isinstance(session_or_db, Database):
        with session_or_db.session() as session:
            return load_host_states(session, settings, now)
    return [state for state, _ in load_host_rows(session_or_db, settings, now)]


def unavailable_hosts(session: Session, settings: Settings, now: datetime
                      ) -> dict[str, frozenset[str]]:
    """The hosts whose ``nova-compute`` service is disabled, forced down or has
    not reported within ``service_down_time`` seconds before ``now`` (SILENT),
    with what of these holds for each. Read through indexes: it costs what the
    hosts found cost, however many are fine."""
    cutoff = now - timedelta(seconds=settings.service_down_time)
    found: dict[str, set[str]] = {}
    for host, why in session.connection().execute(_UNAVAILABLE, {"cutoff": cutoff}):
        found.setdefault(host, set()).add(why)
    return {host: frozenset(why) for host, why in found.items()}


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
