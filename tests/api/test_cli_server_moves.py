"""The real `openstack` CLI moving servers on the all-in-one controller (four
simulated hosts): shelve / unshelve, rebuild, cold migration with confirm, live
migration, evacuation from a host forced down, and the migration list. Setup
and checks go through openstacksdk; after each move the server's placement
allocation is on exactly the host it runs on (read from the server's database)."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing

import pytest

from tests.conftest import unique

pytestmark = pytest.mark.usefixtures("no_server_errors")
WAIT = 60.0
TINY = (1, 512, 1)  # m1.tiny: vcpus, memory_mb, disk_gb


def allocations(server, uuid: str) -> list[tuple[str, int, int, int]]:
    db = f"file:{server.data_dir / 'nimbus.db'}?mode=ro"
    with closing(sqlite3.connect(db, uri=True)) as conn:
        return sorted(conn.execute(
            "SELECT n.host, a.vcpus, a.memory_mb, a.disk_gb FROM allocations a "
            "JOIN compute_nodes n ON n.id = a.node_id WHERE a.consumer_uuid = ?", (uuid,)))


def wait_status(admin_client, sid: str, status: str) -> object:
    deadline = time.monotonic() + WAIT
    server = None
    while time.monotonic() < deadline:
        server = admin_client.compute.get_server(sid)
        if server.status == status and not server.task_state:
            return server
        assert server.status != "ERROR", server.fault
        time.sleep(0.1)
    raise AssertionError(f"{sid} did not reach {status}: {server}")


def claimed_host(server, admin_client, sid: str) -> str:
    """The server's host, which holds its only allocation, as big as m1.tiny."""
    host = admin_client.compute.get_server(sid).compute_host
    assert host and allocations(server, sid) == [(host, *TINY)]
    return host


@pytest.fixture
def booted(demo_client, admin_client):
    image = demo_client.image.find_image("nimbus-tiny")
    flavor = demo_client.compute.find_flavor("m1.tiny")
    made: list[str] = []

    def boot() -> str:
        # from 2.37 (the sdk asks for the server's latest) networks are required
        server = demo_client.compute.create_server(name=unique("cli-move"), image_id=image.id,
                                                   flavor_id=flavor.id, networks="auto")
        made.append(server.id)
        wait_status(admin_client, server.id, "ACTIVE")
        return server.id

    yield boot
    for sid in made:
        demo_client.compute.delete_server(sid, ignore_missing=True)


def test_shelve_unshelve_and_rebuild_with_the_cli(cli, server, booted, admin_client):
    sid = booted()
    cli.run("demo", "server", "shelve", sid)
    wait_status(admin_client, sid, "SHELVED_OFFLOADED")
    assert admin_client.compute.get_server(sid).compute_host is None
    assert allocations(server, sid) == []
    cli.run("demo", "server", "unshelve", sid)
    wait_status(admin_client, sid, "ACTIVE")
    host = claimed_host(server, admin_client, sid)

    shown = cli.json("demo", "server", "rebuild", "--image", "nimbus-tiny", sid)
    assert shown["id"] == sid and shown.get("adminPass")
    wait_status(admin_client, sid, "ACTIVE")
    assert claimed_host(server, admin_client, sid) == host
    refused = cli.run("demo", "server", "migrate", sid, check=False)
    assert refused.returncode != 0 and "403" in refused.stderr


def test_migrations_with_the_cli(cli, server, booted, admin_client):
    sid = booted()
    source = claimed_host(server, admin_client, sid)
    cli.run("admin", "server", "migrate", sid)
    wait_status(admin_client, sid, "VERIFY_RESIZE")
    cli.run("admin", "server", "migrate", "confirm", sid)
    wait_status(admin_client, sid, "ACTIVE")
    cold = claimed_host(server, admin_client, sid)
    assert cold != source

    cli.run("admin", "server", "migrate", "--live-migration", sid)
    deadline = time.monotonic() + WAIT
    while admin_client.compute.get_server(sid).compute_host == cold:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    wait_status(admin_client, sid, "ACTIVE")
    live = claimed_host(server, admin_client, sid)
    assert live != cold

    listed = cli.json("admin", "server", "migration", "list", "--server", sid)
    kinds = sorted((m.get("Type") or m.get("Migration Type"), m["Status"]) for m in listed)
    assert kinds == [("live-migration", "completed"), ("migration", "confirmed")], listed


def test_evacuate_with_the_cli(cli, server, booted, admin_client):
    sid = booted()
    source = claimed_host(server, admin_client, sid)
    refused = cli.run("admin", "server", "evacuate", sid, check=False)
    assert refused.returncode != 0 and "still in use" in refused.stderr
    service = next(s for s in admin_client.compute.services(binary="nova-compute")
                   if s.host == source)
    cli.run("admin", "--os-compute-api-version", "2.11", "compute", "service", "set",
            "--down", source, "nova-compute")
    try:
        cli.run("admin", "server", "evacuate", sid)
        deadline = time.monotonic() + WAIT
        while admin_client.compute.get_server(sid).compute_host in (None, source):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        # from 2.95 (the CLI's latest) an evacuated server is left stopped
        wait_status(admin_client, sid, "SHUTOFF")
        assert claimed_host(server, admin_client, sid) != source
    finally:
        cli.run("admin", "--os-compute-api-version", "2.11", "compute", "service", "set",
                "--up", source, "nova-compute")
    assert service.host == source
