"""CoreFilter: hosts with enough vCPUs left, counting the CPU allocation ratio."""

from __future__ import annotations

from core.scheduler.filters.base import HostFilter
from core.scheduler.host_state import HostState
from core.scheduler.request_spec import RequestSpec


class CoreFilter(HostFilter):
    """Passes when ``vcpus_used + flavor.vcpus <= vcpus * cpu_allocation_ratio``,
    the same condition the claim checks in the database."""

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        limit = host_state.vcpus_total * host_state.cpu_allocation_ratio
        return host_state.vcpus_used + spec.flavor.vcpus <= limit
