"""SameHostFilter and DifferentHostFilter: the ``same_host`` / ``different_host`` hints."""

from __future__ import annotations

from core.scheduler.filters.base import HostFilter
from core.scheduler.host_state import HostState
from core.scheduler.request_spec import RequestSpec


def _hosts_of(spec: RequestSpec, uuids: list[str]) -> set[str]:
    return {spec.instance_hosts[u] for u in uuids if u in spec.instance_hosts}


class SameHostFilter(HostFilter):
    """With a ``same_host`` hint, only hosts running at least one of the named
    instances pass (none pass when none of them has a host)."""

    def applies_to(self, spec: RequestSpec) -> bool:
        return bool(spec.same_host)

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        uuids = spec.same_host
        if not uuids:
            return True
        return host_state.host in _hosts_of(spec, uuids)


class DifferentHostFilter(HostFilter):
    """With a ``different_host`` hint, only hosts running none of the named
    instances pass."""

    def applies_to(self, spec: RequestSpec) -> bool:
        return bool(spec.different_host)

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        uuids = spec.different_host
        if not uuids:
            return True
        return host_state.host not in _hosts_of(spec, uuids)
