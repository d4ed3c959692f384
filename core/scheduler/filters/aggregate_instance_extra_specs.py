"""AggregateInstanceExtraSpecsFilter: flavor extra specs against the metadata of
the host's aggregates (not enabled by default, as in Nova)."""

from __future__ import annotations

from core import extra_specs
from core.scheduler.filters.base import HostFilter
from core.scheduler.host_state import HostState
from core.scheduler.request_spec import RequestSpec

SCOPE = "aggregate_instance_extra_specs"


class AggregateInstanceExtraSpecsFilter(HostFilter):
    """Passes hosts whose aggregates' metadata satisfy every flavor extra spec
    scoped ``aggregate_instance_extra_specs:`` or unscoped (Nova checks unscoped
    keys too); specs of other scopes are ignored. A key no aggregate of the host
    sets fails the host; with several values, one match is enough."""

    def applies_to(self, spec: RequestSpec) -> bool:
        return bool(spec.flavor.extra_specs)

    def traits_only(self, spec: RequestSpec) -> bool:
        return True

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        for key, requirement in spec.flavor.extra_specs.items():
            scope, _, rest = key.partition(":")
            if rest:
                if scope != SCOPE:
                    continue
                key = rest
            values = host_state.aggregate_metadata.get(key)
            if not values:
                return False
            if not any(extra_specs.match(v, str(requirement)) for v in values):
                return False
        return True
