"""A simulated storage back end: pools of a given size, volumes and snapshots
kept in memory, each operation taking ``operation_time`` seconds and a create
failing with probability ``failure_rate`` (per pool if the pool says so)."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass


class StorageError(Exception):
    """An operation the back end could not carry out."""


@dataclass(frozen=True)
class PoolSpec:
    name: str
    total_gb: int
    thin: bool = False
    failure_rate: float | None = None  # None: the driver's

    @classmethod
    def parse(cls, text: str) -> PoolSpec:
        """``NAME:TOTAL_GB[:thin|thick][:FAILURE_RATE]``."""
        parts = text.strip().split(":")
        if len(parts) < 2 or not parts[0]:
            raise ValueError(f"pool {text!r}: expected NAME:TOTAL_GB[:thin|thick][:RATE]")
        thin = len(parts) > 2 and parts[2].lower() == "thin"
        if len(parts) > 2 and parts[2].lower() not in ("thin", "thick", ""):
            raise ValueError(f"pool {text!r}: provisioning is thin or thick")
        rate = float(parts[3]) if len(parts) > 3 and parts[3] else None
        if rate is not None and not 0.0 <= rate <= 1.0:
            raise ValueError(f"pool {text!r}: failure rate must be between 0 and 1")
        return cls(parts[0], int(parts[1]), thin, rate)


def parse_pools(text: str) -> list[PoolSpec]:
    """Comma-separated pool specs (the ``volume_pools`` setting)."""
    return [PoolSpec.parse(p) for p in text.split(",") if p.strip()]


class SimulatedStorage:
    def __init__(self, pools: list[PoolSpec], operation_time: float = 0.0,
                 failure_rate: float = 0.0, seed: int | None = None) -> None:
        self.pools = {p.name: p for p in pools}
        self.operation_time = operation_time
        self.failure_rate = failure_rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.volumes: dict[str, tuple[str, int]] = {}  # id -> (pool, size)
        self.snapshots: dict[str, tuple[str, int]] = {}  # id -> (volume id, size)
        # what a volume or snapshot holds: {"image_id", "size"} of the image it was
        # copied from (its bytes), absent when blank (zeros)
        self.contents: dict[str, dict] = {}

    def _work(self) -> None:
        if self.operation_time > 0:
            time.sleep(self.operation_time)

    def _pool(self, name: str) -> PoolSpec:
        try:
            return self.pools[name]
        except KeyError:
            raise StorageError(f"no pool {name!r} on this back end") from None

    def _used(self, pool: str) -> int:
        """Physical GB used in ``pool``: thick volumes hold their size, thin ones
        nothing until written (which simulated ones never are)."""
        if self.pools[pool].thin:
            return 0
        return sum(size for p, size in self.volumes.values() if p == pool)

    def create_volume(self, volume_id: str, pool: str, size: int,
                      content: dict | None = None) -> None:
        """``content``: the image copied in (``{"image_id", "size"}``), if any."""
        spec = self._pool(pool)
        self._work()
        with self._lock:
            if volume_id in self.volumes:
                return  # created before: a repeated request
            rate = self.failure_rate if spec.failure_rate is None else spec.failure_rate
            if rate and self._random.random() < rate:
                raise StorageError(f"simulated failure creating volume {volume_id} on {pool}")
            if not spec.thin and self._used(pool) + size > spec.total_gb:
                raise StorageError(f"pool {pool} has no room for {size} GB")
            self.volumes[volume_id] = (pool, size)
            if content:
                self.contents[volume_id] = dict(content)

    def delete_volume(self, volume_id: str) -> None:
        self._work()
        with self._lock:
            if any(v == volume_id for v, _ in self.snapshots.values()):
                raise StorageError(f"volume {volume_id} has snapshots")
            self.volumes.pop(volume_id, None)
            self.contents.pop(volume_id, None)

    def extend_volume(self, volume_id: str, new_size: int) -> None:
        self._work()
        with self._lock:
            if volume_id not in self.volumes:
                raise StorageError(f"no volume {volume_id}")
            pool, size = self.volumes[volume_id]
            spec = self.pools[pool]
            if not spec.thin and self._used(pool) + new_size - size > spec.total_gb:
                raise StorageError(f"pool {pool} has no room to extend {volume_id}")
            self.volumes[volume_id] = (pool, max(size, new_size))

    def create_snapshot(self, snapshot_id: str, volume_id: str, size: int) -> None:
        self._work()
        with self._lock:
            if volume_id not in self.volumes:
                raise StorageError(f"no volume {volume_id}")
            self.snapshots.setdefault(snapshot_id, (volume_id, size))
            if volume_id in self.contents:
                self.contents.setdefault(snapshot_id, dict(self.contents[volume_id]))

    def copy_snapshot(self, snapshot_id: str, source_snapshot_id: str) -> None:
        """A new snapshot holding what the source holds (of the same volume and
        size); a repeated request changes nothing."""
        self._work()
        with self._lock:
            if snapshot_id in self.snapshots:
                return  # copied before: a repeated request
            if source_snapshot_id not in self.snapshots:
                raise StorageError(f"no snapshot {source_snapshot_id}")
            self.snapshots[snapshot_id] = self.snapshots[source_snapshot_id]
            if source_snapshot_id in self.contents:
                self.contents[snapshot_id] = dict(self.contents[source_snapshot_id])

    def delete_snapshot(self, snapshot_id: str) -> None:
        self._work()
        with self._lock:
            self.snapshots.pop(snapshot_id, None)
            self.contents.pop(snapshot_id, None)

    def content_of(self, source_id: str | None) -> dict | None:
        """What a volume or snapshot of this back end holds (None: blank or unknown)."""
        with self._lock:
            found = self.contents.get(source_id or "")
            return dict(found) if found else None

    def read_volume(self, volume_id: str) -> tuple[bool, dict | None]:
        """Read a volume whole (as a copy to an image does): whether this back end
        has it, and what it holds."""
        self._work()
        with self._lock:
            if volume_id not in self.volumes:
                return False, None
            found = self.contents.get(volume_id)
            return True, dict(found) if found else None

    def pool_stats(self) -> list[dict]:
        """Each pool as Cinder's drivers report it (thin/thick support, capacity)."""
        with self._lock:
            out = []
            for name, spec in self.pools.items():
                allocated = sum(s for p, s in self.volumes.values() if p == name)
                out.append({
                    "pool_name": name, "total_capacity_gb": spec.total_gb,
                    "free_capacity_gb": spec.total_gb - self._used(name),
                    "allocated_capacity_gb": allocated, "provisioned_capacity_gb": allocated,
                    "thin_provisioning_support": spec.thin,
                    "thick_provisioning_support": not spec.thin,
                    "QoS_support": False, "multiattach": True,
                    "online_extend_support": True})
            return out
