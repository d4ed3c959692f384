"""ComputeCapabilitiesFilter: flavor extra_specs against what the host offers."""

from __future__ import annotations

from typing import Any

from core import extra_specs
from core.scheduler.filters.base import HostFilter
from core.scheduler.host_state import TRAIT_FIELDS, HostState
from core.scheduler.request_spec import RequestSpec

SCOPE = "capabilities"
# Host fields an extra spec may name besides the capabilities dict.
_HOST_FIELDS = frozenset(HostState.__dataclass_fields__) - {"capabilities", "traits"} | {
    "free_ram_mb", "free_disk_gb", "free_vcpus"}
# Of those, the ones that differ between hosts of equal traits (usage, names, ...).
_PER_HOST_FIELDS = _HOST_FIELDS - TRAIT_FIELDS


def _lookup(host_state: HostState, path: list[str]) -> Any:
    """The host's value at ``path``: first in its capabilities, then its fields
    (``hypervisor_type``, ``cpu_arch``, ...); nested dicts are walked by the rest."""
    first, rest = path[0], path[1:]
    if first in host_state.capabilities:
        value = host_state.capabilities[first]
    elif first in _HOST_FIELDS:
        value = getattr(host_state, first)
    else:
        return None
    for key in rest:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


class ComputeCapabilitiesFilter(HostFilter):
    """Passes hosts whose capabilities satisfy every flavor extra spec that is
    either scoped ``capabilities:`` or unscoped and names a host capability or
    field. Other scopes (``hw:``, ``quota:``, ...) are for other consumers and
    ignored, as Nova does; so is an unscoped key the host knows nothing about."""

    def applies_to(self, spec: RequestSpec) -> bool:
        return bool(spec.flavor.extra_specs)

    def traits_only(self, spec: RequestSpec) -> bool:
        """Unless an extra spec names a field of the host's own (``free_ram_mb``,
        ``host``, ...) rather than a capability or a trait."""
        for key in spec.flavor.extra_specs:
            scope = key.split(":")
            if len(scope) > 1:
                if scope[0] != SCOPE:
                    continue
                scope = scope[1:]
            if scope[0] in _PER_HOST_FIELDS:
                return False
        return True

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        for key, requirement in spec.flavor.extra_specs.items():
            scope = key.split(":")
            if len(scope) == 1:
                if _lookup(host_state, scope) is None:
                    continue
            elif scope[0] == SCOPE:
                scope = scope[1:]
            else:
                continue
            value = _lookup(host_state, scope)
            if value is None:
                return False
            if not extra_specs.match(str(value), requirement):
                return False
        return True
