"""Two ``python -m core.scheduler`` processes on PostgreSQL and RabbitMQ, racing.

A tight fleet (20 nodes with room for 900 small instances) gets 1,000 concurrent
one-instance ``select_destinations`` calls over the bus. The two schedulers read
stale host states and race for the same hosts; the claims in the database must
keep every node within capacity, its counters equal to its allocations, and no
room unused: exactly 900 calls succeed and 100 get NoValidHost.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.compute.models import ComputeService
from core.db import Database
from core.db.migrate import upgrade
from core.messaging import Bus, RemoteError
from core.placement.models import Allocation, ComputeNode
from tests.db.conftest import postgresql_server  # noqa: F401  (fixture used by name)
from tests.unit.core.messaging import rabbit

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("two-schedulers")]

REPO = Path(__file__).resolve().parents[2]
NODES, PER_NODE, CALLS, CLIENT_THREADS = 20, 45, 1000, 48
FLAVOR = {"vcpus": 1, "memory_mb": 512, "root_gb": 1, "ephemeral_gb": 0, "swap": 0,
          "extra_specs": {}}


@pytest.fixture(scope="module")
def rabbitmq_url():
    with rabbit.broker_url() as url:
        yield url


@pytest.fixture
def database(request):
    """A fresh PostgreSQL database, migrated, with the fleet registered."""
    server = request.getfixturevalue("postgresql_server")
    name = f"nimbus_sched_{uuid.uuid4().hex[:8]}"
    db = Database(server.create(name))
    try:
        upgrade(db)
        now = datetime.now(UTC)
        with db.session() as s:
            for i in range(NODES):
                host = f"node-{i:02d}"
                s.add(ComputeNode(host=host, hypervisor_hostname=host, vcpus=16,
                                  memory_mb=PER_NODE * FLAVOR["memory_mb"], local_gb=100))
                s.add(ComputeService(host=host, binary="nova-compute", topic="compute",
                                     last_seen_up=now))
        yield db
    finally:
        db.dispose()
        server.drop(name)


def start_scheduler(db_url: str, bus_url: str, data_dir: Path, log: Path
                    ) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIMBUS_")}
    env.update(PYTHONPATH=str(REPO), NIMBUS_DATABASE_URL=db_url, NIMBUS_TRANSPORT_URL=bus_url,
               NIMBUS_DATA_DIR=str(data_dir), NIMBUS_SERVICE_DOWN_TIME="3600",
               NIMBUS_LOG_LEVEL="INFO")
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "core.scheduler"], cwd=REPO, env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def log_records(log: Path) -> list[dict]:
    records = []
    for line in log.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            pass
    return records


def wait_serving(proc: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any("serving topic" in r.get("msg", "") for r in log_records(log)):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"scheduler did not start:\n{log.read_text()}")


def test_two_schedulers_never_overcommit(database, rabbitmq_url, tmp_path):
    logs = [tmp_path / f"scheduler-{i}.log" for i in range(2)]
    procs = [start_scheduler(database.url, rabbitmq_url, tmp_path / "data", log)
             for log in logs]
    bus = Bus(rabbitmq_url)
    try:
        for proc, log in zip(procs, logs, strict=True):
            wait_serving(proc, log)

        def one_call(_: int) -> str:
            spec = {"project_id": "p", "user_id": "u", "instance_uuids": [str(uuid.uuid4())],
                    "flavor": FLAVOR, "image": {"id": "img", "properties": {}},
                    "scheduler_hints": {}, "ignore_hosts": []}
            try:
                result = bus.call("scheduler", "select_destinations", {"spec": spec},
                                  timeout=60)
            except RemoteError as exc:
                return exc.exc_type
            assert len(result) == 1 and result[0][0]["host"].startswith("node-")
            return "ok"

        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            outcomes = Counter(pool.map(one_call, range(CALLS)))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=20) for proc in procs]
        bus.close()

    assert outcomes == {"ok": NODES * PER_NODE, "NoValidHost": CALLS - NODES * PER_NODE}
    assert codes == [0, 0], [log.read_text()[-2000:] for log in logs]
    served = []
    for log in logs:
        (stopped,) = [r for r in log_records(log) if r.get("msg", "").startswith("scheduler")
                      and "stopped after" in r["msg"]]
        served.append(stopped["calls"])
    assert all(n > 0 for n in served), served
    assert sum(served) == CALLS

    with database.session() as s:
        sums = {r.node_id: r for r in s.execute(
            select(Allocation.node_id, func.sum(Allocation.vcpus).label("vcpus"),
                   func.sum(Allocation.memory_mb).label("ram"),
                   func.sum(Allocation.disk_gb).label("disk"),
                   func.count().label("n")).group_by(Allocation.node_id))}
        nodes = list(s.scalars(select(ComputeNode)))
    assert len(nodes) == NODES
    for n in nodes:
        r = sums[n.id]
        assert (n.vcpus_used, n.memory_mb_used, n.local_gb_used, n.running_vms) == (
            r.vcpus, r.ram, r.disk, r.n), n.host
        assert n.memory_mb_used <= n.memory_mb * n.ram_allocation_ratio
        assert n.vcpus_used <= n.vcpus * n.cpu_allocation_ratio
        assert n.local_gb_used <= n.local_gb * n.disk_allocation_ratio
        assert n.running_vms == PER_NODE  # the fleet is exactly full
