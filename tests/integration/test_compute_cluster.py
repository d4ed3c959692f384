"""The scale-out topology as separate processes on PostgreSQL and RabbitMQ.

One API node (gunicorn, no control plane inside), two conductors, two
schedulers and five compute agents. The agents run with no database URL and an
empty data directory — they reach the database only through the conductors —
and the directory is still empty at the end.

A burst of 40 boots runs while one conductor is SIGKILLed with builds in hand
(the schedulers are paused with SIGSTOP, so both conductors' workers wait in
``select_destinations`` holding a message when the victim dies): every instance still
becomes ACTIVE exactly once (one ``compute.instance.create.end`` each), on one
host, with one allocation and one fixed IP, and every node's usage counters equal
its allocations. Then the real CLI lists and shows the servers; one agent is
stopped, goes ``down`` after ``service_down_time`` and gets no new instance; and
``openstack server delete --wait`` gives every allocation and address back.

A second test starts the operators' ``deploy/run-cluster.sh`` (the supervised
topology of deploy/supervisord.conf.template in the foreground), boots a server
through it and stops it with SIGTERM.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import dns.resolver
import pytest
from sqlalchemy import func, select

from core.compute.models import Instance
from core.db import Database
from core.network.models import IpAllocation, Port
from core.placement.models import Allocation, ComputeNode
from deploy.supervised import process_infos
from tests.conftest import Cli, ksa_session
from tests.db.conftest import postgresql_server  # noqa: F401  (fixture used by name)
from tests.support.cluster import ROOT, Cluster, clean_env, cluster_lock, exclusive
from tests.support.notifications import Notifications
from tests.support.server import free_port, make_server
from tests.unit.core.messaging import rabbit

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("compute-cluster")]

HOSTS = [f"compute-{c}" for c in "abcde"]
BURST, LATE_BOOTS = 40, 8  # boots; boots after the agent stops
# Each host: 8 vCPUs (x4 overcommit), room for 16 m1.tiny by RAM.
HOST_VCPUS, HOST_MEMORY_MB, HOST_DISK_GB = 8, 8192, 40
REPORT_INTERVAL, SERVICE_DOWN_TIME, OPERATION_TIME = 0.5, 3, 0.2
CREATE_END = "compute.instance.create.end"


@pytest.fixture
def one_cluster_at_a_time(tmp_path_factory):
    """Each test here runs a dozen processes: on two cores, one test at a time."""
    with exclusive(cluster_lock(tmp_path_factory)):
        yield


@pytest.fixture
def rabbitmq_url():
    with rabbit.broker_url(own_vhost=True) as url:
        yield url


@pytest.fixture
def database_url(request):
    server = request.getfixturevalue("postgresql_server")
    name = f"nimbus_cluster_{uuid.uuid4().hex[:8]}"
    url = server.create(name)
    try:
        yield url
    finally:
        server.drop(name)


def wait_servers(session, base: str, ids: set[str], timeout: float = 60.0) -> dict[str, dict]:
    """Poll the API (admin, all projects) until every server in ``ids`` is ACTIVE
    with no task; fail at once on ERROR."""
    deadline = time.monotonic() + timeout
    last: dict[str, dict] = {}
    while time.monotonic() < deadline:
        body = session.get(f"{base}/compute/v2.1/servers/detail?all_tenants=1&limit=1000").json()
        last = {s["id"]: s for s in body["servers"] if s["id"] in ids}
        errors = [s for s in last.values() if s["status"] == "ERROR"]
        assert not errors, [(s["id"], s.get("fault")) for s in errors]
        if len(last) == len(ids) and all(
                s["status"] == "ACTIVE" and s["OS-EXT-STS:task_state"] is None
                for s in last.values()):
            return last
        time.sleep(0.3)
    states = Counter((s["status"], s["OS-EXT-STS:task_state"]) for s in last.values())
    raise AssertionError(f"servers not ACTIVE within {timeout} s: {states}")


def boot(session, base: str, image_id: str, names: list[str], kill=None) -> list[str]:
    """POST one server per name from a thread pool; ``kill(n)`` runs after the n-th
    answer. Returns the new server ids."""
    answered = 0
    lock = threading.Lock()

    def one(name: str) -> str:
        nonlocal answered
        resp = session.post(f"{base}/compute/v2.1/servers", json={"server": {
            "name": name, "flavorRef": "1", "imageRef": image_id}})
        assert resp.status_code == 202, resp.text
        with lock:
            answered += 1
            if kill is not None:
                kill(answered)
        return resp.json()["server"]["id"]

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, names))


def check_placement(db: Database, ids: set[str], hosts: list[str]) -> dict[str, str]:
    """Every instance on one of ``hosts`` with exactly one allocation there and one
    fixed IP; every node's counters equal its allocations; no other allocation."""
    with db.session() as s:
        instances = {i.uuid: i for i in s.scalars(select(Instance).where(
            Instance.deleted.is_(False)))}
        nodes = {n.id: n for n in s.scalars(select(ComputeNode))}
        allocations = list(s.scalars(select(Allocation)))
        addresses = Counter(s.scalars(select(Port.device_id).join(
            IpAllocation, IpAllocation.port_id == Port.id).where(
            Port.device_owner.like("compute:%"))))
    assert set(instances) == ids
    placed = {u: i.host for u, i in instances.items()}
    assert set(placed.values()) <= set(hosts), Counter(placed.values())
    by_consumer = defaultdict(list)
    for a in allocations:
        by_consumer[a.consumer_uuid].append(nodes[a.node_id].host)
    assert {u: hosts_ for u, hosts_ in by_consumer.items()} == {
        u: [h] for u, h in placed.items()}, "allocations and instances differ"
    for node in nodes.values():
        mine = [a for a in allocations if a.node_id == node.id]
        assert (node.vcpus_used, node.memory_mb_used, node.local_gb_used, node.running_vms) == (
            sum(a.vcpus for a in mine), sum(a.memory_mb for a in mine),
            sum(a.disk_gb for a in mine), len(mine)), node.host
    assert addresses == Counter({u: 1 for u in ids}), "one fixed IP per instance"
    return placed


def test_compute_cluster(one_cluster_at_a_time, database_url, rabbitmq_url, tmp_path):
    started = time.monotonic()
    settings = dict(database_url=database_url, transport_url=rabbitmq_url,
                    run_control_plane="false", report_interval=REPORT_INTERVAL,
                    service_down_time=SERVICE_DOWN_TIME, quota_instances=-1,
                    quota_cores=-1, quota_ram=-1, log_level="INFO")
    api = make_server(tmp_path / "controller", **settings)
    api.bootstrap()
    controller_env = clean_env(data_dir=api.data_dir, bcrypt_rounds=4, **settings)
    # Agents: the bus and their own knobs, no database URL, an empty data directory.
    agent_dir = tmp_path / "agent-data"
    agent_dir.mkdir()
    agent_env = clean_env(transport_url=rabbitmq_url, data_dir=agent_dir,
                          report_interval=REPORT_INTERVAL, driver_operation_time=OPERATION_TIME,
                          log_level="INFO")
    assert not any(k.startswith("NIMBUS_DATABASE") for k in agent_env)
    cluster = Cluster(tmp_path / "logs", controller_env, agent_env)
    conductors = [cluster.conductor(f"conductor-{i}") for i in (1, 2)]
    schedulers = [cluster.scheduler(f"scheduler-{i}") for i in (1, 2)]
    agents = {h: cluster.agent(h, HOST_VCPUS, HOST_MEMORY_MB, HOST_DISK_GB) for h in HOSTS}
    notifications = Notifications(rabbitmq_url)
    db = Database(database_url)
    try:
        notifications.listener.start()  # declares the queue: nothing is dropped from now on
        cluster.start([*conductors, *schedulers])
        cluster.start(list(agents.values()))
        api.start(workers=1)
        base = api.url
        demo = ksa_session(api, "demo", api.password("demo"), "demo")
        admin = ksa_session(api, "admin", api.password("admin"), "admin")
        image_id = demo.get(f"{base}/image/v2/images?name=nimbus-tiny").json()["images"][0]["id"]
        print(f"cluster up after {time.monotonic() - started:.1f} s")

        # ---- a. a burst of boots; one conductor SIGKILLed in the middle ----------
        victim, survivor = conductors
        create_start = "compute.instance.create.start"

        def publisher_pid(payload: dict) -> int:
            # publisher_id: conductor.conductor-<hostname>-<pid>-<worker>
            return int(payload["publisher_id"].split("-")[-2])

        burst_started = time.monotonic()
        for s in schedulers:  # conductors now hold each build they take until resumed
            s.signal(signal.SIGSTOP)
        try:
            ids = boot(demo, base, image_id, [f"burst-{i:02d}" for i in range(BURST)])
            # create.start goes out before select_destinations: once the victim has
            # sent one, it holds that build unacknowledged, waiting for a scheduler.
            deadline = time.monotonic() + 20
            while not any(publisher_pid(p) == victim.pid
                          for p in notifications.of(create_start)):
                assert time.monotonic() < deadline, "the victim took no build"
                time.sleep(0.05)
            held = {p["instance_id"] for p in notifications.of(create_start)
                    if publisher_pid(p) == victim.pid}
            victim.kill()
        finally:
            for s in schedulers:
                s.signal(signal.SIGCONT)
        assert not victim.alive()
        assert len(set(ids)) == BURST
        servers = wait_servers(admin, base, set(ids))
        print(f"burst ACTIVE after {time.monotonic() - burst_started:.1f} s")
        notifications.wait_count(CREATE_END, set(ids), timeout=20)
        time.sleep(1.0)  # a duplicate would arrive now
        ends = Counter(p["instance_id"] for p in notifications.of(CREATE_END))
        assert ends == Counter({i: 1 for i in ids}), "create.end not exactly once"
        placed = check_placement(db, set(ids), HOSTS)
        assert {s["id"]: s["OS-EXT-SRV-ATTR:host"] for s in servers.values()} == placed
        # The victim's builds in hand went to the survivor, which finished them.
        publishers = Counter(publisher_pid(p) for p in notifications.of(create_start))
        redelivered = [r for r in survivor.records() if "redelivered" in str(r.get("msg", ""))]
        print(f"create.start by conductor pid: {dict(publishers)} (victim {victim.pid}, "
              f"{len(held)} builds in hand); {len(redelivered)} messages redelivered to the "
              f"survivor; hosts: {dict(Counter(placed.values()))}")
        assert victim.pid in publishers and survivor.pid in publishers, publishers
        assert redelivered, "the killed conductor's builds were not redelivered"
        restarted = {p["instance_id"] for p in notifications.of(create_start)
                     if publisher_pid(p) == survivor.pid}
        assert held <= restarted, "a build the victim held was not taken over"

        # ---- b. the real CLI through the API node ---------------------------------
        cli = Cli(api)
        listed = cli.json("demo", "server", "list")
        assert sorted(s["ID"] for s in listed) == sorted(ids)
        assert {s["Status"] for s in listed} == {"ACTIVE"}
        shown = cli.json("admin", "server", "show", ids[0])
        assert shown["status"] == "ACTIVE" and shown["OS-EXT-STS:task_state"] is None
        assert shown["OS-EXT-SRV-ATTR:host"] == placed[ids[0]]
        assert "10.0." in str(shown["addresses"])

        # ---- c. an agent stops: down after service_down_time, gets nothing new ----
        gone = "compute-e"
        stopped_at = time.monotonic()
        assert agents[gone].stop() == 0, agents[gone].log_tail()

        def service_states() -> dict[str, str]:
            rows = admin.get(f"{base}/compute/v2.1/os-services?binary=nova-compute").json()
            return {r["host"]: r["state"] for r in rows["services"]}

        while (state := service_states())[gone] != "down":
            assert time.monotonic() < stopped_at + SERVICE_DOWN_TIME + 10, state
            time.sleep(0.2)
        # Down once service_down_time has passed since its last heartbeat (at most one
        # report interval, plus the time to stop, before the SIGTERM).
        assert time.monotonic() - stopped_at >= SERVICE_DOWN_TIME - REPORT_INTERVAL - 1
        rows = cli.json("admin", "compute", "service", "list", "--service", "nova-compute")
        assert {r["Host"]: r["State"] for r in rows} == {
            h: "down" if h == gone else "up" for h in HOSTS}
        late = boot(demo, base, image_id, [f"late-{i}" for i in range(LATE_BOOTS)])
        late_servers = wait_servers(admin, base, set(late))
        assert gone not in {s["OS-EXT-SRV-ATTR:host"] for s in late_servers.values()}
        notifications.wait_count(CREATE_END, set(late), timeout=20)
        check_placement(db, set(ids) | set(late), HOSTS)

        # ---- d. delete everything; allocations and addresses are given back -------
        cli.run("demo", "server", "delete", "--wait", *ids, *late)
        assert cli.json("demo", "server", "list") == []
        with db.session() as s:
            assert s.scalar(select(func.count()).select_from(Allocation)) == 0
            assert s.scalar(select(func.count()).select_from(Port).where(
                Port.device_owner.like("compute:%"))) == 0
            assert s.scalar(select(func.count()).select_from(Instance).where(
                Instance.deleted.is_(False))) == 0
            used = [(n.host, n.vcpus_used, n.memory_mb_used, n.local_gb_used, n.running_vms)
                    for n in s.scalars(select(ComputeNode))]
        assert used == [(h, 0, 0, 0, 0) for h, *_ in used]
    finally:
        api.stop()
        codes = cluster.stop_all()
        notifications.listener.stop()
        notifications.bus.close()
        db.dispose()
        print(f"test ran {time.monotonic() - started:.1f} s")
    # A clean stop everywhere (the victim was killed), and not one file by the agents.
    assert {n: c for n, c in codes.items() if n != victim.name} == {
        s.name: 0 for s in cluster.services if s is not victim}, codes
    assert list(agent_dir.iterdir()) == []


def test_run_cluster_script(one_cluster_at_a_time, database_url, rabbitmq_url, tmp_path):
    """deploy/run-cluster.sh runs the supervised topology in the foreground on the
    database and broker it is given: a server boots through its nginx and resolves in
    its DNS responder, and SIGTERM stops every process it started, each cleanly."""
    port, dns_port = free_port(), free_port()
    run_dir = tmp_path / "cluster"
    env = clean_env(database_url=database_url, transport_url=rabbitmq_url, port=port,
                    dns_port=dns_port, bcrypt_rounds=4, report_interval=REPORT_INTERVAL,
                    service_down_time=SERVICE_DOWN_TIME)
    env.update(NIMBUS_STACK_DIR=str(run_dir), PYTHON=sys.executable)
    out = tmp_path / "run-cluster.out"
    with open(out, "wb") as sink:
        script = subprocess.Popen(
            [str(ROOT / "deploy" / "run-cluster.sh"), "--api-nodes", "1", "--api-ports",
             str(free_port()), "--agents", "3"],
            cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True)
    hosts = ["compute-01", "compute-02", "compute-03"]
    try:
        deadline = time.monotonic() + 180
        while "The stack runs under supervisord" not in out.read_text():
            assert script.poll() is None, out.read_text()
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.2)
        pids = {name: info["pid"] for name, info in process_infos(run_dir).items()}
        assert sorted(pids) == [*(f"agent:{h}" for h in hosts), "api:api-1",
                                "conductor:conductor-1", "conductor:conductor-2", "dns",
                                "nginx", "scheduler:scheduler-1", "scheduler:scheduler-2",
                                "volume-scheduler:volume-scheduler-1",
                                "volume-scheduler:volume-scheduler-2", "volume:volume-1"]
        api = make_server(run_dir / "data", port=port)  # for its clouds.yaml and CLI env
        cli = Cli(api)
        rows = cli.json("admin", "compute", "service", "list", "--service", "nova-compute")
        assert sorted((r["Host"], r["State"]) for r in rows) == [(h, "up") for h in hosts]
        created = cli.json("demo", "server", "create", "--flavor", "m1.tiny", "--image",
                           "nimbus-tiny", "--wait", "vm1")
        assert created["status"] == "ACTIVE"
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers, resolver.port, resolver.lifetime = ["127.0.0.1"], dns_port, 5.0
        answer = resolver.resolve("vm1.demo.nimbus.test", "A")
        shown = cli.json("demo", "server", "show", "vm1")["addresses"]  # {"public": [ip]}
        assert [r.address for r in answer] == [ip for ips in shown.values() for ip in ips]
        cli.run("demo", "server", "delete", "--wait", "vm1")
        stopping = time.monotonic()
        script.send_signal(signal.SIGTERM)
        assert script.wait(timeout=120) == 0, out.read_text()[-3000:]
        print(f"run-cluster.sh stopped {len(pids)} processes in "
              f"{time.monotonic() - stopping:.1f} s")
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
            script.wait()
    for name, pid in pids.items():
        assert not os.path.exists(f"/proc/{pid}"), f"{name} still runs"
    stopped = re.findall(r"stopped: (\S+) \((.*?)\)", (run_dir / "supervisord.log").read_text())
    assert sorted(stopped) == sorted((n.split(":")[-1], "exit status 0") for n in pids)
    for log in (run_dir / "logs").glob("*.log"):
        assert "Traceback" not in log.read_text(), log.name
    assert list((run_dir / "agent-data").iterdir()) == []  # the agents wrote nothing
