"""AvailabilityZoneFilter: hosts in the zone the request asks for."""

from __future__ import annotations

from core.scheduler.filters.base import HostFilter
from core.scheduler.host_state import HostState
from core.scheduler.request_spec import RequestSpec


class AvailabilityZoneFilter(HostFilter):
    """Passes every host when the request names no zone; otherwise only hosts of
    that zone (hosts naming none are in ``default_availability_zone``)."""

    def applies_to(self, spec: RequestSpec) -> bool:
        return spec.availability_zone is not None

    def traits_only(self, spec: RequestSpec) -> bool:
        return True

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        if not spec.availability_zone:
            return True
        return host_state.availability_zone == spec.availability_zone
