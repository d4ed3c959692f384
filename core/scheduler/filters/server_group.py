"""ServerGroupAffinityFilter and ServerGroupAntiAffinityFilter: hard group policies.

The soft policies never filter; their weighers prefer hosts instead.
"""

from __future__ import annotations

from core.scheduler.filters.base import HostFilter
from core.scheduler.host_state import HostState
from core.scheduler.request_spec import RequestSpec


class _GroupPolicyFilter(HostFilter):
    policy = ""

    def applies_to(self, spec: RequestSpec) -> bool:
        return spec.group is not None and spec.group.policy == self.policy


class ServerGroupAffinityFilter(_GroupPolicyFilter):
    """For an ``affinity`` group: once any member has a host, only hosts that
    already run members pass (the first member may go anywhere)."""

    policy = "affinity"

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        group = spec.group
        if group is None or group.policy != self.policy or not group.hosts:
            return True
        return group.hosts[host_state.host] > 0


class ServerGroupAntiAffinityFilter(_GroupPolicyFilter):
    """For an ``anti-affinity`` group: hosts running fewer members than the group's
    ``max_server_per_host`` rule (1 unless set)."""

    policy = "anti-affinity"

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        group = spec.group
        if group is None or group.policy != self.policy:
            return True
        limit = int(group.rules.get("max_server_per_host") or 1)
        return group.hosts[host_state.host] < limit
