"""A volume control plane in one process for tests: SQLite, the in-memory bus, a
volume scheduler with the manager, and simulated back ends."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import func, select

from core.db import Database
from core.db.migrate import upgrade
from core.messaging import Bus
from core.messaging.server import stop_consumers
from core.quota.service import QuotaService
from core.settings import load_settings
from core.volume.agent.driver import PoolSpec
from core.volume.agent.wiring import build_volume_agent
from core.volume.models import Snapshot, Volume, VolumeClaim, VolumePool, VolumeType
from core.volume.rpcapi import VolumeAgentClient, VolumeSchedulerClient
from core.volume.scheduler.wiring import (
    build_volume_manager,
    build_volume_scheduler,
    serve_volume_control,
)

PROJECT = "p1"


class VolumePlane:
    def __init__(self, tmp_path, pools: list[PoolSpec] | None = None, schedulers: int = 1,
                 db: Database | None = None, **overrides):
        self.settings = load_settings({}, data_dir=tmp_path, volume_report_interval=0.2,
                                      **overrides)
        self.db = db or Database(self.settings.effective_database_url)
        if db is None:
            upgrade(self.db)
        self.bus = Bus("memory://", namespace=f"t{uuid.uuid4().hex[:8]}")
        self.quotas = QuotaService(self.db, self.settings)
        self.scheduler = build_volume_scheduler(self.db, self.bus, self.settings, self.quotas)
        self.manager = build_volume_manager(self.db, self.bus, self.settings, self.quotas)
        self.servers = serve_volume_control(self.bus, self.scheduler, self.manager,
                                            [f"vs-{i}" for i in range(schedulers)])
        self.agent = build_volume_agent(
            self.settings, self.bus, "node1@sim",
            pools or [PoolSpec("a", 100, thin=False), PoolSpec("b", 50, thin=False)])
        self.scheduler_client = VolumeSchedulerClient(self.bus)
        self.agents = VolumeAgentClient(self.bus)

    def start(self) -> VolumePlane:
        for server in self.servers:
            server.start()
        self.agent.start()
        self.wait_for_pools(len(self.agent.driver.pools))
        return self

    def stop(self) -> None:
        self.agent.stop()
        stop_consumers(self.servers, 5)
        self.bus.close()
        self.quotas.dispose()
        self.db.dispose()

    def wait_for_pools(self, n: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.pools()) < n:
            assert time.monotonic() < deadline, "pools never reported"
            time.sleep(0.02)

    # ---- what the API side does (VolumeService) ----
    def create(self, size: int, availability_zone: str | None = "nova",
               extra_specs: dict | None = None) -> str:
        with self.db.session() as s:
            if extra_specs:
                vtype = VolumeType(name=f"t-{uuid.uuid4().hex[:6]}", extra_specs=extra_specs)
                s.add(vtype)
                s.flush()
            else:
                vtype = s.scalars(select(VolumeType).where(
                    VolumeType.name == "__DEFAULT__")).one()
            self.quotas.reserve(s, PROJECT, {"volumes": 1, "gigabytes": size})
            volume = Volume(project_id=PROJECT, size=size, volume_type_id=vtype.id,
                            availability_zone=availability_zone or "nova", status="creating")
            s.add(volume)
            s.flush()
            volume_id = volume.id
        self.scheduler_client.create_volume(volume_id)
        return volume_id

    def delete(self, volume_id: str) -> None:
        with self.db.session() as s:
            volume = s.get(Volume, volume_id)
            volume.status = "deleting"
            host = volume.host
        self.agents.delete_volume(host.partition("#")[0], volume_id)

    def extend(self, volume_id: str, new_size: int) -> None:
        with self.db.session() as s:
            volume = s.get(Volume, volume_id)
            self.quotas.reserve(s, PROJECT, {"gigabytes": new_size - volume.size})
            volume.previous_status, volume.status = volume.status, "extending"
        self.scheduler_client.extend_volume(volume_id, new_size)

    def snapshot(self, volume_id: str) -> str:
        with self.db.session() as s:
            volume = s.get(Volume, volume_id)
            self.quotas.reserve(s, PROJECT, {"snapshots": 1, "gigabytes": volume.size})
            snap = Snapshot(project_id=PROJECT, volume_id=volume_id, size=volume.size,
                            host=volume.host, status="creating")
            s.add(snap)
            s.flush()
            snap_id, host, size = snap.id, volume.host, volume.size
        self.agents.create_snapshot(host.partition("#")[0], snap_id, volume_id, size)
        return snap_id

    # ---- looking ----
    def volume(self, volume_id: str) -> Volume | None:
        with self.db.session() as s:
            return s.get(Volume, volume_id)

    def snapshot_row(self, snapshot_id: str) -> Snapshot | None:
        with self.db.session() as s:
            return s.get(Snapshot, snapshot_id)

    def pools(self) -> dict[str, VolumePool]:
        with self.db.session() as s:
            return {p.name: p for p in s.scalars(select(VolumePool))}

    def claims(self) -> dict[str, int]:
        with self.db.session() as s:
            return dict(s.execute(select(VolumeClaim.volume_id, VolumeClaim.size_gb)).all())

    def usage(self) -> dict[str, int]:
        return self.quotas.usage(PROJECT)

    def wait(self, volume_id: str, predicate, timeout: float = 30.0) -> Volume | None:
        deadline = time.monotonic() + timeout
        while True:
            volume = self.volume(volume_id)
            if predicate(volume):
                return volume
            if time.monotonic() > deadline:
                raise AssertionError(volume and (volume.status, volume.host, volume.fault))
            time.sleep(0.02)

    def wait_status(self, volume_id: str, *statuses: str, timeout: float = 30.0) -> Volume:
        volume = self.wait(volume_id, lambda v: v is not None and v.status in statuses,
                           timeout)
        assert volume is not None
        return volume

    def assert_claims_consistent(self) -> None:
        """Each pool's counter is the sum of its claims, and within its limit."""
        with self.db.session() as s:
            sums = dict(s.execute(select(VolumeClaim.pool_id, func.sum(VolumeClaim.size_gb))
                                  .group_by(VolumeClaim.pool_id)).all())
            for pool in s.scalars(select(VolumePool)):
                assert pool.provisioned_capacity_gb == int(sums.get(pool.id, 0)), pool.name
