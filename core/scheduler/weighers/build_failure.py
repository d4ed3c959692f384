"""BuildFailureWeigher: keeps new instances away from hosts whose builds keep failing.

With Nova's multiplier of 1,000,000 it outweighs every other weigher: a host
with recent failed builds is only chosen when nothing better passed the filters.
"""

from __future__ import annotations

from core.scheduler.host_state import HostState
from core.scheduler.request_spec import RequestSpec
from core.scheduler.weighers.base import HostWeigher


class BuildFailureWeigher(HostWeigher):
    """Raw weight: minus the host's consecutive failed builds (reset by a success)."""

    def weigh(self, host_state: HostState, spec: RequestSpec) -> float:
        return -float(host_state.failed_builds)

    def weigh_all(self, hosts: list[HostState], spec: RequestSpec) -> list[float]:
        return [-float(h.failed_builds) for h in hosts]
