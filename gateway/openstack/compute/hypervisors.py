"""``os-hypervisors``, per microversion as Nova serves it:

- 2.28: ``cpu_info`` is a JSON object (a JSON string before);
- 2.33: ``limit`` / ``marker`` paging and ``hypervisors_links``;
- 2.53: ids (of hypervisors and their services) are UUIDs, and a path id that
  is not one is a 400; ``hypervisor_hostname_pattern`` and ``with_servers``
  become list query parameters (others are refused), and the ``search`` and
  ``servers`` paths are gone (404);
- 2.75: ``with_servers`` always shows ``servers`` (empty when there are none);
- 2.88: the resource fields (vcpus, memory, disk, running_vms, ...) are gone,
  the detailed view gains ``uptime``, and ``statistics`` and ``{id}/uptime``
  are gone (404).
"""

from __future__ import annotations

import datetime
import json
from typing import Any
from urllib.parse import urlencode

from connexion import request

from core import errors
from core.clock import utcnow
from core.compute.hosts import NodeView
from gateway.openstack.compute import microversions
from gateway.openstack.compute.base import Handler, parse_bool, query_int
from gateway.openstack.compute.microversions import APIVersion

RESOURCE_FIELDS_GONE = (2, 88)
UUID_IDS = (2, 53)
LIST_QUERY_253 = frozenset({"hypervisor_hostname_pattern", "with_servers", "limit", "marker"})


def _only_query(allowed: frozenset[str]) -> None:
    """Nova's 2.53 query schemas: no parameters beyond ``allowed`` (400)."""
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise errors.InvalidInput(f"Invalid input for query parameters {unknown[0]}. "
                                  "Additional properties are not allowed "
                                  f"('{unknown[0]}' was unexpected)")


def uptime_text(node: NodeView, now: datetime.datetime | None = None) -> str:
    """What ``uptime`` prints, for a simulated host up since it registered."""
    now = now or utcnow()
    up = now - node.node.created_at
    days, rest = divmod(int(up.total_seconds()), 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    return (f" {now:%H:%M:%S} up {days} days, {hours:2d}:{minutes:02d},  0 users,  "
            "load average: 0.00, 0.00, 0.00")


def cpu_info(v: NodeView) -> dict[str, Any]:
    n = v.node
    return {"arch": n.architecture, "model": "nimbus-virtual", "vendor": "Nimbus",
            "features": [], "topology": {"cores": n.vcpus, "threads": 1, "sockets": 1}}


def hypervisor(v: NodeView, detail: bool, mv: APIVersion) -> dict[str, Any]:
    n, svc = v.node, v.service
    uuids = mv >= UUID_IDS
    out: dict[str, Any] = {"id": n.uuid if uuids else n.id,
                           "hypervisor_hostname": n.hypervisor_hostname,
                           "state": "up" if svc.up else "down",
                           "status": "disabled" if svc.service.disabled else "enabled"}
    if not detail:
        return out
    out.update({
        "hypervisor_type": n.hypervisor_type, "hypervisor_version": n.hypervisor_version,
        "host_ip": n.host_ip,
        "service": {"host": svc.service.host,
                    "id": svc.service.uuid if uuids else svc.service.id,
                    "disabled_reason": svc.service.disabled_reason}})
    if mv >= RESOURCE_FIELDS_GONE:
        # Nova asks the host; a host that is down has no uptime to tell.
        out["uptime"] = uptime_text(v) if svc.up else None
        return out
    free_disk = n.local_gb - n.local_gb_used
    info = cpu_info(v)
    out.update({
        "vcpus": n.vcpus, "vcpus_used": n.vcpus_used, "memory_mb": n.memory_mb,
        "memory_mb_used": n.memory_mb_used, "free_ram_mb": n.memory_mb - n.memory_mb_used,
        "local_gb": n.local_gb, "local_gb_used": n.local_gb_used,
        "free_disk_gb": free_disk, "disk_available_least": free_disk,
        "running_vms": n.running_vms, "current_workload": 0,
        "cpu_info": info if mv >= (2, 28) else json.dumps(info)})
    return out


class Hypervisors(Handler):
    def _with_servers(self, nodes: list[NodeView], out: list[dict[str, Any]],
                      mv: APIVersion) -> None:
        servers = self.deps.hosts.servers_on(nodes)
        for node, entry in zip(nodes, out, strict=True):
            found = servers[node.node.id]
            if found or mv >= (2, 75):  # Nova left the key out when empty until 2.75
                entry["servers"] = [{"uuid": u, "name": name} for u, name in found]

    def _list(self, detail: bool) -> dict[str, Any]:
        mv = microversions.current()
        ctx = self.context()
        pattern = limit = marker = None
        with_servers = False
        if mv >= UUID_IDS:
            _only_query(LIST_QUERY_253)
            pattern = self.query("hypervisor_hostname_pattern")
            raw = self.query("with_servers")
            with_servers = raw is not None and parse_bool(raw, "with_servers")
        if mv >= (2, 33):
            limit, marker = query_int("limit"), self.query("marker")
        if pattern is not None and (limit is not None or marker is not None):
            raise errors.InvalidInput("Paging over hypervisors with the "
                                      "hypervisor_hostname_pattern query parameter is not "
                                      "supported.")
        # Nova: no limit (or 0) means the largest page
        page = min(limit or self.deps.settings.max_limit, self.deps.settings.max_limit) \
            if mv >= (2, 33) else None
        nodes = self.deps.hosts.list_nodes(ctx, detail, pattern, page, marker,
                                           by_uuid=mv >= UUID_IDS)
        if pattern is not None and not nodes:
            raise errors.NotFound(f"No hypervisor matching '{pattern}' could be found.")
        items = [hypervisor(n, detail, mv) for n in nodes]
        if with_servers:
            self._with_servers(nodes, items, mv)
        out: dict[str, Any] = {"hypervisors": items}
        if page is not None and items and len(items) >= page:
            params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
            path = "os-hypervisors/detail" if detail else "os-hypervisors"
            out["hypervisors_links"] = [{"rel": "next", "href": f"{self.deps.base}/v2.1/{path}?"
                                         + urlencode([*params, ("marker", items[-1]["id"])])}]
        return out

    def list(self, **_: Any):
        return self._list(detail=False)

    def detail(self, **_: Any):
        return self._list(detail=True)

    def show(self, hypervisor_id: str, **_: Any):
        mv = microversions.current()
        if mv >= UUID_IDS:
            _only_query(frozenset({"with_servers"}))
        node = self.deps.hosts.get_node(self.context(), hypervisor_id, by_uuid=mv >= UUID_IDS)
        out = hypervisor(node, True, mv)
        raw = self.query("with_servers") if mv >= UUID_IDS else None
        if raw is not None and parse_bool(raw, "with_servers"):
            self._with_servers([node], [out], mv)
        return {"hypervisor": out}

    def uptime(self, hypervisor_id: str):
        microversions.require((2, 1), (2, 87))
        mv = microversions.current()
        node = self.deps.hosts.get_node(self.context(), hypervisor_id, "uptime",
                                        by_uuid=mv >= UUID_IDS)
        return {"hypervisor": {**hypervisor(node, False, mv), "uptime": uptime_text(node)}}

    def search(self, hypervisor_hostname_pattern: str):
        microversions.require((2, 1), (2, 52))
        nodes = self.deps.hosts.search(self.context(), hypervisor_hostname_pattern)
        mv = microversions.current()
        return {"hypervisors": [hypervisor(n, False, mv) for n in nodes]}

    def servers(self, hypervisor_hostname_pattern: str):
        microversions.require((2, 1), (2, 52))
        hosts = self.deps.hosts
        nodes = hosts.search(self.context(), hypervisor_hostname_pattern, "servers")
        mv = microversions.current()
        items = [hypervisor(n, False, mv) for n in nodes]
        self._with_servers(nodes, items, mv)
        return {"hypervisors": items}

    def statistics(self):
        microversions.require((2, 1), (2, 87))
        return {"hypervisor_statistics": self.deps.hosts.statistics(self.context())}
