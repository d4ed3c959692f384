"""``GET /servers/{id}/topology`` (2.78; 404 below): the server's NUMA nodes, with
``host_node`` and ``cpu_pinning`` for callers policy
``compute:server:topology:host:index`` allows (admins)."""

from __future__ import annotations

from typing import Any

from core.compute.server_topology import ServerTopology, Topology
from gateway.openstack.compute import microversions
from gateway.openstack.compute.base import ComputeDeps, Handler

SINCE = (2, 78)


def topology_view(t: Topology) -> dict[str, Any]:
    nodes = []
    for n in t.nodes:
        node: dict[str, Any] = {"memory_mb": n.memory_mb, "siblings": n.siblings,
                                "vcpu_set": n.vcpu_set}
        if t.show_host:
            node["host_node"] = n.host_node
            node["cpu_pinning"] = n.cpu_pinning or {}
        nodes.append(node)
    return {"nodes": nodes, "pagesize_kb": t.pagesize_kb}


class ServerTopologyHandler(Handler):
    def __init__(self, deps: ComputeDeps) -> None:
        super().__init__(deps)
        self.topology: ServerTopology = deps.server_topology

    def index(self, server_id: str):
        microversions.require(SINCE)
        return topology_view(self.topology.get(self.context(), server_id))
