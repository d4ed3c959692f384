"""Two ``python -m core.volume.scheduler`` processes and a ``python -m
core.volume.agent`` back end on PostgreSQL and RabbitMQ.

- 120 one-GB creates at once on pools with room for 100: the schedulers race
  for the same pools from the same figures; the claims keep every pool within
  its size: exactly 100 volumes become available, 20 go to error, and each
  pool's counter is the sum of its claims.
- kill -9 of a scheduler and of the agent while creates are in flight (the
  agent comes back under its name, as supervisord restarts it): afterwards no
  volume stays creating, and what is claimed is the sum of the placed volumes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db import Database
from core.db.migrate import upgrade
from core.messaging import Bus
from core.volume.models import Volume, VolumeClaim, VolumePool, VolumeType
from core.volume.rpcapi import VolumeSchedulerClient
from tests.db.conftest import postgresql_server  # noqa: F401  (fixture used by name)
from tests.unit.core.messaging import rabbit

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("two-volume-schedulers")]

REPO = Path(__file__).resolve().parents[2]
BACKEND = "node1@sim"


@pytest.fixture(scope="module")
def rabbitmq_url():
    with rabbit.broker_url() as url:
        yield url


@pytest.fixture
def database(request):
    server = request.getfixturevalue("postgresql_server")
    name = f"nimbus_vsched_{uuid.uuid4().hex[:8]}"
    db = Database(server.create(name))
    try:
        upgrade(db)
        yield db
    finally:
        db.dispose()
        server.drop(name)


def start(module: str, args: list[str], env_extra: dict, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIMBUS_")}
    env.update(PYTHONPATH=str(REPO), NIMBUS_SERVICE_DOWN_TIME="3600",
               NIMBUS_LOG_LEVEL="INFO", NIMBUS_VOLUME_REPORT_INTERVAL="1", **env_extra)
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO, env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def logged(log: Path, needle: str) -> bool:
    for line in log.read_text().splitlines():
        try:
            if needle in json.loads(line).get("msg", ""):
                return True
        except ValueError:
            continue
    return False


def wait_for(predicate, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


class Cluster:
    def __init__(self, db: Database, bus_url: str, tmp_path: Path, operation_time: float):
        self.db, self.tmp = db, tmp_path
        self.controller = {"NIMBUS_DATABASE_URL": db.url, "NIMBUS_TRANSPORT_URL": bus_url,
                           "NIMBUS_DATA_DIR": str(tmp_path / "data"),
                           "NIMBUS_VOLUME_CREATE_TIMEOUT": "8"}
        self.agent_env = {"NIMBUS_TRANSPORT_URL": bus_url,
                          "NIMBUS_VOLUME_OPERATION_TIME": str(operation_time)}
        self.schedulers = [self.start_scheduler(i) for i in range(2)]
        self.agent = self.start_agent()
        self.bus = Bus(bus_url)
        wait_for(lambda: len(self.pools()) == 2, "pools reported")

    def start_scheduler(self, i: int) -> subprocess.Popen:
        log = self.tmp / f"volume-scheduler-{i}.log"
        proc = start("core.volume.scheduler", [], self.controller, log)
        wait_for(lambda: logged(log, "serving topic volume-scheduler"), log.read_text())
        return proc

    def start_agent(self) -> subprocess.Popen:
        log = self.tmp / "volume-agent.log"
        offset = log.stat().st_size if log.exists() else 0
        proc = start("core.volume.agent", ["--backend", BACKEND, "--pool", "a:60:thick",
                                           "--pool", "b:40:thick"], self.agent_env, log)
        wait_for(lambda: "serving pools" in log.read_text()[offset:], "agent serving")
        return proc

    def stop(self) -> list[int]:
        for proc in [*self.schedulers, self.agent]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=90) for proc in [*self.schedulers, self.agent]]
        self.bus.close()
        return codes

    def pools(self) -> dict[str, VolumePool]:
        with self.db.session() as s:
            return {p.name: p for p in s.scalars(select(VolumePool))}

    def create(self, n: int, size: int = 1) -> list[str]:
        with self.db.session() as s:
            type_id = s.scalars(select(VolumeType.id)
                                .where(VolumeType.name == "__DEFAULT__")).one()
            ids = [str(uuid.uuid4()) for _ in range(n)]
            s.add_all(Volume(id=i, project_id="p1", size=size, volume_type_id=type_id,
                             status="creating") for i in ids)
        client = VolumeSchedulerClient(self.bus)
        for volume_id in ids:
            client.create_volume(volume_id)
        return ids

    def statuses(self) -> dict[str, int]:
        with self.db.session() as s:
            return dict(s.execute(select(Volume.status, func.count())
                                  .group_by(Volume.status)).all())

    def assert_claims_exact(self) -> None:
        with self.db.session() as s:
            claimed = dict(s.execute(select(VolumeClaim.volume_id, VolumeClaim.size_gb)).all())
            placed = dict(s.execute(select(Volume.id, Volume.size)
                                    .where(Volume.host.is_not(None))).all())
            sums = dict(s.execute(select(VolumeClaim.pool_id, func.sum(VolumeClaim.size_gb))
                                  .group_by(VolumeClaim.pool_id)).all())
            pools = list(s.scalars(select(VolumePool)))
        assert claimed == placed
        for pool in pools:
            assert pool.provisioned_capacity_gb == int(sums.get(pool.id, 0)), pool.name
            assert pool.provisioned_capacity_gb <= pool.total_capacity_gb, pool.name


def test_two_schedulers_never_over_subscribe(database, rabbitmq_url, tmp_path):
    cluster = Cluster(database, rabbitmq_url, tmp_path, operation_time=0.0)
    try:
        cluster.create(120)
        wait_for(lambda: cluster.statuses().get("creating", 0) == 0, "creates settled",
                 timeout=120)
        assert cluster.statuses() == {"available": 100, "error": 20}
        cluster.assert_claims_exact()
        assert {p.provisioned_capacity_gb for p in cluster.pools().values()} == {60, 40}
    finally:
        codes = cluster.stop()
    assert codes == [0, 0, 0]
    for i in range(2):
        assert logged(tmp_path / f"volume-scheduler-{i}.log", "stopped")


def test_kill_9_mid_create_leaves_nothing_creating(database, rabbitmq_url, tmp_path):
    cluster = Cluster(database, rabbitmq_url, tmp_path, operation_time=0.2)
    try:
        cluster.create(40)
        time.sleep(1.0)
        assert cluster.statuses().get("creating", 0) > 0  # still in flight
        cluster.schedulers[0].send_signal(signal.SIGKILL)
        cluster.agent.send_signal(signal.SIGKILL)
        cluster.schedulers[0].wait(10)
        cluster.agent.wait(10)
        cluster.agent = cluster.start_agent()  # as supervisord restarts it
        wait_for(lambda: cluster.statuses().get("creating", 0) == 0,
                 f"creates settled: {cluster.statuses()}", timeout=180)
        assert cluster.statuses() == {"available": 40}
        cluster.assert_claims_exact()
    finally:
        cluster.stop()
