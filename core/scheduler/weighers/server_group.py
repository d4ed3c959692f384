"""ServerGroupSoftAffinityWeigher and ServerGroupSoftAntiAffinityWeigher.

The soft group policies filter nothing; they prefer hosts instead. The scheduler
adds the matching weigher (multiplier 1.0 unless settings give one) whenever the
request's group has a soft policy.
"""

from __future__ import annotations

from core.scheduler.host_state import HostState
from core.scheduler.request_spec import RequestSpec
from core.scheduler.weighers.base import HostWeigher


class _SoftGroupWeigher(HostWeigher):
    policy = ""

    def members_on(self, host_state: HostState, spec: RequestSpec) -> float:
        group = spec.group
        if group is None or group.policy != self.policy:
            return 0.0
        return float(group.hosts[host_state.host])


class ServerGroupSoftAffinityWeigher(_SoftGroupWeigher):
    """Raw weight: members of a ``soft-affinity`` group already on the host."""

    policy = "soft-affinity"

    def weigh(self, host_state: HostState, spec: RequestSpec) -> float:
        return self.members_on(host_state, spec)


class ServerGroupSoftAntiAffinityWeigher(_SoftGroupWeigher):
    """Raw weight: minus the members of a ``soft-anti-affinity`` group on the host."""

    policy = "soft-anti-affinity"

    def weigh(self, host_state: HostState, spec: RequestSpec) -> float:
        return -self.members_on(host_state, spec)
