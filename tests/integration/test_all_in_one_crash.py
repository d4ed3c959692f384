"""The all-in-one killed with ``kill -9`` during a burst of boots, then started
again on the same data directory, as issue 10 (defect 2) observed it: builds stayed
in BUILD for good, and servers that were ACTIVE were no longer on the simulated
hypervisor, so stop and reboot answered 202 and did nothing.

After the restart: no server stays in BUILD; every build the crash interrupted is
ERROR with a fault saying so; servers that were running come back SHUTOFF (their
host rebooted, as Nova's power-state sync shows it) and start, reboot and stop
again through the real client; every node's usage equals its allocations, the
allocations equal the flavors of the instances on it, and quota in use equals
the rows that hold it.
"""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor, wait

import openstack
from sqlalchemy import create_engine, text

from tests.support.server import make_server

BURST = 30
FLAVOR = "m1.tiny"
IMAGE = "nimbus-tiny"


def connect(srv, monkeypatch) -> openstack.connection.Connection:
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(srv.clouds_yaml))
    return openstack.connect(cloud="demo")


def servers_by_status(conn) -> dict[str, str]:
    return {s.id: s.status for s in conn.compute.servers()}


def wait_status(conn, server_id: str, status: str, timeout: float = 30.0):
    server = conn.compute.get_server(server_id)
    return conn.compute.wait_for_server(server, status=status, wait=timeout, interval=0.2)


def invariants(db_url: str) -> dict[str, object]:
    """What the database says about claims, usage and quota, checked against each
    other."""
    engine = create_engine(db_url)
    with engine.connect() as c:
        nodes = {row.id: row for row in c.execute(text(
            "SELECT id, host, vcpus_used, memory_mb_used, running_vms FROM compute_nodes"))}
        allocs = c.execute(text(
            "SELECT node_id, SUM(vcpus) v, SUM(memory_mb) m, COUNT(*) n FROM allocations "
            "GROUP BY node_id")).all()
        on_hosts = c.execute(text(
            "SELECT host, SUM(vcpus) v, SUM(memory_mb) m, COUNT(*) n FROM instances WHERE "
            "deleted = 0 AND host IS NOT NULL GROUP BY host")).all()
        held = c.execute(text(
            "SELECT project_id, COUNT(*), SUM(vcpus), SUM(memory_mb) FROM instances "
            "WHERE deleted = 0 AND quota_held = 1 GROUP BY project_id")).all()
        usage = {(r.project_id, r.resource): r.in_use for r in c.execute(text(
            "SELECT project_id, resource, in_use FROM quota_usages"))}
    engine.dispose()
    by_node = {nodes[a.node_id].host: (a.v, a.m, a.n) for a in allocs}
    for node in nodes.values():
        assert (node.vcpus_used, node.memory_mb_used, node.running_vms) == \
            by_node.get(node.host, (0, 0, 0)), node.host
    assert by_node == {h.host: (h.v, h.m, h.n) for h in on_hosts}
    for project, count, vcpus, ram in held:
        assert (usage.get((project, "instances")), usage.get((project, "cores")),
                usage.get((project, "ram"))) == (count, vcpus, ram), project
    return {"allocations": by_node, "quota_rows": held}


def test_a_crashed_all_in_one_recovers_on_restart(tmp_path, monkeypatch):
    srv = make_server(tmp_path / "aio", quota_instances="100", quota_cores="400",
                      quota_ram="1000000", driver_operation_time="0.3")
    srv.bootstrap()
    srv.start()
    try:
        conn = connect(srv, monkeypatch)
        flavor = conn.compute.find_flavor(FLAVOR)
        image = conn.image.find_image(IMAGE)
        before = [conn.compute.create_server(name=f"before-{i}", flavor_id=flavor.id,
                                             image_id=image.id, networks="auto") for i in range(3)]
        for s in before:
            wait_status(conn, s.id, "ACTIVE")
        conn.compute.stop_server(before[2])
        wait_status(conn, before[2].id, "SHUTOFF")

        def boot(i: int) -> str:
            return conn.compute.create_server(name=f"burst-{i}", flavor_id=flavor.id,
                                              image_id=image.id, networks="auto").id

        pool = ThreadPoolExecutor(8)
        futures = [pool.submit(boot, i) for i in range(BURST)]
        deadline = time.monotonic() + 60
        while sum(f.done() for f in futures) < BURST * 2 // 3:
            assert time.monotonic() < deadline, "the burst did not get going"
            time.sleep(0.02)
        srv.stop(signal.SIGKILL)  # the whole process group, mid-burst
        wait(futures)
        pool.shutdown()
        accepted = [f.result() for f in futures if f.exception() is None]
        in_build = [i for i, st in servers_by_status_offline(srv).items() if st == "BUILD"]
        print(f"crash: {len(accepted)} of {BURST} boots accepted, {len(in_build)} in BUILD")

        srv.start()
        conn = connect(srv, monkeypatch)
        deadline = time.monotonic() + 30
        while "BUILD" in (statuses := servers_by_status(conn)).values():
            assert time.monotonic() < deadline, statuses
            time.sleep(0.2)
        counts: dict[str, int] = {}
        for status in statuses.values():
            counts[status] = counts.get(status, 0) + 1
        print(f"after the restart: {counts}")
        assert set(accepted) <= set(statuses)
        assert set(statuses.values()) <= {"ACTIVE", "SHUTOFF", "ERROR"}
        for server_id, status in statuses.items():
            if status == "ERROR":
                fault = conn.compute.get_server(server_id).fault or {}
                assert "interrupted" in fault.get("message", ""), fault
        # The servers that ran before the crash: their host "rebooted".
        for s in before:
            server = conn.compute.get_server(s.id)
            assert (server.status, server.power_state) == ("SHUTOFF", 4)
        # ... and they answer actions again.
        conn.compute.start_server(before[0])
        wait_status(conn, before[0].id, "ACTIVE")
        conn.compute.reboot_server(before[0], "HARD")
        time.sleep(0.1)
        wait_status(conn, before[0].id, "ACTIVE")
        conn.compute.stop_server(before[0])
        wait_status(conn, before[0].id, "SHUTOFF")
        # A new boot works, and the books balance.
        new = conn.compute.create_server(name="after", flavor_id=flavor.id, image_id=image.id, networks="auto")
        wait_status(conn, new.id, "ACTIVE")
        seen = invariants(f"sqlite:///{srv.data_dir / 'nimbus.db'}")
        print(f"claims per host: {seen['allocations']}")
        assert srv.errors_since() == []
    finally:
        srv.stop()


def servers_by_status_offline(srv) -> dict[str, str]:
    """Instance states straight from the database while the server is down."""
    engine = create_engine(f"sqlite:///{srv.data_dir / 'nimbus.db'}")
    with engine.connect() as c:
        rows = c.execute(text("SELECT uuid, vm_state FROM instances WHERE deleted = 0")).all()
    engine.dispose()
    return {r.uuid: "BUILD" if r.vm_state == "building" else r.vm_state for r in rows}
