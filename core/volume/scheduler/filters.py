"""The volume scheduler's filters (Cinder's defaults), registered by name;
settings choose which run, in order."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from core.extra_specs import CINDER, match
from core.settings import Settings
from core.volume.scheduler.pool_state import PoolState, VolumeRequest

log = logging.getLogger(__name__)


class PoolFilter:
    """Decides whether one pool may take one request. Built once per scheduler
    from the settings; keeps no state between calls."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def pool_passes(self, pool: PoolState, request: VolumeRequest) -> bool:
        raise NotImplementedError


class AvailabilityZoneFilter(PoolFilter):
    """The pool's zone is one the request allows (none named: any)."""

    def pool_passes(self, pool: PoolState, request: VolumeRequest) -> bool:
        zones = request.availability_zones
        return not zones or pool.availability_zone in zones


class CapacityFilter(PoolFilter):
    """Room for the request, thin or thick, as Cinder's CapacityFilter reckons it."""

    def pool_passes(self, pool: PoolState, request: VolumeRequest) -> bool:
        requested = request.size
        if requested <= 0:
            return True
        if pool.unlimited:
            return pool.reserved_percentage == 0
        if pool.total_capacity_gb <= 0:
            return False
        thin = request.thin
        mosr = pool.max_over_subscription_ratio
        virtual_free = pool.virtual_free(thin)
        if thin and pool.thin_provisioning_support:
            if mosr < 1:
                return False
            ratio = (pool.provisioned_capacity_gb + requested) / pool.total_available(thin)
            if ratio > mosr:
                return False
        return virtual_free >= requested


def _lookup(capabilities: Mapping[str, Any], path: list[str]) -> tuple[bool, Any]:
    value: Any = capabilities
    for part in path:
        if not isinstance(value, Mapping) or part not in value:
            return False, None
        value = value[part]
    return True, value


class CapabilitiesFilter(PoolFilter):
    """Every extra spec of the volume type (unscoped, or scoped ``capabilities:``)
    is met by the pool's capabilities; other scopes are for others."""

    def pool_passes(self, pool: PoolState, request: VolumeRequest) -> bool:
        for key, requirement in request.extra_specs.items():
            scope = key.split(":")
            if len(scope) > 1:
                if scope[0] != "capabilities":
                    continue
                scope = scope[1:]
            found, value = _lookup(pool.capabilities, scope)
            if not found:
                return False
            values = value if isinstance(value, list) else [value]
            if not any(match(v, str(requirement), CINDER) for v in values):
                return False
        if request.extend and request.attached:
            return bool(pool.capabilities.get("online_extend_support", True))
        return True


FILTERS: Mapping[str, type[PoolFilter]] = MappingProxyType({
    cls.__name__: cls for cls in (AvailabilityZoneFilter, CapacityFilter, CapabilitiesFilter)})


def build_filters(names: Iterable[str], settings: Settings) -> list[PoolFilter]:
    """The named filters, in order; ValueError naming every unknown one."""
    names = list(names)
    unknown = [n for n in names if n not in FILTERS]
    if unknown:
        raise ValueError(f"unknown volume scheduler filters: {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(FILTERS))})")
    return [FILTERS[n](settings) for n in names]


def filter_pools(filters: list[PoolFilter], pools: Iterable[PoolState],
                 request: VolumeRequest) -> list[PoolState]:
    """The pools every filter passes."""
    passed = list(pools)
    for f in filters:
        before = len(passed)
        passed = [p for p in passed if f.pool_passes(p, request)]
        log.debug("%s: %d of %d pools passed", type(f).__name__, len(passed), before)
    return passed
