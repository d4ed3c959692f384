"""The supervised stack (``make stack``: deploy/stack.py under supervisord) on
PostgreSQL and RabbitMQ: nginx, two API nodes, two conductors, two schedulers,
four simulated agents and the DNS responder, started once for the module.

- every process serves, and a server boots through nginx and resolves in DNS;
- ``kill -9`` of a scheduler: supervisord starts it again, every other process
  keeps its pid, and a boot still works;
- ``kill -9`` of a conductor during 100 builds: every accepted build ends ACTIVE
  or ERROR within a bound, none stays in BUILD; each host's claims equal its
  instances' flavors and its usage counters; the quota in use equals the rows;
- RabbitMQ closes every connection of the stack's vhost, or the database refuses
  connections for a few seconds: afterwards a boot works again and no process
  had to be restarted (what the API answered meanwhile is printed).

The module's end stops the stack (``deploy.stack down``) and fails on any process
that did not exit cleanly.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import dns.resolver
import pytest
from sqlalchemy import select

from core.compute.models import Instance
from core.conductor.build import flavor_resources
from core.db import Database
from core.placement.models import Allocation, ComputeNode
from core.quota.models import QuotaUsage
from tests.conftest import Cli, ksa_session, require_service
from tests.support.cluster import cluster_lock, exclusive
from tests.support.notifications import Notifications
from tests.support.stack import Stack, running_stack, stack_available

pytestmark = [pytest.mark.integration]

AGENTS = 4
BUILDS = 100
KILL_AFTER = 30  # answered boot requests before the conductor is killed
SETTLE_SECONDS = 180  # every build ACTIVE or ERROR within this


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    available, missing = stack_available()
    require_service(available, missing)
    with exclusive(cluster_lock(tmp_path_factory)), running_stack(
            tmp_path_factory.mktemp("stack"), agents=AGENTS, driver_operation_time=0.2,
            report_interval=2, service_down_time=30,
            quota_instances=1000, quota_cores=4000, quota_ram=4_096_000) as running:
        print(f"\nstack up in {running.started_in:.1f} s: {sorted(running.states())}")
        yield running


def boot_and_delete(stack: Stack, name: str) -> dict:
    cli = Cli(stack.api)
    created = cli.json("demo", "server", "create", "--flavor", "m1.tiny", "--image",
                       "nimbus-tiny", "--wait", name)
    cli.run("demo", "server", "delete", "--wait", name)
    return created


def test_every_process_serves_and_a_server_boots(stack):
    states = stack.states()
    assert set(states.values()) == {"RUNNING"}, states
    assert Counter(name.split(":")[0] for name in states) == {
        "api": 2, "conductor": 2, "scheduler": 2, "agent": AGENTS, "dns": 1, "nginx": 1}
    assert "The stack runs under supervisord" in stack.output.read_text()
    cli = Cli(stack.api)
    rows = cli.json("admin", "compute", "service", "list", "--service", "nova-compute")
    assert sorted((r["Host"], r["State"]) for r in rows) == [
        (f"compute-{i:02d}", "up") for i in range(1, AGENTS + 1)]
    created = cli.json("demo", "server", "create", "--flavor", "m1.tiny", "--image",
                       "nimbus-tiny", "--wait", "vm1")
    assert created["status"] == "ACTIVE"
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = ["127.0.0.1"], stack.top.dns_port
    resolver.lifetime = 5.0
    answer = resolver.resolve("vm1.demo.nimbus.test", "A")
    shown = cli.json("demo", "server", "show", "vm1")["addresses"]
    assert [r.address for r in answer] == [ip for ips in shown.values() for ip in ips]
    cli.run("demo", "server", "delete", "--wait", "vm1")


def test_killed_scheduler_is_restarted_alone(stack):
    victim = "scheduler:scheduler-1"
    before = stack.pids()
    since = stack.offsets()
    killed_at = time.monotonic()
    old = stack.kill(victim)
    new = stack.wait_restarted(victim, old, since)
    restarted_in = time.monotonic() - killed_at
    after = stack.pids()
    assert new != old and after[victim] == new
    assert {n: p for n, p in after.items() if n != victim} == {
        n: p for n, p in before.items() if n != victim}, "another process was restarted"
    assert set(stack.states().values()) == {"RUNNING"}
    created = boot_and_delete(stack, "after-scheduler-kill")
    assert created["status"] == "ACTIVE"
    print(f"\nscheduler-1 pid {old} killed -9, pid {new} serving {restarted_in:.1f} s later; "
          f"the other {len(after) - 1} processes kept their pids; a boot worked")


def _boot_all(session, base: str, image_id: str, count: int, on_answer) -> dict[str, int]:
    """POST ``count`` one-server boots from 8 threads; ``on_answer(n)`` after the
    n-th answer. Returns each accepted server's id with its answer's status."""
    answered = 0
    lock = threading.Lock()

    def one(i: int) -> tuple[str | None, int]:
        nonlocal answered
        resp = session.post(f"{base}/compute/v2.1/servers", raise_exc=False, json={
            "server": {"name": f"burst-{i:03d}", "flavorRef": "1", "imageRef": image_id}})
        with lock:
            answered += 1
            on_answer(answered)
        server_id = resp.json()["server"]["id"] if resp.status_code == 202 else None
        return server_id, resp.status_code

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(count)))
    statuses = Counter(code for _, code in results)
    assert statuses == {202: count}, statuses  # a boot is a cast: no conductor in the way
    return {sid: code for sid, code in results if sid is not None}


def _wait_settled(session, base: str, ids: set[str], timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        body = session.get(f"{base}/compute/v2.1/servers/detail?all_tenants=1&limit=1000"
                           ).json()
        states = {s["id"]: s["status"] for s in body["servers"] if s["id"] in ids}
        if len(states) == len(ids) and set(states.values()) <= {"ACTIVE", "ERROR"}:
            return states
        time.sleep(0.5)
    raise AssertionError(f"not settled within {timeout} s: {Counter(states.values())}, "
                         f"{len(ids) - len(states)} missing")


def _check_claims_and_quota(db: Database, project_id: str) -> dict[str, int]:
    """Each host's allocations equal its instances' flavors and its counters; no
    allocation without an instance there; the project's quota in use equals its
    rows. Returns instances per host."""
    with db.session() as s:
        instances = list(s.scalars(select(Instance).where(Instance.deleted.is_(False))))
        nodes = {n.id: n for n in s.scalars(select(ComputeNode))}
        allocations = list(s.scalars(select(Allocation)))
        usage = dict(s.execute(select(QuotaUsage.resource, QuotaUsage.in_use).where(
            QuotaUsage.project_id == project_id)).tuples().all())
    by_host: dict[str, Counter] = defaultdict(Counter)
    for inst in instances:
        if inst.host:
            by_host[inst.host].update(flavor_resources(inst.flavor))
            by_host[inst.host]["instances"] += 1
    consumers = {i.uuid: i.host for i in instances}
    for alloc in allocations:
        assert consumers.get(alloc.consumer_uuid) == nodes[alloc.node_id].host, (
            f"allocation of {alloc.consumer_uuid} on {nodes[alloc.node_id].host}: "
            f"its instance is on {consumers.get(alloc.consumer_uuid)}")
    for node in nodes.values():
        mine = [a for a in allocations if a.node_id == node.id]
        claimed = (sum(a.vcpus for a in mine), sum(a.memory_mb for a in mine),
                   sum(a.disk_gb for a in mine), len(mine))
        want = by_host[node.host]
        assert claimed == (want["vcpus"], want["memory_mb"], want["disk_gb"],
                           want["instances"]), (node.host, claimed, dict(want))
        assert (node.vcpus_used, node.memory_mb_used, node.local_gb_used,
                node.running_vms) == claimed, node.host
    held = [i for i in instances if i.project_id == project_id and i.quota_held]
    assert {r: usage.get(r, 0) for r in ("instances", "cores", "ram")} == {
        "instances": len(held), "cores": sum(int(i.flavor["vcpus"]) for i in held),
        "ram": sum(int(i.flavor["memory_mb"]) for i in held)}, usage
    return {h: c["instances"] for h, c in by_host.items()}


def test_conductor_killed_during_builds(stack):
    base = stack.url
    demo = ksa_session(stack.api, "demo", stack.password("demo"), "demo")
    admin = ksa_session(stack.api, "admin", stack.password("admin"), "admin")
    image_id = demo.get(f"{base}/image/v2/images?name=nimbus-tiny").json()["images"][0]["id"]
    project_id = demo.get_project_id()
    victim = "conductor:conductor-1"
    notifications = Notifications(stack.top.transport_url)
    notifications.listener.start()
    db = Database(stack.top.database_url)
    seen: dict[str, object] = {}
    since = stack.offsets()

    def kill_once(answered: int) -> None:
        if answered == KILL_AFTER:
            seen["victim_pid"] = stack.kill(victim)
            seen["killed_at"] = time.monotonic()

    try:
        started = time.monotonic()
        accepted = _boot_all(demo, base, image_id, BUILDS, kill_once)
        assert "victim_pid" in seen
        new_pid = stack.wait_restarted(victim, int(seen["victim_pid"]), since)  # type: ignore[arg-type]
        restarted_in = time.monotonic() - float(seen["killed_at"])  # type: ignore[arg-type]
        states = _wait_settled(admin, base, set(accepted), SETTLE_SECONDS)
        settled_in = time.monotonic() - started
        per_host = _check_claims_and_quota(db, project_id)

        def publisher_pid(payload: dict) -> int:
            # publisher_id: conductor.conductor-<hostname>-<pid>-<worker>
            return int(payload["publisher_id"].split("-")[-2])

        starts = Counter(publisher_pid(p) for p in notifications.of(
            "compute.instance.create.start"))
        survivor = "conductor:conductor-2"
        redelivered = stack.log(survivor).read_text().count("redelivered message")
        redelivered += stack.log(victim).read_text()[since.get("conductor-1.log", 0):].count(
            "redelivered message")
        print(f"\n{len(accepted)} of {BUILDS} boots accepted; conductor-1 (pid "
              f"{seen['victim_pid']}) killed -9 after answer {KILL_AFTER}, pid {new_pid} "
              f"serving {restarted_in:.1f} s later; all settled {settled_in:.1f} s after the "
              f"first request: {dict(Counter(states.values()))}; create.start by conductor "
              f"pid {dict(starts)}; {redelivered} messages redelivered; instances per host "
              f"{dict(sorted(per_host.items()))}")
        assert int(seen["victim_pid"]) in starts, "the victim took no build"  # type: ignore[call-overload]
        active = [sid for sid, state in states.items() if state == "ACTIVE"]
        assert len(active) >= len(accepted) - 5, Counter(states.values())
    finally:
        notifications.close()
        # Leave the stack empty for the next test.
        servers = admin.get(f"{base}/compute/v2.1/servers?all_tenants=1&limit=1000").json()
        for server in servers["servers"]:
            admin.delete(f"{base}/compute/v2.1/servers/{server['id']}", raise_exc=False)
        deadline = time.monotonic() + 120
        while admin.get(f"{base}/compute/v2.1/servers?all_tenants=1&limit=1000"
                        ).json()["servers"] and time.monotonic() < deadline:
            time.sleep(0.5)
        db.dispose()


def _changed_pids(before: dict[str, int], after: dict[str, int]) -> list[str]:
    return sorted(name for name, pid in after.items() if before.get(name) != pid)


def test_stack_recovers_when_rabbitmq_closes_its_connections(stack):
    before = stack.pids()
    stack.close_rabbitmq_connections("stack test")
    created = boot_and_delete(stack, "after-broker-drop")
    assert created["status"] == "ACTIVE"
    restarted = _changed_pids(before, stack.pids())
    print(f"\nevery broker connection closed; a boot worked afterwards; processes "
          f"restarted by supervisord: {restarted or 'none'}")
    assert set(stack.states().values()) == {"RUNNING"}


def test_stack_recovers_from_a_database_refusing_connections(stack):
    session = ksa_session(stack.api, "demo", stack.password("demo"), "demo")
    session.get_token()
    before = stack.pids()
    statuses: Counter = Counter()
    with stack.database_refusing():
        for _ in range(5):
            resp = session.get(f"{stack.url}/compute/v2.1/flavors", raise_exc=False)
            statuses[resp.status_code] += 1
            time.sleep(0.5)
    assert statuses[200] == 0, statuses  # the outage was real
    deadline = time.monotonic() + 60
    while session.get(f"{stack.url}/compute/v2.1/flavors", raise_exc=False
                      ).status_code != 200:
        assert time.monotonic() < deadline, "the API did not come back"
        time.sleep(0.5)
    created = boot_and_delete(stack, "after-db-outage")
    assert created["status"] == "ACTIVE"
    restarted = _changed_pids(before, stack.pids())
    print(f"\ndatabase refused connections for about 3 s: API answers {dict(statuses)}; "
          f"a boot worked afterwards; processes restarted by supervisord: "
          f"{restarted or 'none'}")
    assert set(stack.states().values()) == {"RUNNING"}
