"""NumInstancesFilter: hosts running fewer than ``max_instances_per_host`` instances."""

from __future__ import annotations

from core.scheduler.filters.base import HostFilter
from core.scheduler.host_state import HostState
from core.scheduler.request_spec import RequestSpec
from core.settings import Settings


class NumInstancesFilter(HostFilter):
    """Passes hosts with room for one more instance under the configured limit."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.max_instances = settings.max_instances_per_host

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        return host_state.num_instances < self.max_instances

    def filter_all(self, hosts: list[HostState], spec: RequestSpec) -> list[HostState]:
        limit = self.max_instances
        return [h for h in hosts if h.num_instances < limit]
