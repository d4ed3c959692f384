"""kill -9 of a compute agent, a conductor, the volume scheduler and the volume
back end while volumes are being attached and detached, on PostgreSQL and
RabbitMQ (two ``python -m core.conductor`` processes, one ``python -m
core.agent``, one ``python -m core.volume.scheduler``, one ``python -m
core.volume.agent`` serving the two pools; no API node: the test sends what
the API sends). An attach takes no part of the volume processes (the
connection is made in core), so their deaths must not disturb one either.

Servers already run on the agent's host (rows in the database, guests in the
simulated hypervisor's state file); volumes are placed on two pools whose
claimed capacity is the sum of their sizes. Eight attaches and three detaches
are in flight (each hypervisor operation takes a second) when the agent and
one conductor are SIGKILLed, with the volume scheduler and back end; the
agent and the back end come back under their names, as supervisord restarts
them. Within the attach timeout (a few seconds here) no
volume is left ``reserved``, ``attaching`` or ``detaching`` — each is ``in-use``
or ``available`` — and each pool's claimed capacity is still the sum of its
volumes.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from sqlalchemy import func, select, update

from core.compute.rpcapi import ConductorClient
from core.compute.server_volumes import context_message
from core.db import Database
from core.db.migrate import upgrade
from core.messaging import Bus
from core.volume.models import (
    DEFAULT_TYPE,
    Volume,
    VolumeAttachment,
    VolumeClaim,
    VolumePool,
    VolumeType,
)
from tests.db.conftest import postgresql_server  # noqa: F401  (fixture used by name)
from tests.support.cluster import Cluster, clean_env, cluster_lock, exclusive
from tests.support.core_services import MEMBER, add_instance
from tests.unit.core.messaging import rabbit

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("compute-cluster")]

HOST, BACKEND = "compute-a", "node1@sim"
TRANSIENT = ("reserved", "attaching", "detaching")


@pytest.fixture
def one_cluster_at_a_time(tmp_path_factory):
    with exclusive(cluster_lock(tmp_path_factory)):
        yield


@pytest.fixture
def rabbitmq_url():
    with rabbit.broker_url(own_vhost=True) as url:
        yield url


@pytest.fixture
def database(request):
    server = request.getfixturevalue("postgresql_server")
    name = f"nimbus_vattach_{uuid.uuid4().hex[:8]}"
    db = Database(server.create(name))
    try:
        upgrade(db)
        yield db
    finally:
        db.dispose()
        server.drop(name)


def wait_for(predicate, what, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what() if callable(what) else what
        time.sleep(0.2)


def seed(db: Database, state_dir) -> tuple[list[str], list[str]]:
    """Four servers on HOST (and their guests), twelve volumes on two pools."""
    servers = [add_instance(db, host=HOST) for _ in range(4)]
    guests = [{"uuid": u, "name": "vm", "vcpus": 1, "memory_mb": 512, "root_gb": 1,
               "power_state": 1, "volumes": {}} for u in servers]
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / f"{HOST}.json").write_text(json.dumps({"host": HOST, "guests": guests}))
    volumes = []
    with db.session() as s:
        type_id = s.scalar(select(VolumeType.id).where(VolumeType.name == DEFAULT_TYPE))
        pools = [VolumePool(name=f"{BACKEND}#{p}", backend=BACKEND, total_capacity_gb=100,
                            free_capacity_gb=100) for p in ("a", "b")]
        s.add_all(pools)
        s.flush()
        for i in range(12):
            pool = pools[i % 2]
            vol = Volume(project_id="p1", user_id="u1", size=1 + i % 3, status="available",
                         volume_type_id=type_id, host=pool.name, availability_zone="nova")
            s.add(vol)
            s.flush()
            s.add(VolumeClaim(volume_id=vol.id, pool_id=pool.id, size_gb=vol.size))
            pool.provisioned_capacity_gb += vol.size
            volumes.append(vol.id)
    return servers, volumes


def statuses(db: Database) -> dict[str, int]:
    with db.session() as s:
        return dict(s.execute(select(Volume.status, func.count())
                              .group_by(Volume.status)).tuples().all())


def assert_consistent(db: Database) -> None:
    with db.session() as s:
        sums = dict(s.execute(select(Volume.host, func.sum(Volume.size))
                              .group_by(Volume.host)).tuples().all())
        pools = list(s.scalars(select(VolumePool)))
        live = dict(s.execute(select(VolumeAttachment.volume_id, VolumeAttachment.attach_status)
                              ).tuples().all())
        vols = {v.id: v.status for v in s.scalars(select(Volume))}
    for pool in pools:
        assert pool.provisioned_capacity_gb == int(sums.get(pool.name, 0)), pool.name
    for volume_id, status in vols.items():
        assert status in ("available", "in-use"), (volume_id, status)
        assert (live.get(volume_id) == "attached") == (status == "in-use"), volume_id


def test_kill_9_mid_attach_leaves_no_volume_in_between(
        one_cluster_at_a_time, database, rabbitmq_url, tmp_path):
    state_dir = tmp_path / "hypervisors"
    servers, volumes = seed(database, state_dir)
    common = {"transport_url": rabbitmq_url, "report_interval": 0.5,
              "log_level": "INFO", "service_down_time": 30}
    cluster = Cluster(
        tmp_path / "logs",
        clean_env(database_url=database.url, data_dir=tmp_path / "data",
                  build_check_interval=1, volume_attach_timeout=4, **common),
        clean_env(simulated_state_dir=state_dir, driver_operation_time=1.0,
                  resume_guests_state_on_host_boot=True, **common))
    conductors = [cluster.conductor(f"conductor-{i}", workers=2) for i in range(2)]
    agent = cluster.agent(HOST, 8, 8192, 40)
    volume_scheduler = cluster.volume_scheduler("volume-scheduler")
    backend = cluster.volume_agent(BACKEND, ["a:100:thick", "b:100:thick"])
    bus = Bus(rabbitmq_url)
    try:
        cluster.start([*conductors, agent, volume_scheduler, backend], timeout=90)
        client = ConductorClient(bus, timeout=30)
        context = context_message(MEMBER)
        # Four volumes attached and settled; three of them then being detached.
        for i in range(4):
            assert client.attach_volume(servers[i], volumes[i], context)["ok"]
        wait_for(lambda: statuses(database).get("in-use", 0) == 4,
                 lambda: f"first attaches: {statuses(database)}")
        with database.session() as s:
            rows = list(s.scalars(select(VolumeAttachment)
                                  .where(VolumeAttachment.volume_id.in_(volumes[:3]))))
            s.execute(update(Volume).where(Volume.id.in_(volumes[:3]))
                      .values(status="detaching"))  # the API's begin_detaching
        for row in rows:
            client.detach_volume(row.instance_uuid, row.id)
        # Eight more attaches, two per server.
        for i, volume_id in enumerate(volumes[4:]):
            answer = client.attach_volume(servers[i % 4], volume_id, context)
            assert answer["ok"], answer
        time.sleep(0.5)
        assert sum(statuses(database).get(s, 0) for s in TRANSIENT) > 0  # in flight
        agent.kill()
        conductors[0].kill()
        volume_scheduler.kill()
        backend.kill()
        restarted = [agent, backend]
        served = [sum("serving" in str(r.get("msg", "")) for r in s.records())
                  for s in restarted]
        for service in restarted:
            service.start()  # as supervisord restarts it, under its name
        for service, before in zip(restarted, served, strict=True):
            wait_for(lambda s=service, n=before: sum(
                "serving" in str(r.get("msg", "")) for r in s.records()) > n, service.log_tail)
        wait_for(lambda: not any(statuses(database).get(s, 0) for s in TRANSIENT),
                 lambda: f"still in between: {statuses(database)}", timeout=45)
        assert_consistent(database)
        assert set(statuses(database)) <= {"available", "in-use"}
    finally:
        bus.close()
        cluster.stop_all()
