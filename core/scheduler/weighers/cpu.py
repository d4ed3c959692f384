"""CPUWeigher: prefers hosts with more free vCPUs (a negative multiplier stacks)."""

from __future__ import annotations

from core.scheduler.host_state import HostState
from core.scheduler.request_spec import RequestSpec
from core.scheduler.weighers.base import HostWeigher


class CPUWeigher(HostWeigher):
    """Raw weight: ``vcpus * cpu_allocation_ratio - vcpus_used``."""

    def weigh(self, host_state: HostState, spec: RequestSpec) -> float:
        return host_state.free_vcpus

    def weigh_all(self, hosts: list[HostState], spec: RequestSpec) -> list[float]:
        return [h.vcpus_limit - h.vcpus_used for h in hosts]
