"""Weighing the hosts that passed the filters, and putting the best first.

Each weigher's raw values are normalised to 0..1 across the hosts, multiplied
by its multiplier and summed, as Nova does. A request claims the best host and
names a few alternates, so only the best few are put in order
(``heapq.nlargest``: the same hosts in the same order as the head of a full
sort, ties in the given order); the rest are sorted only if all of those lose
their claims to other schedulers.
"""

from __future__ import annotations

import heapq
from itertools import repeat
from operator import add, mul

from core.scheduler.host_state import HostState
from core.scheduler.request_spec import RequestSpec
from core.scheduler.weighers import HostWeigher


def scores(weighers: list[tuple[HostWeigher, float]], hosts: list[HostState],
           spec: RequestSpec) -> tuple[list[float], float]:
    """``(scores, offset)``: each host's weight is its score minus ``offset``,
    the sum over ``weighers`` of multiplier times the raw weight normalised to
    0..1 across ``hosts`` (all equal: 0).

    m * (v - low) / (high - low) is c * v - c * low with c = m / (high - low):
    the scores sum c * v, two operations a host and weigher, looped in C (at
    10,000 hosts this is the largest part of a decision); the constants go
    into ``offset``, which does not change the order."""
    totals: list[float] = [0.0] * len(hosts)
    offset = 0.0
    if len(hosts) < 2:
        return totals, offset
    for weigher, multiplier in weighers:
        if multiplier == 0.0:
            continue
        raw = weigher.weigh_all(hosts, spec)
        low, high = min(raw), max(raw)
        if high == low:
            continue
        scale = multiplier / (high - low)
        totals = list(map(add, totals, map(mul, raw, repeat(scale))))
        offset += scale * low
    return totals, offset


class Ranking:
    """``hosts`` best first by ``totals`` (scores or weights), leaving out the nodes in ``full``
    (a set the caller adds to as claims fail); put in order as far as asked."""

    def __init__(self, hosts: list[HostState], totals: list[float], full: set[int],
                 expected: int) -> None:
        """``expected``: how many of the best are likely to be asked for."""
        self._hosts = hosts
        self._totals = totals
        self._full = full
        count = len(hosts)
        if expected < count // 4:
            self._order = heapq.nlargest(expected, range(count), key=totals.__getitem__)
            self._complete = False
        else:
            self._order = self._sorted()
            self._complete = True

    def _sorted(self) -> list[int]:
        return sorted(range(len(self._hosts)), key=self._totals.__getitem__, reverse=True)

    def best(self, count: int) -> list[HostState]:
        """The best ``count`` hosts not in ``full`` (fewer when fewer are left)."""
        out: list[HostState] = []
        for i in self._order:
            host = self._hosts[i]
            if host.node_id not in self._full:
                out.append(host)
                if len(out) == count:
                    return out
        if not self._complete:
            self._order = self._sorted()
            self._complete = True
            return self.best(count)
        return out
