"""DiskWeigher: prefers hosts with more free local disk (a negative multiplier stacks)."""

from __future__ import annotations

from core.scheduler.host_state import HostState
from core.scheduler.request_spec import RequestSpec
from core.scheduler.weighers.base import HostWeigher


class DiskWeigher(HostWeigher):
    """Raw weight: free disk in GiB, ``local_gb * disk_allocation_ratio - local_gb_used``."""

    def weigh(self, host_state: HostState, spec: RequestSpec) -> float:
        return host_state.free_disk_gb

    def weigh_all(self, hosts: list[HostState], spec: RequestSpec) -> list[float]:
        return [h.local_gb_limit - h.local_gb_used for h in hosts]
