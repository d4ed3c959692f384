"""What the Block Storage API shows of the storage back ends: their pools
(``/scheduler-stats/get_pools``), services (``/os-services``) and availability
zones (``/os-availability-zone``), read from ``volume_pools`` as the volume
schedulers record the back ends' reports.

A back end is ``up`` while its pools were reported within the service down
time (or three report intervals, if longer). The schedulers are what write
those reports, so the ``cinder-scheduler`` row is up while any report is fresh.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from core.clock import utcnow
from core.context import RequestContext
from core.db import Database
from core.policy import PolicyEnforcer
from core.settings import Settings
from core.volume.models import VolumePool

SCHEDULER_BINARY = "cinder-scheduler"
VOLUME_BINARY = "cinder-volume"


def wait_reported(db: Database, backends: Iterable[str], since: datetime.datetime,
                  timeout: float) -> bool:
    """Wait up to ``timeout`` seconds until each back end's pools were recorded
    at or after ``since``; False if one still was not then."""
    wanted = set(backends)
    deadline = time.monotonic() + timeout
    while True:
        with db.session() as s:
            rows = s.execute(select(VolumePool.backend, VolumePool.updated_at)
                             .where(VolumePool.backend.in_(wanted))).all()
        fresh = {backend for backend, when in rows if when is not None
                 and (when if when.tzinfo else when.replace(tzinfo=datetime.UTC)) >= since}
        if fresh >= wanted:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


@dataclass(frozen=True)
class BackendService:
    binary: str
    host: str
    zone: str
    disabled: bool
    up: bool
    updated_at: datetime.datetime | None
    disabled_reason: str | None = None


class VolumeBackends:
    def __init__(self, db: Database, policy: PolicyEnforcer, settings: Settings) -> None:
        self.db = db
        self.policy = policy
        self.settings = settings

    @property
    def down_after(self) -> datetime.timedelta:
        interval = float(getattr(self.settings, "volume_report_interval", 10.0))
        return datetime.timedelta(seconds=max(self.settings.service_down_time, 3 * interval))

    def _pools(self) -> list[VolumePool]:
        with self.db.session() as s:
            pools = list(s.scalars(select(VolumePool).order_by(VolumePool.name)))
            s.expunge_all()
        return pools

    def _fresh(self, when: datetime.datetime | None, now: datetime.datetime) -> bool:
        if when is None:
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.UTC)
        return now - when <= self.down_after

    def pools(self, ctx: RequestContext) -> list[VolumePool]:
        """Every pool as last reported (admin)."""
        self.policy.enforce("scheduler_extension:scheduler_stats:get_pools", {}, ctx)
        return self._pools()

    def services(self, ctx: RequestContext) -> list[BackendService]:
        """The schedulers' row and one ``cinder-volume`` row per back end (admin)."""
        self.policy.enforce("volume_extension:services:index", {}, ctx)
        now = utcnow()
        backends: dict[str, list[VolumePool]] = {}
        for pool in self._pools():
            backends.setdefault(pool.backend, []).append(pool)
        rows = []
        latest: datetime.datetime | None = None
        for backend, pools in sorted(backends.items()):
            updated = max((p.updated_at for p in pools if p.updated_at), default=None)
            if updated is not None and (latest is None or updated > latest):
                latest = updated
            disabled = all(p.disabled for p in pools)
            rows.append(BackendService(
                VOLUME_BINARY, backend, pools[0].availability_zone, disabled,
                self._fresh(updated, now), updated,
                pools[0].disabled_reason if disabled else None))
        scheduler = BackendService(SCHEDULER_BINARY, self.settings.effective_service_host,
                                   self.settings.default_availability_zone, False,
                                   self._fresh(latest, now), latest)
        return [scheduler, *rows]

    def availability_zones(self, ctx: RequestContext) -> list[tuple[str, bool]]:
        """(zone, available) for every zone with a back end; the default zone
        when none reported yet."""
        self.policy.enforce("volume_extension:availability_zone_list", {}, ctx)
        now = utcnow()
        zones: dict[str, bool] = {}
        for pool in self._pools():
            zones[pool.availability_zone] = (zones.get(pool.availability_zone, False)
                                             or self._fresh(pool.updated_at, now))
        return sorted(zones.items()) or [(self.storage_zone, True)]

    @property
    def storage_zone(self) -> str:
        """Cinder's ``storage_availability_zone``: a volume's zone when it names none."""
        return str(getattr(self.settings, "volume_availability_zone", "nova"))

