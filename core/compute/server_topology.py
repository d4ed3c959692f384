"""A server's NUMA topology (Nova's ``GET /servers/{id}/topology``, 2.78): the
guest's NUMA cells with their CPUs and memory, and, for callers the host policy
allows, where each cell sits on the host. The simulated hypervisor places no
guest on NUMA cells (no flavor asks for ``hw:numa_nodes`` or CPU pinning), so
every server has no topology: Nova's answer for that is no nodes and no page
size."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.compute.servers import ServerService
from core.context import RequestContext
from core.policy import PolicyEnforcer

RULE = "compute:server:topology:index"
HOST_RULE = "compute:server:topology:host:index"


@dataclass(frozen=True)
class NumaNode:
    """One guest NUMA cell (host fields only for callers allowed to see them)."""

    memory_mb: int
    siblings: list[list[int]]
    vcpu_set: list[int]
    host_node: int | None = None
    cpu_pinning: dict[str, int] | None = None


@dataclass(frozen=True)
class Topology:
    nodes: list[NumaNode] = field(default_factory=list)
    pagesize_kb: int | None = None
    show_host: bool = False


class ServerTopology:
    def __init__(self, servers: ServerService, policy: PolicyEnforcer) -> None:
        self.servers = servers
        self.policy = policy

    def get(self, ctx: RequestContext, uuid: str) -> Topology:
        inst = self.servers.get(ctx, uuid, RULE)
        target: dict[str, Any] = {"project_id": inst.project_id}
        show_host = self.policy.authorize(HOST_RULE, target, ctx.policy_credentials())
        # no instance has a NUMA topology on the simulated hosts
        return Topology(nodes=[], pagesize_kb=None, show_host=show_host)
