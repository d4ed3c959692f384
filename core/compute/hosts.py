"""Compute hosts as operators see them: services (``os-services``), hypervisors
(``os-hypervisors``) and availability zones (``os-availability-zone``).

Services and nodes are registered by the compute agents (and the control-plane
services) themselves; this module reads them and lets admins enable, disable,
force down or delete a service. A host with nothing registered yet is simply
absent from every list.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core import errors
from core.compute.aggregates import host_zones
from core.compute.models import ComputeService, Instance
from core.context import RequestContext
from core.db import Database
from core.db.base import utcnow
from core.numbers import BadInteger, is_ascii_digits, parse_int
from core.placement.changes import note_hosts_changed
from core.placement.models import ComputeNode
from core.policy import PolicyEnforcer
from core.settings import Settings

COMPUTE_BINARY = "nova-compute"
INTERNAL_ZONE = "internal"
MAX_ID = 0x7FFFFFFF  # larger ids exist nowhere (and overflow the column type)


def require_uuid(text: str) -> None:
    """Nova's check of a 2.53 id in a path."""
    try:
        uuid.UUID(text)
    except ValueError:
        raise errors.InvalidInput(f"Invalid uuid {text}") from None


def _id_in_text(text: str) -> int | None:
    """The row id ``text`` spells, or None if it spells none that can exist."""
    try:
        return parse_int(text, 1, MAX_ID)
    except BadInteger:
        return None


@dataclass(frozen=True)
class ServiceView:
    service: ComputeService
    up: bool
    zone: str


@dataclass(frozen=True)
class NodeView:
    node: ComputeNode
    service: ServiceView


@dataclass(frozen=True)
class Zone:
    name: str
    available: bool
    hosts: dict[str, dict[str, ServiceView]]  # host -> binary -> service


def service_is_up(service: ComputeService, down_time: float,
                  now: datetime.datetime | None = None) -> bool:
    """Heard from within ``down_time`` seconds and not forced down."""
    if service.forced_down or service.last_seen_up is None:
        return False
    return ((now or utcnow()) - service.last_seen_up).total_seconds() <= down_time


class HostService:
    def __init__(self, db: Database, policy: PolicyEnforcer, settings: Settings) -> None:
        self.db = db
        self.policy = policy
        self.settings = settings

    # ---- services ----------------------------------------------------------
    def is_up(self, service: ComputeService, now: datetime.datetime | None = None) -> bool:
        """Heard from within ``service_down_time`` and not forced down."""
        return service_is_up(service, self.settings.service_down_time, now)

    def zone_of(self, service: ComputeService, aggregate_zone: str | None = None) -> str:
        """A compute host's zone is the one its aggregates name, else its own."""
        if service.binary != COMPUTE_BINARY:
            return INTERNAL_ZONE
        return aggregate_zone or service.availability_zone or \
            self.settings.default_availability_zone

    def _view(self, service: ComputeService, now: datetime.datetime,
              zones: dict[str, str]) -> ServiceView:
        return ServiceView(service, self.is_up(service, now),
                           self.zone_of(service, zones.get(service.host)))

    def _services(self, s: Session, host: str | None = None,
                  binary: str | None = None) -> list[ServiceView]:
        q = select(ComputeService).order_by(ComputeService.id)
        if host is not None:
            q = q.where(ComputeService.host == host)
        if binary is not None:
            q = q.where(ComputeService.binary == binary)
        now = utcnow()
        zones = host_zones(s)
        return [self._view(svc, now, zones) for svc in s.scalars(q)]

    def list_services(self, ctx: RequestContext, host: str | None = None,
                      binary: str | None = None) -> list[ServiceView]:
        self.policy.enforce("os_compute_api:os-services:list", {}, ctx)
        with self.db.session() as s:
            return self._services(s, host, binary)

    def services_of(self, host: str, binary: str | None = None) -> list[ServiceView]:
        """The host's services, with no policy check (for the API's own checks,
        such as whether an evacuation's source host is down)."""
        with self.db.session() as s:
            return self._services(s, host, binary)

    def update_service(self, ctx: RequestContext, host: str, binary: str,
                       disabled: bool | None = None, disabled_reason: str | None = None,
                       forced_down: bool | None = None) -> ServiceView:
        """Enable or disable (with an optional reason), or force down, by host and binary."""
        self.policy.enforce("os_compute_api:os-services:update", {}, ctx)
        with self.db.session() as s:
            svc = s.scalar(select(ComputeService).where(ComputeService.host == host,
                                                        ComputeService.binary == binary))
            if svc is None:
                raise errors.NotFound("Unknown service")
            return self._changed(s, svc, disabled, disabled_reason, forced_down)

    def _changed(self, s: Session, svc: ComputeService, disabled: bool | None,
                 disabled_reason: str | None, forced_down: bool | None) -> ServiceView:
        """``svc`` enabled or disabled (a reason only when disabled) and forced down
        or up, as asked; its view."""
        if disabled is not None:
            svc.disabled = disabled
            svc.disabled_reason = disabled_reason if disabled else None
        if forced_down is not None:
            svc.forced_down = forced_down
        svc.updated_at = utcnow()
        return self._view(svc, utcnow(), host_zones(s, [svc.host]))

    def update_service_by_uuid(self, ctx: RequestContext, service_uuid: str,
                               disabled: bool | None = None,
                               disabled_reason: str | None = None,
                               forced_down: bool | None = None) -> ServiceView:
        """Nova's ``PUT /os-services/{uuid}`` (2.53): only a compute service may be
        changed; enabling clears the reason, disabling sets it (None if not given)."""
        self.policy.enforce("os_compute_api:os-services:update", {}, ctx)
        require_uuid(service_uuid)
        with self.db.session() as s:
            svc = s.scalar(select(ComputeService).where(ComputeService.uuid == service_uuid))
            if svc is None:
                raise errors.NotFound(f"Service {service_uuid} could not be found.")
            if svc.binary != COMPUTE_BINARY:
                raise errors.InvalidInput(f"Updating a {svc.binary} service is not "
                                          "supported. Only nova-compute services can be "
                                          "updated.")
            return self._changed(s, svc, disabled, disabled_reason, forced_down)

    def delete_service(self, ctx: RequestContext, service_id: int | str,
                       by_uuid: bool = False) -> None:
        """Delete a service (and, for a compute service, its node). Refused while
        the host still has servers. An id given as text (as the client sent it)
        is read once policy allows the call: not an integer is InvalidInput
        (not a UUID, with ``by_uuid``: Nova's 2.53 ids)."""
        self.policy.enforce("os_compute_api:os-services:delete", {}, ctx)
        where: Any
        if by_uuid:
            require_uuid(str(service_id))
            where = ComputeService.uuid == str(service_id)
        elif isinstance(service_id, int):
            where = ComputeService.id == (service_id if 0 < service_id <= MAX_ID else -1)
        elif is_ascii_digits(service_id):
            where = ComputeService.id == (_id_in_text(service_id) or -1)
        else:
            raise errors.InvalidInput("Invalid input received: id must be an integer",
                                      param="service_id")
        with self.db.session() as s:
            svc = s.scalar(select(ComputeService).where(where))
            if svc is None:
                raise errors.NotFound(f"Service {service_id} could not be found.")
            if svc.binary == COMPUTE_BINARY:
                hosted = s.scalar(select(func.count()).select_from(Instance).where(
                    Instance.host == svc.host, Instance.deleted.is_(False))) or 0
                if hosted:
                    raise errors.Conflict("Unable to delete compute service that is hosting "
                                          "instances. Migrate or delete the instances first.")
                note_hosts_changed(s, [svc.host])  # the schedulers drop the node
                s.execute(delete(ComputeNode).where(ComputeNode.host == svc.host))
            s.delete(svc)

    # ---- hypervisors -------------------------------------------------------
    def _nodes(self, s: Session, nodes: Iterable[ComputeNode]) -> list[NodeView]:
        """Nodes with their compute service; a node whose service is not
        registered (yet) is left out, as Nova does."""
        nodes = list(nodes)
        services = {svc.service.host: svc for svc in self._services(
            s, binary=COMPUTE_BINARY)} if nodes else {}
        return [NodeView(n, services[n.host]) for n in nodes if n.host in services]

    def list_nodes(self, ctx: RequestContext, detail: bool = False,
                   hostname_pattern: str | None = None, limit: int | None = None,
                   marker: str | None = None, by_uuid: bool = False) -> list[NodeView]:
        """A page of hypervisors in id order, after ``marker`` (a node's id, or
        its UUID with ``by_uuid``; InvalidInput if no such node)."""
        rule = "list-detail" if detail else "list"
        self.policy.enforce(f"os_compute_api:os-hypervisors:{rule}", {}, ctx)
        q = select(ComputeNode).order_by(ComputeNode.id)
        if hostname_pattern is not None:
            q = q.where(ComputeNode.hypervisor_hostname.contains(hostname_pattern,
                                                                  autoescape=True))
        with self.db.session() as s:
            if marker is not None:
                after = s.scalar(select(ComputeNode.id).where(
                    ComputeNode.uuid == marker if by_uuid
                    else ComputeNode.id == (_id_in_text(marker) or -1)))
                if after is None:
                    raise errors.InvalidInput(f"marker [{marker}] not found")
                q = q.where(ComputeNode.id > after)
            if limit is not None:
                q = q.limit(limit)
            return self._nodes(s, s.scalars(q))

    def get_node(self, ctx: RequestContext, node_id: int | str,
                 rule: str = "show", by_uuid: bool = False) -> NodeView:
        """A hypervisor by id; an id given as text (as the client sent it) is read
        once policy allows the call, and one that is not an integer is not found.
        With ``by_uuid`` (Nova's 2.53 ids) it is a UUID, and InvalidInput if it
        does not look like one."""
        self.policy.enforce(f"os_compute_api:os-hypervisors:{rule}", {}, ctx)
        if by_uuid:
            require_uuid(str(node_id))
            where = ComputeNode.uuid == str(node_id)
        else:
            number = node_id if isinstance(node_id, int) else _id_in_text(node_id)
            where = ComputeNode.id == (number or -1)
        with self.db.session() as s:
            node = s.scalar(select(ComputeNode).where(where))
            views = self._nodes(s, [node] if node is not None else [])
        if not views:
            raise errors.NotFound(f"Hypervisor with ID '{node_id}' could not be found.")
        return views[0]

    def search(self, ctx: RequestContext, pattern: str, rule: str = "search"
               ) -> list[NodeView]:
        """Nodes whose hypervisor hostname contains ``pattern``; NotFound if none."""
        self.policy.enforce(f"os_compute_api:os-hypervisors:{rule}", {}, ctx)
        q = select(ComputeNode).where(ComputeNode.hypervisor_hostname.contains(
            pattern, autoescape=True)).order_by(ComputeNode.id)
        with self.db.session() as s:
            views = self._nodes(s, s.scalars(q))
        if not views:
            raise errors.NotFound(f"No hypervisor matching '{pattern}' could be found.")
        return views

    def servers_on(self, nodes: list[NodeView]) -> dict[int, list[tuple[str, str]]]:
        """(uuid, name) of the live servers on each node, by node id."""
        out: dict[int, list[tuple[str, str]]] = {v.node.id: [] for v in nodes}
        by_host = {v.node.host: v.node.id for v in nodes}
        if not by_host:
            return out
        with self.db.session() as s:
            for uuid, name, host in s.execute(
                    select(Instance.uuid, Instance.display_name, Instance.host).where(
                        Instance.host.in_(list(by_host)), Instance.deleted.is_(False))
                    .order_by(Instance.id)):
                out[by_host[host or ""]].append((uuid, name))
        return out

    def statistics(self, ctx: RequestContext) -> dict[str, int]:
        self.policy.enforce("os_compute_api:os-hypervisors:statistics", {}, ctx)
        with self.db.session() as s:
            nodes = [v.node for v in self._nodes(s, s.scalars(select(ComputeNode)))]
        totals = {key: sum(getattr(n, key) for n in nodes) for key in (
            "vcpus", "vcpus_used", "memory_mb", "memory_mb_used", "local_gb", "local_gb_used",
            "running_vms")}
        free_disk = sum(n.local_gb - n.local_gb_used for n in nodes)
        return {"count": len(nodes), **totals,
                "free_ram_mb": sum(n.memory_mb - n.memory_mb_used for n in nodes),
                "free_disk_gb": free_disk, "disk_available_least": free_disk,
                "current_workload": 0}

    # ---- availability zones ------------------------------------------------
    def zones(self, ctx: RequestContext, detail: bool = False) -> list[Zone]:
        """Zones of compute services: available if an enabled service is in it.
        The detailed form (admins) also has the ``internal`` zone of control
        services and every host's services."""
        rule = "detail" if detail else "list"
        self.policy.enforce(f"os_compute_api:os-availability-zone:{rule}", {}, ctx)
        with self.db.session() as s:
            services = self._services(s)
        zones: dict[str, Zone] = {}
        for view in services:
            if view.zone == INTERNAL_ZONE and not detail:
                continue
            zone = zones.get(view.zone)
            available = (view.zone == INTERNAL_ZONE or not view.service.disabled)
            if zone is None:
                zone = zones[view.zone] = Zone(view.zone, available, {})
            elif available and not zone.available:
                zone = zones[view.zone] = Zone(view.zone, True, zone.hosts)
            zone.hosts.setdefault(view.service.host, {})[view.service.binary] = view
        return sorted(zones.values(), key=lambda z: (z.name == INTERNAL_ZONE, z.name))
