"""DiskFilter: hosts with enough local disk left, counting the disk allocation ratio."""

from __future__ import annotations

from core.scheduler.filters.base import HostFilter
from core.scheduler.host_state import HostState
from core.scheduler.request_spec import RequestSpec


class DiskFilter(HostFilter):
    """Passes when ``local_gb_used + disk <= local_gb * disk_allocation_ratio``, where
    disk is root + ephemeral + swap (rounded up to GiB), as the claim checks it."""

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        return host_state.local_gb_used + spec.flavor.disk_gb <= host_state.local_gb_limit

    def filter_all(self, hosts: list[HostState], spec: RequestSpec) -> list[HostState]:
        need = spec.flavor.disk_gb
        return [h for h in hosts if h.local_gb_used + need <= h.local_gb_limit]
