"""ComputeFilter: only hosts whose compute service is enabled and up."""

from __future__ import annotations

from core.scheduler.filters.base import HostFilter
from core.scheduler.host_state import HostState
from core.scheduler.request_spec import RequestSpec


class ComputeFilter(HostFilter):
    """Rejects hosts whose service is disabled, forced down or has not reported
    within ``service_down_time`` (as the host manager last found)."""

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        return host_state.enabled and host_state.up

    def filter_all(self, hosts: list[HostState], spec: RequestSpec) -> list[HostState]:
        return [h for h in hosts if h.enabled and h.up]
