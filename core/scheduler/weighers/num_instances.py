"""NumInstancesWeigher: weighs hosts by how many instances they run.

Its default multiplier is 0 (off); a negative one prefers emptier hosts, a
positive one packs instances onto busy hosts.
"""

from __future__ import annotations

from core.scheduler.host_state import HostState
from core.scheduler.request_spec import RequestSpec
from core.scheduler.weighers.base import HostWeigher


class NumInstancesWeigher(HostWeigher):
    """Raw weight: the number of instances on the host."""

    def weigh(self, host_state: HostState, spec: RequestSpec) -> float:
        return float(host_state.num_instances)

    def weigh_all(self, hosts: list[HostState], spec: RequestSpec) -> list[float]:
        return [float(h.num_instances) for h in hosts]
