"""RAMWeigher: prefers hosts with more free RAM (a negative multiplier stacks)."""

from __future__ import annotations

from core.scheduler.host_state import HostState
from core.scheduler.request_spec import RequestSpec
from core.scheduler.weighers.base import HostWeigher


class RAMWeigher(HostWeigher):
    """Raw weight: free RAM in MiB, ``memory_mb * ram_allocation_ratio - memory_mb_used``."""

    def weigh(self, host_state: HostState, spec: RequestSpec) -> float:
        return host_state.free_ram_mb

    def weigh_all(self, hosts: list[HostState], spec: RequestSpec) -> list[float]:
        return [h.memory_mb_limit - h.memory_mb_used for h in hosts]
