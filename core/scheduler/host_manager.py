"""The host states one scheduler process keeps in memory, as Nova's HostManager.

Every node is loaded once (and again every ``RESYNC_INTERVAL`` seconds, a safety
net for a change written around the log); then each decision first reads the
host changes log (``core.placement.changes``) past the last entry seen and
reloads only the nodes it names: this and other schedulers' claims, releases,
agents' reports, deleted services, aggregates.
Whether a host's service is enabled and up is asked per decision, whoever
changed it: the database lists, through indexes, the few hosts that are
disabled, forced down or silent for ``service_down_time``, and only the hosts
whose answer changed are touched.

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
from core.scheduler.host_state import (
    DISABLED,
    FORCED_DOWN,
    SILENT,
    HostState,
    load_host_rows,
    unavailable_hosts,
)
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
        self._registered: dict[int, bool] = {}   # the node has a compute service
        self._node_of: dict[str, int] = {}       # host -> node id
        # host -> why it is unavailable (disabled, forced down, silent), as last read
        self._unavailable: dict[str, frozenset[str]] = {}
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
                    self._read_services(s, now)
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
        self._states, self._registered, self._node_of = {}, {}, {}
        self._traits, self._capabilities = {}, {}
        self._claimed.clear()
        self._unavailable = unavailable_hosts(s, self.settings, now)
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
                self._registered.pop(gone, None)
                self._node_of.pop(state.host, None)

    def _put(self, rows: Iterable[tuple[HostState, bool]]) -> None:
        """Take (re)loaded states in, enabled and up as the services were last read."""
        for state, registered in rows:
            old = self._states.get(state.node_id)
            if old is not None and old.host != state.host:
                self._node_of.pop(old.host, None)
            self._set_service(state, registered)
            state.traits = self._traits_of(state)
            self._states[state.node_id] = state
            self._registered[state.node_id] = registered
            self._node_of[state.host] = state.node_id

    def _set_service(self, state: HostState, registered: bool) -> None:
        why = self._unavailable.get(state.host, frozenset())
        state.enabled = registered and DISABLED not in why
        state.up = registered and FORCED_DOWN not in why and SILENT not in why

    def _traits_of(self, h: HostState) -> int:
        meta = tuple(sorted((key, tuple(sorted(values)))
                            for key, values in h.aggregate_metadata.items()))
        key = (h.availability_zone, h.hypervisor_type, h.hypervisor_version, h.cpu_arch,
               id(h.capabilities), meta)
        return self._traits.setdefault(key, len(self._traits) + 1)

    def _read_services(self, s: Session, now: datetime) -> None:
        """Hosts disabled, forced down or silent leave; hosts back come back."""
        unavailable = unavailable_hosts(s, self.settings, now)
        old = self._unavailable
        self._unavailable = unavailable
        for host in unavailable.keys() | old.keys():
            if unavailable.get(host) != old.get(host):
                node_id = self._node_of.get(host)
                if node_id is not None:
                    self._set_service(self._states[node_id], self._registered[node_id])

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
