"""The host states one scheduler process keeps in memory, as Nova's HostManager.

Every node is loaded once (and again every ``RESYNC_INTERVAL`` seconds, a safety
net for a change written around the log); then each decision first reads the
host changes log (``core.placement.changes``) past the last entry seen and
reloads only the nodes it names: this and other schedulers' claims, releases,
agents' reports, services enabled, disabled, forced down or deleted, aggregates.
Whether a host is up is asked per decision too: the database lists the hosts
whose heartbeat is older than ``service_down_time`` (an indexed read of the
few that are down), and only hosts whose answer changed are touched.

The claim stays one statement in the database that re-checks the room left, so
a stale view never over-commits: at worst a claim meets a host another
scheduler filled meanwhile, fails, and the next host is tried (the filled one
is reloaded at the next refresh); or a host that has room again is passed over
until the change is read at the next decision.

Hosts whose zone, hypervisor, capabilities and aggregate metadata are equal get
the same ``traits`` number, so filters that read only those are asked once per
kind of host rather than once per host.

Thread-safe: the consumers of one process share one manager. Refreshes and the
accounting of claims take its lock; a reloaded node gets a new HostState, so a
decision under way keeps reading the states it started with.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from core.db import Database
from core.placement.changes import ChangeCursor, prune_changes
from core.scheduler.host_state import HostState, hosts_not_reporting, load_host_rows
from core.settings import Settings

log = logging.getLogger(__name__)

RESYNC_INTERVAL = 300.0  # seconds between full loads
RETAIN = 3600.0          # seconds of log kept (more than RESYNC_INTERVAL: see _prune)
PRUNE_INTERVAL = 60.0    # seconds between prunes of the log by one scheduler
RELOAD_ALL_SHARE = 0.25  # more changed nodes than this share of all: load them all


def _now() -> datetime:
    return datetime.now(UTC)


class HostManager:
    """The host states of every compute node, brought up to date per decision."""

    def __init__(self, db: Database, settings: Settings,
                 clock: Callable[[], datetime] = _now,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._states: dict[int, HostState] = {}  # node id -> state, in id order
        self._may_be_up: dict[int, bool] = {}    # registered and not forced down
        self._node_of: dict[str, int] = {}       # host -> node id
        self._down: set[str] = set()             # hosts not reporting, at the last refresh
        self._claimed: set[int] = set()          # claimed here since the last refresh
        self._cursor = ChangeCursor()
        self._loaded_at: float | None = None     # monotonic time of the last full load
        self._marks: deque[tuple[float, int]] = deque()  # (time, cursor) for pruning
        self._pruned_at = 0.0
        self._traits: dict[tuple[Any, ...], int] = {}
        self._capabilities: dict[str, dict[str, Any]] = {}
        self.full_loads = 0  # how many full loads so far (for tests and logs)

    # ---- what the scheduler asks ------------------------------------------------
    def host_states(self) -> list[HostState]:
        """Every compute node's state, by node id, brought up to date first."""
        now = self.clock()
        with self._lock:
            tick = self.monotonic()
            try:
                with self.db.session() as s:
                    if self._loaded_at is None or tick - self._loaded_at > RESYNC_INTERVAL:
                        self._load_all(s, now, tick)
                    else:
                        self._catch_up(s, now, tick)
                    self._mark_down(s, now)
            except BaseException:
                self._loaded_at = None  # what was read is lost: load every node next time
                raise
            self._prune(tick)
            return list(self._states.values())

    def consumed(self, state: HostState, resources: dict[str, int]) -> None:
        """Account in memory for an instance just claimed on ``state``'s node
        (later instances of the request see it), and have the node reloaded at
        the next refresh (the database has the true figures)."""
        with self._lock:
            state.consume(resources)
            self._claimed.add(state.node_id)

    def claim_failed(self, state: HostState) -> None:
        """A claim on ``state``'s node found no room: the view was stale; the
        node is reloaded at the next refresh."""
        with self._lock:
            self._claimed.add(state.node_id)

    def resync(self) -> None:
        """Load every node again at the next refresh."""
        with self._lock:
            self._loaded_at = None

    # ---- loading ------------------------------------------------------------------
    def _load_all(self, s: Session, now: datetime, tick: float) -> None:
        self._cursor.start(s.connection(), tick)  # first: what commits meanwhile is read again
        self._states, self._may_be_up, self._node_of = {}, {}, {}
        self._traits, self._capabilities = {}, {}
        self._claimed.clear()
        self._down = hosts_not_reporting(s, self.settings, now)
        self._put(load_host_rows(s, self.settings, now, parsed=self._capabilities))
        self._loaded_at = tick
        self.full_loads += 1

    def _catch_up(self, s: Session, now: datetime, tick: float) -> None:
        changed = self._cursor.read(s.connection(), tick) | self._claimed
        self._claimed = set()
        if not changed:
            return
        if len(changed) > max(64, RELOAD_ALL_SHARE * len(self._states)):
            self._load_all(s, now, tick)
            return
        rows = load_host_rows(s, self.settings, now, changed, parsed=self._capabilities)
        self._put(rows)
        for gone in changed - {state.node_id for state, _ in rows}:
            state = self._states.pop(gone, None)
            if state is not None:
                log.info("host %s left the scheduler's view", state.host)
                self._may_be_up.pop(gone, None)
                self._node_of.pop(state.host, None)

    def _put(self, rows: Iterable[tuple[HostState, bool]]) -> None:
        """Take (re)loaded states in, up as of the last heartbeat check."""
        for state, may_be_up in rows:
            old = self._states.get(state.node_id)
            if old is not None and old.host != state.host:
                self._node_of.pop(old.host, None)
            state.up = may_be_up and state.host not in self._down
            state.traits = self._traits_of(state)
            self._states[state.node_id] = state
            self._may_be_up[state.node_id] = may_be_up
            self._node_of[state.host] = state.node_id

    def _traits_of(self, h: HostState) -> int:
        meta = tuple(sorted((key, tuple(sorted(values)))
                            for key, values in h.aggregate_metadata.items()))
        key = (h.availability_zone, h.hypervisor_type, h.hypervisor_version, h.cpu_arch,
               id(h.capabilities), meta)
        return self._traits.setdefault(key, len(self._traits) + 1)

    def _mark_down(self, s: Session, now: datetime) -> None:
        """Hosts that stopped reporting go down; hosts that came back go up."""
        down = hosts_not_reporting(s, self.settings, now)
        for host in down ^ self._down:
            node_id = self._node_of.get(host)
            if node_id is not None:
                self._states[node_id].up = self._may_be_up[node_id] and host not in down
        self._down = down

    def _prune(self, tick: float) -> None:
        """Delete the log entries this scheduler had read ``RETAIN`` seconds ago.
        No scheduler needs them: one that has not read them for that long has
        loaded every node since (``RESYNC_INTERVAL`` is shorter)."""
        if tick - self._pruned_at < PRUNE_INTERVAL:
            return
        self._pruned_at = tick
        self._marks.append((tick, self._cursor.last))
        up_to = None
        while self._marks and tick - self._marks[0][0] >= RETAIN:
            up_to = self._marks.popleft()[1]
        if not up_to:
            return
        try:
            with self.db.session() as s:
                gone = prune_changes(s, up_to)
            log.debug("pruned %d host changes up to %d", gone, up_to)
        except Exception:  # noqa: BLE001 - pruning can wait for the next time
            log.warning("pruning the host changes failed", exc_info=True)
