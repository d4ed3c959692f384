"""RamFilter: hosts with enough RAM left, counting the RAM allocation ratio."""

from __future__ import annotations

from core.scheduler.filters.base import HostFilter
from core.scheduler.host_state import HostState
from core.scheduler.request_spec import RequestSpec


class RamFilter(HostFilter):
    """Passes when ``memory_mb_used + flavor.memory_mb <= memory_mb * ram_allocation_ratio``,
    the same condition the claim checks in the database."""

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        return host_state.memory_mb_used + spec.flavor.memory_mb <= host_state.memory_mb_limit

    def filter_all(self, hosts: list[HostState], spec: RequestSpec) -> list[HostState]:
        need = spec.flavor.memory_mb
        return [h for h in hosts if h.memory_mb_used + need <= h.memory_mb_limit]
