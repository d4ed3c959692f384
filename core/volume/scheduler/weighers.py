"""CapacityWeigher: prefer the pool with the most virtual free capacity (a
negative multiplier stacks instead), raw weights normalised to 0..1."""

from __future__ import annotations

import math
from collections.abc import Sequence

from core.volume.scheduler.pool_state import PoolState, VolumeRequest


def normalize(values: Sequence[float]) -> list[float]:
    """Min-max scale to 0..1; all equal (or none) gives all 0. An infinite value
    counts as the largest finite one plus one."""
    if not values:
        return []
    finite = [v for v in values if not math.isinf(v)]
    top = (max(finite) + 1) if finite else 1.0
    bottom = (min(finite) - 1) if finite else 0.0
    values = [top if v == math.inf else bottom if v == -math.inf else v for v in values]
    low, high = min(values), max(values)
    if high == low:
        return [0.0] * len(values)
    return [(v - low) / (high - low) for v in values]


class CapacityWeigher:
    def __init__(self, multiplier: float = 1.0) -> None:
        self.multiplier = multiplier

    def raw(self, pool: PoolState, request: VolumeRequest) -> float:
        if pool.unlimited:
            return -1.0 if self.multiplier >= 0 else math.inf
        return pool.virtual_free(request.thin)

    def weigh(self, pools: Sequence[PoolState], request: VolumeRequest
              ) -> list[tuple[float, PoolState]]:
        """(weight, pool), best first; equal weights keep the pools' order."""
        weights = normalize([self.raw(p, request) for p in pools])
        ranked = [(w * self.multiplier, i, p) for i, (w, p) in enumerate(zip(weights, pools,
                                                                             strict=True))]
        ranked.sort(key=lambda t: (-t[0], t[1]))
        return [(w, p) for w, _, p in ranked]
