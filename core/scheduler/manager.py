"""The filter scheduler: filter hosts, weigh them, claim the best one atomically.

For each instance of a request, in order: the candidate hosts (all nodes, or
only ``force_host``, minus ``ignore_hosts``) go through the enabled filters;
the survivors are weighed (each weigher's raw values normalised to 0..1, times
its multiplier, summed); the scheduler claims the best host in the database
(random among the best ``host_subset_size``) and, should another scheduler have
taken the room meanwhile, drops that host and claims the next. The chosen host
comes back with up to ``max_attempts - 1`` alternates for rescheduling.

The host states live in memory (``core.scheduler.host_manager``), brought up
to date from the database's log of host changes at the start of each request;
each placement is also applied to them, so later instances of the request see
the earlier ones (an anti-affinity group spreads, an affinity group stacks).
Filters that read only a host's traits (zone, hypervisor, capabilities,
aggregates) are asked once per kind of host; the others, and the weighers, run
over the list at once (``filter_all``, ``weigh_all``).

A scheduler that has just started may find no host only because the hosts have
not reported since a restart of the whole cloud: while enabled hosts are down
(or none is known), a request that finds no host waits and tries again, until
``service_down_time`` after the scheduler's start, before it fails.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

from core.db import Database
from core.errors import CoreError
from core.placement import claims
from core.scheduler.filters import HostFilter, build_filters
from core.scheduler.host_manager import HostManager
from core.scheduler.host_state import HostState, load_spec_context
from core.scheduler.ranking import Ranking, scores
from core.scheduler.request_spec import RequestSpec, Selection
from core.scheduler.weighers import (
    SOFT_POLICY_MULTIPLIER,
    SOFT_POLICY_WEIGHERS,
    WEIGHERS,
    HostWeigher,
    build_weighers,
)
from core.settings import Settings

log = logging.getLogger(__name__)

RETRY_INTERVAL = 1.0  # seconds between tries while hosts are not yet reporting


class NoValidHost(CoreError):
    """No host passed the filters with room for one of the request's instances."""

    default_message = "No valid host was found. There are not enough hosts available."


def _now() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    """Chooses and claims hosts; safe to run in several processes at once."""

    def __init__(self, db: Database, settings: Settings, rng: random.Random | None = None,
                 clock: Callable[[], datetime] = _now) -> None:
        """Builds the filters and weighers the settings name; raises ValueError for
        a name that is not registered."""
        self.db = db
        self.settings = settings
        self.filters: list[HostFilter] = build_filters(settings.enabled_filters, settings)
        self.weighers: list[tuple[HostWeigher, float]] = build_weighers(
            settings.weigher_multipliers, settings)
        configured = {type(w).__name__ for w, _ in self.weighers}
        self.soft_weighers: dict[str, HostWeigher] = {
            policy: WEIGHERS[name](settings) for policy, name in SOFT_POLICY_WEIGHERS.items()
            if name not in configured}
        self.rng = rng or random.Random()
        self.clock = clock
        self.sleep: Callable[[float], None] = time.sleep
        self.started = clock()
        self.host_manager = HostManager(db, settings, clock)

    # ---- the RPC operation ---------------------------------------------
    def select_destinations(self, spec: RequestSpec) -> list[list[Selection]]:
        """``[chosen, *alternates]`` per instance uuid of ``spec``, in order.

        The chosen host's resources are claimed for the instance before this
        returns; alternates are not claimed. Raises NoValidHost when any instance
        finds no host, after releasing every claim this call made.
        """
        while True:
            hosts = self.host_manager.host_states()
            if spec.same_host or spec.different_host or spec.group_uuid:
                with self.db.session() as s:
                    load_spec_context(s, spec)
            try:
                return self.place(spec, hosts)
            except NoValidHost:
                wait = self._wait_for_hosts(hosts)
                if wait <= 0:
                    raise
                log.info("no valid host yet, but %s; trying again in %.1f s",
                         "no host has reported" if not hosts else "hosts are not reporting "
                         "since the start", wait)
                self.sleep(wait)

    def _wait_for_hosts(self, hosts: list[HostState]) -> float:
        """How long to wait before trying a request that found no host again: 0
        unless this scheduler started less than ``service_down_time`` ago and some
        enabled host is down (or none is known): it may be coming back."""
        left = (self.settings.service_down_time
                - (self.clock() - self.started).total_seconds())
        coming = not hosts or any(h.enabled and not h.up for h in hosts)
        return min(RETRY_INTERVAL, left) if coming and left > 0 else 0.0

    def place(self, spec: RequestSpec, hosts: list[HostState]) -> list[list[Selection]]:
        """``select_destinations`` on already loaded host states (which it updates)."""
        candidates = self.candidates(spec, hosts)
        forced = spec.force_host is not None
        full: set[int] = set()  # nodes whose claim failed: another scheduler filled them
        claimed: list[tuple[str, int]] = []
        results: list[list[Selection]] = []
        attempts = self.settings.max_attempts
        try:
            for uuid in spec.instance_uuids:
                usable = [h for h in candidates if h.node_id not in full] if full else candidates
                # A forced host skips the filters (as in Nova); the claim still checks room.
                passing = usable if forced else self.filter_hosts(usable, spec)
                ranking = self.rank_hosts(passing, spec, full)
                chosen = self._claim_best(uuid, spec, ranking, full)
                claimed.append((uuid, chosen.node_id))
                self.host_manager.consumed(chosen, spec.resources)
                if spec.group is not None:
                    spec.group.hosts[chosen.host] += 1
                alternates = [h for h in ranking.best(attempts) if h is not chosen]
                results.append([_selection(chosen),
                                *(_selection(h) for h in alternates[:attempts - 1])])
        except BaseException:
            for uuid, node_id in claimed:
                claims.release_resources(self.db, uuid, node_id, holder=spec.claim_holder)
            raise
        return results

    # ---- the steps -------------------------------------------------------
    def candidates(self, spec: RequestSpec, hosts: list[HostState]) -> list[HostState]:
        """The hosts a request may use at all: only ``force_host`` when given (or
        the requested host / node, which still go through the filters), never one
        of ``ignore_hosts`` (hosts already tried)."""
        ignored = set(spec.ignore_hosts)
        if spec.force_host is not None:
            return [h for h in hosts if h.host == spec.force_host and h.host not in ignored]
        if spec.requested_host is not None or spec.requested_node is not None:
            hosts = [h for h in hosts
                     if spec.requested_host in (None, h.host)
                     and spec.requested_node in (None, h.nodename)]
        if not ignored:
            return list(hosts)
        return [h for h in hosts if h.host not in ignored]

    def filter_hosts(self, hosts: list[HostState], spec: RequestSpec) -> list[HostState]:
        """The hosts passing every enabled filter, in the order given. The filters
        that read only traits go first, asked once per traits (hosts that share
        none are asked one by one); then the others, over the whole list."""
        applying = [f for f in self.filters if f.applies_to(spec)]
        alike = [f for f in applying if f.traits_only(spec)]
        passing = self._filter_by_traits(alike, hosts, spec) if alike else hosts
        for host_filter in applying:
            if not passing:
                break
            if host_filter in alike:
                continue
            before = len(passing)
            passing = host_filter.filter_all(passing, spec)
            if len(passing) < before:
                log.debug("%s: %d of %d hosts pass", type(host_filter).__name__,
                          len(passing), before)
        return passing

    @staticmethod
    def _filter_by_traits(filters: list[HostFilter], hosts: list[HostState],
                          spec: RequestSpec) -> list[HostState]:
        """``hosts`` that pass ``filters``, each asked once per traits (with one
        host that has them); hosts without traits are asked one by one."""
        def passes(h: HostState) -> bool:
            return all(f.host_passes(h, spec) for f in filters)

        alike = {h.traits: h for h in hosts}
        failing = {t for t, h in alike.items() if t is not None and not passes(h)}
        if None in alike:
            passing = [h for h in hosts if h.traits not in failing
                       and (h.traits is not None or passes(h))]
        elif failing:
            passing = [h for h in hosts if h.traits not in failing]
        else:
            return hosts
        if len(passing) < len(hosts):
            log.debug("%s: %d of %d hosts pass", ", ".join(type(f).__name__ for f in filters),
                      len(passing), len(hosts))
        return passing

    def weigh_hosts(self, hosts: list[HostState], spec: RequestSpec
                    ) -> list[tuple[HostState, float]]:
        """``(host, weight)`` best first: each weigher's values normalised to 0..1
        across ``hosts``, times its multiplier, summed. Ties keep the given order."""
        totals, offset = scores(self._weighers_for(spec), hosts, spec)
        order = sorted(range(len(hosts)), key=totals.__getitem__, reverse=True)
        return [(hosts[i], totals[i] - offset) for i in order]

    def rank_hosts(self, hosts: list[HostState], spec: RequestSpec,
                   full: set[int] | None = None) -> Ranking:
        """``hosts`` weighed as ``weigh_hosts`` does, put in order as far as the
        claim and the alternates need (leaving out the nodes in ``full``)."""
        totals, _ = scores(self._weighers_for(spec), hosts, spec)
        return Ranking(hosts, totals, set() if full is None else full,
                       self.settings.host_subset_size + self.settings.max_attempts)

    def _weighers_for(self, spec: RequestSpec) -> list[tuple[HostWeigher, float]]:
        if spec.group is not None and spec.group.policy in self.soft_weighers:
            return [*self.weighers,
                    (self.soft_weighers[spec.group.policy], SOFT_POLICY_MULTIPLIER)]
        return self.weighers

    def _claim_best(self, uuid: str, spec: RequestSpec, ranking: Ranking,
                    full: set[int]) -> HostState:
        """Claim the best host (at random among the best ``host_subset_size``);
        a host whose claim fails (its room went to another scheduler since the
        host states were read) joins ``full`` and the next is tried."""
        subset = self.settings.host_subset_size
        while True:
            window = ranking.best(subset)
            if not window:
                log.info("no valid host for %s", uuid)
                raise NoValidHost(instance_uuid=uuid)
            best = self.rng.choice(window) if subset > 1 else window[0]
            if claims.claim_resources(self.db, uuid, best.node_id, spec.resources,
                                      spec.project_id, holder=spec.claim_holder):
                return best
            log.info("claim for %s on %s lost a race; trying the next host", uuid, best.host)
            self.host_manager.claim_failed(best)
            full.add(best.node_id)


def _selection(h: HostState) -> Selection:
    return Selection(host=h.host, nodename=h.nodename, node_id=h.node_id,
                     node_uuid=h.node_uuid, availability_zone=h.availability_zone)
