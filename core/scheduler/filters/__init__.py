"""Host filters, registered by name; settings choose which run and in what order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from core.scheduler.filters.affinity import DifferentHostFilter, SameHostFilter
from core.scheduler.filters.aggregate_instance_extra_specs import (
    AggregateInstanceExtraSpecsFilter,
)
from core.scheduler.filters.availability_zone import AvailabilityZoneFilter
from core.scheduler.filters.base import HostFilter
from core.scheduler.filters.compute import ComputeFilter
from core.scheduler.filters.compute_capabilities import ComputeCapabilitiesFilter
from core.scheduler.filters.cores import CoreFilter
from core.scheduler.filters.disk import DiskFilter
from core.scheduler.filters.image_properties import ImagePropertiesFilter
from core.scheduler.filters.num_instances import NumInstancesFilter
from core.scheduler.filters.ram import RamFilter
from core.scheduler.filters.server_group import (
    ServerGroupAffinityFilter,
    ServerGroupAntiAffinityFilter,
)
from core.settings import Settings

FILTERS: Mapping[str, type[HostFilter]] = MappingProxyType({
    cls.__name__: cls for cls in (
        ComputeFilter, AvailabilityZoneFilter, RamFilter, CoreFilter, DiskFilter,
        ImagePropertiesFilter, ComputeCapabilitiesFilter, ServerGroupAffinityFilter,
        ServerGroupAntiAffinityFilter, SameHostFilter, DifferentHostFilter,
        NumInstancesFilter, AggregateInstanceExtraSpecsFilter)
})


def build_filters(names: Iterable[str], settings: Settings) -> list[HostFilter]:
    """Instances of the named filters, in the order given.

    Raises ValueError naming every unknown filter.
    """
    names = list(names)
    unknown = [n for n in names if n not in FILTERS]
    if unknown:
        raise ValueError(f"unknown scheduler filters: {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(FILTERS))})")
    return [FILTERS[n](settings) for n in names]


__all__ = ["FILTERS", "HostFilter", "build_filters"]
