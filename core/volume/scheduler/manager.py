"""The volume scheduler's endpoints on ``SCHEDULER_TOPIC``: place a new volume on
a pool, grow a volume's claim for an extend, and record the back ends' reports.

Placing is one transaction: the pool's capacity is claimed and the volume gets
its host (compare-and-swap on ``creating`` without a host), or neither happens.
The agent's create is cast after the commit. A message delivered again finds
the volume placed and casts the agent's create again (it is idempotent), so a
scheduler dying between the commit and the cast loses nothing.

The pools are kept in memory (``pool_manager``), reloaded as their versions
change; filters (registered by name) and the weigher run over them.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from core.clock import utcnow
from core.db import Database
from core.placement.claims import with_retries
from core.quota.service import QuotaService
from core.settings import Settings
from core.volume import claims
from core.volume.models import Snapshot, Volume, VolumePool, VolumeType
from core.volume.rpcapi import VolumeAgentClient, volume_message
from core.volume.scheduler.filters import build_filters, filter_pools
from core.volume.scheduler.pool_manager import PoolManager
from core.volume.scheduler.pool_state import PoolState, VolumeRequest
from core.volume.scheduler.reports import record_report
from core.volume.scheduler.weighers import CapacityWeigher

log = logging.getLogger(__name__)

NO_VALID_BACKEND = "No valid backend was found. {}"


class _Lost(Exception):
    """The volume changed under the placement: roll the claim back."""


def backend_of(host: str) -> str:
    """``host@backend`` of a pool name ``host@backend#pool``."""
    return host.partition("#")[0]


class VolumeScheduler:
    """What ``Bus.serve`` dispatches to; ``counts`` is not a method."""

    RPC_METHODS = frozenset({"create_volume", "extend_volume", "update_service_capabilities"})

    def __init__(self, db: Database, settings: Settings, agents: VolumeAgentClient,
                 quotas: QuotaService) -> None:
        self.db = db
        self.settings = settings
        self.agents = agents
        self.quotas = quotas
        self.filters = build_filters(settings.enabled_volume_filters, settings)
        self.weigher = CapacityWeigher(settings.volume_capacity_weight_multiplier)
        self.max_attempts = settings.volume_max_attempts
        self.pools = PoolManager(db, settings.service_down_time)
        self._lock = threading.Lock()
        self.counts = {"placed": 0, "no_valid_backend": 0}

    def _count(self, key: str) -> None:
        with self._lock:
            self.counts[key] += 1

    # ---- create ------------------------------------------------------------
    def create_volume(self, volume_id: str) -> None:
        loaded = self._load(volume_id)
        if loaded is None:
            return
        volume, specs = loaded
        if volume.status != "creating":
            return
        if volume.host:
            self._cast_create(volume)  # placed before: the cast may be what was lost
            return
        tried = list((volume.scheduling or {}).get("hosts", []))
        if len(tried) >= self.max_attempts:
            self._fail(volume_id, NO_VALID_BACKEND.format(
                f"Exceeded max scheduling attempts {self.max_attempts} for resource "
                f"{volume_id}"))
            return
        request = VolumeRequest(volume_id=volume_id, size=volume.size,
                                availability_zone=volume.availability_zone,
                                extra_specs=specs, attempted=tried)
        pools = [p for p in self.pools.pool_states() if p.name not in tried]
        source = self._source_backend(volume)
        if source is not None:
            # From a snapshot or a volume: on the back end that holds it (Cinder).
            pools = [p for p in pools if p.backend == source]
        candidates = filter_pools(self.filters, pools, request)
        for _, pool in self.weigher.weigh(candidates, request):
            placed = self._place(volume, pool, request)
            if placed is None:
                continue  # full since it was read (reloaded next time): the next best
            if placed:
                self._count("placed")
                volume.host = pool.name
                self._cast_create(volume)
            return  # placed, or placed (or gone) by someone else
        self._fail(volume_id, NO_VALID_BACKEND.format("No weighed backends available"))

    def _place(self, volume: Volume, pool: PoolState, request: VolumeRequest) -> bool | None:
        """Claim ``pool`` and give the volume its host, in one transaction. True
        when placed; None when the pool had no room; False when the volume was
        placed elsewhere, deleted or failed meanwhile."""
        hosts = [*request.attempted, pool.name]
        scheduling = {**(volume.scheduling or {}), "hosts": hosts, "attempts": len(hosts)}

        def transaction() -> bool | None:
            with self.db.session() as s:
                claimed = claims.claim_in(s, volume.id, pool.id, request.size, request.thin)
                if claimed is claims.Claim.NO_ROOM:
                    return None
                if claimed is not claims.Claim.CLAIMED:
                    return False  # another delivery of this message holds the claim
                moved = s.execute(update(Volume).where(
                    Volume.id == volume.id, Volume.status == "creating",
                    Volume.host.is_(None)).values(
                    host=pool.name, availability_zone=pool.availability_zone,
                    scheduling=scheduling, updated_at=utcnow()),
                    execution_options={"synchronize_session": False})
                if moved.rowcount != 1:  # type: ignore[attr-defined]
                    raise _Lost()
            return True

        try:
            return with_retries(transaction)
        except _Lost:
            return False
        except IntegrityError:
            return False  # a concurrent delivery claimed it first

    def _cast_create(self, volume: Volume) -> None:
        assert volume.host is not None
        self.agents.create_volume(backend_of(volume.host),
                                  {**volume_message(volume), "host": volume.host})

    def _fail(self, volume_id: str, fault: str) -> None:
        """The volume goes to error (Cinder's NoValidBackend); its quota stays
        held until it is deleted."""
        self._count("no_valid_backend")
        log.warning("volume %s: %s", volume_id, fault)
        with self.db.session() as s:
            s.execute(update(Volume).where(
                Volume.id == volume_id, Volume.status == "creating",
                Volume.host.is_(None)).values(status="error", fault=fault[:1024],
                                              updated_at=utcnow()),
                execution_options={"synchronize_session": False})

    # ---- extend --------------------------------------------------------------
    def extend_volume(self, volume_id: str, new_size: int) -> None:
        """Grow the claim on the volume's own pool and cast the agent's extend;
        with no room the volume goes back to its previous status, with a
        fault, and the quota the extend reserved is given back (Cinder)."""
        loaded = self._load(volume_id)
        if loaded is None:
            return
        volume, specs = loaded
        if volume.status != "extending" or not volume.host:
            return
        request = VolumeRequest(volume_id=volume_id, size=new_size - volume.size,
                                extra_specs=specs, extend=True,
                                attached=volume.attach_status == "attached")
        pool = self._pool(volume.host)
        fits = pool is not None and all(f.pool_passes(pool, request) for f in self.filters
                                        if type(f).__name__ != "AvailabilityZoneFilter")
        if fits and claims.resize_claim(self.db, volume_id, new_size, request.thin):
            self.agents.extend_volume(backend_of(volume.host), volume_id, new_size)
            return
        fault = NO_VALID_BACKEND.format(
            f"Insufficient free space for volume extend on {volume.host}")
        with self.db.session() as s:
            back = s.execute(update(Volume).where(
                Volume.id == volume_id, Volume.status == "extending").values(
                status=volume.previous_status or "available", previous_status=None,
                fault=fault, updated_at=utcnow()),
                execution_options={"synchronize_session": False})
            if back.rowcount == 1:  # type: ignore[attr-defined]
                self.quotas.release(s, volume.project_id,
                                    {"gigabytes": max(0, new_size - volume.size)})
        log.warning("volume %s: %s", volume_id, fault)

    # ---- reports -------------------------------------------------------------
    def update_service_capabilities(self, backend: str, availability_zone: str,
                                    capabilities: dict, pools: list[dict],
                                    timestamp: str | None = None) -> None:
        record_report(self.db, backend, availability_zone, capabilities, pools)

    # ---- helpers -------------------------------------------------------------
    def _load(self, volume_id: str) -> tuple[Volume, dict[str, Any]] | None:
        with self.db.session() as s:
            volume = s.get(Volume, volume_id)
            if volume is None:
                return None
            vtype = s.get(VolumeType, volume.volume_type_id)
            return volume, dict(vtype.extra_specs or {}) if vtype else {}

    def _source_backend(self, volume: Volume) -> str | None:
        """The back end of the snapshot or volume a new volume is made from."""
        with self.db.session() as s:
            host = None
            if volume.snapshot_id:
                snap = s.get(Snapshot, volume.snapshot_id)
                host = snap.host if snap is not None else None
            elif volume.source_volid:
                source = s.get(Volume, volume.source_volid)
                host = source.host if source is not None else None
        return backend_of(host) if host else None

    def _pool(self, name: str) -> PoolState | None:
        with self.db.session() as s:
            row = s.query(VolumePool).filter(VolumePool.name == name).first()
            return PoolState.from_row(row) if row is not None else None
