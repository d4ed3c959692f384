"""The contract every weigher meets, and how raw weights become comparable."""

from __future__ import annotations

from collections.abc import Sequence

from core.scheduler.host_state import HostState
from core.scheduler.request_spec import RequestSpec
from core.settings import Settings


class HostWeigher:
    """Gives a host a raw weight for one request; higher is better.

    Raw values are normalised across the candidate hosts (``normalize``) before
    the scheduler multiplies them by the weigher's multiplier, so a weigher only
    has to say which host it prefers, not by how many units.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def weigh(self, host_state: HostState, spec: RequestSpec) -> float:
        """The raw weight of ``host_state`` for one instance of ``spec``."""
        raise NotImplementedError

    def weigh_all(self, hosts: list[HostState], spec: RequestSpec) -> list[float]:
        """The raw weight of each of ``hosts``, in order (as Nova's
        ``weigh_objects``). A weigher of every host of a large cloud says the
        same in one expression."""
        return [self.weigh(h, spec) for h in hosts]


def normalize(values: Sequence[float]) -> list[float]:
    """Min-max scale ``values`` to 0..1; all equal (or none) gives all 0, as in Nova."""
    if not values:
        return []
    low, high = min(values), max(values)
    if high == low:
        return [0.0] * len(values)
    span = high - low
    return [(v - low) / span for v in values]
