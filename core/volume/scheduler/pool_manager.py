"""The pools one volume scheduler process keeps in memory (as the compute
scheduler's host manager does for hosts).

Each request reads every pool's version — its ``generation``, bumped by every
claim and release, and the time of its last report — and reloads only the
pools whose version changed. Pools are few (one per back-end pool, not one per
volume), so their versions are read whole, in one narrow select; the compute
scheduler, with thousands of hosts, follows a log of changes instead
(``core.placement.changes``).

The claim stays one conditional UPDATE that re-checks the room left
(``core.volume.claims``): a view that went stale since it was read at worst
sends a claim to a pool another scheduler filled; it finds no room and the next
pool is tried, and the filled pool is reloaded at the next request.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from core.clock import utcnow
from core.db import Database
from core.volume.models import VolumePool
from core.volume.scheduler.pool_state import PoolState

_VERSIONS = select(VolumePool.id, VolumePool.generation, VolumePool.updated_at,
                   VolumePool.disabled)


def _version(generation: int, updated_at: datetime | None, disabled: bool) -> tuple[Any, ...]:
    return generation, updated_at, bool(disabled)


class PoolManager:
    """Every pool's state, brought up to date per request. Thread-safe: the
    servers of one process share it; a reloaded pool gets a new PoolState."""

    def __init__(self, db: Database, down_time: float) -> None:
        self.db = db
        self.down_time = down_time
        self._lock = threading.Lock()
        self._pools: dict[int, tuple[tuple[Any, ...], PoolState]] = {}
        self.reloads = 0  # pools reloaded so far (for tests)

    def pool_states(self, now: datetime | None = None) -> list[PoolState]:
        """Enabled pools reported within the last ``down_time`` seconds, by name."""
        cutoff = (now or utcnow()) - timedelta(seconds=self.down_time)
        with self._lock:
            with self.db.session() as s:
                versions = {pool_id: _version(generation, updated_at, disabled)
                            for pool_id, generation, updated_at, disabled
                            in s.execute(_VERSIONS).all()}
                changed = [pool_id for pool_id, version in versions.items()
                           if self._pools.get(pool_id, (None,))[0] != version]
                if changed:
                    for row in s.scalars(select(VolumePool).where(VolumePool.id.in_(changed))):
                        # The row's own version: it may be newer than the one read above.
                        self._pools[row.id] = (
                            _version(row.generation, row.updated_at, row.disabled),
                            PoolState.from_row(row))
                    self.reloads += len(changed)
            for gone in set(self._pools) - set(versions):
                del self._pools[gone]
            live = [(version, state) for version, state in self._pools.values()
                    if not version[2] and version[1] is not None and version[1] >= cutoff]
        return sorted((state for _, state in live), key=lambda p: p.name)
