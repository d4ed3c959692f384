"""Host weighers, registered by name; settings choose which run with what multiplier."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from core.scheduler.weighers.base import HostWeigher, normalize
from core.scheduler.weighers.build_failure import BuildFailureWeigher
from core.scheduler.weighers.cpu import CPUWeigher
from core.scheduler.weighers.disk import DiskWeigher
from core.scheduler.weighers.num_instances import NumInstancesWeigher
from core.scheduler.weighers.ram import RAMWeigher
from core.scheduler.weighers.server_group import (
    ServerGroupSoftAffinityWeigher,
    ServerGroupSoftAntiAffinityWeigher,
)
from core.settings import Settings

WEIGHERS: Mapping[str, type[HostWeigher]] = MappingProxyType({
    cls.__name__: cls for cls in (
        RAMWeigher, CPUWeigher, DiskWeigher, NumInstancesWeigher, BuildFailureWeigher,
        ServerGroupSoftAffinityWeigher, ServerGroupSoftAntiAffinityWeigher)
})

# The weigher each soft group policy brings along when settings do not list it.
SOFT_POLICY_WEIGHERS: Mapping[str, str] = MappingProxyType({
    "soft-affinity": "ServerGroupSoftAffinityWeigher",
    "soft-anti-affinity": "ServerGroupSoftAntiAffinityWeigher",
})
SOFT_POLICY_MULTIPLIER = 1.0


def build_weighers(pairs: Iterable[tuple[str, float]],
                   settings: Settings) -> list[tuple[HostWeigher, float]]:
    """(weigher, multiplier) for each configured NAME:MULTIPLIER, in order.

    Raises ValueError naming every unknown weigher.
    """
    pairs = list(pairs)
    unknown = [name for name, _ in pairs if name not in WEIGHERS]
    if unknown:
        raise ValueError(f"unknown scheduler weighers: {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(WEIGHERS))})")
    return [(WEIGHERS[name](settings), float(mult)) for name, mult in pairs]


__all__ = ["SOFT_POLICY_MULTIPLIER", "SOFT_POLICY_WEIGHERS", "WEIGHERS", "HostWeigher",
           "build_weighers", "normalize"]
