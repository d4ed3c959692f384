"""ComputeFilter: only hosts whose compute service is enabled and up."""

from __future__ import annotations

from core.scheduler.filters.base import HostFilter
from core.scheduler.host_state import HostState
from core.scheduler.request_spec import RequestSpec


class ComputeFilter(HostFilter):
    """Rejects hosts whose service is disabled, forced down or has not reported
    within ``service_down_time`` (worked out when the host states are loaded)."""

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        return host_state.enabled and host_state.up
