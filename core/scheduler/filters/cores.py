"""CoreFilter: hosts with enough vCPUs left, counting the CPU allocation ratio."""

from __future__ import annotations

from core.scheduler.filters.base import HostFilter
from core.scheduler.host_state import HostState
from core.scheduler.request_spec import RequestSpec


class CoreFilter(HostFilter):
    """Passes when ``vcpus_used + flavor.vcpus <= vcpus * cpu_allocation_ratio``,
    the same condition the claim checks in the database."""

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        return host_state.vcpus_used + spec.flavor.vcpus <= host_state.vcpus_limit

    def filter_all(self, hosts: list[HostState], spec: RequestSpec) -> list[HostState]:
        need = spec.flavor.vcpus
        return [h for h in hosts if h.vcpus_used + need <= h.vcpus_limit]
