"""The real `openstack` CLI and openstacksdk driving a server's whole life on the
all-in-one controller (API, conductor, scheduler and simulated hosts in one process)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import sdk_connection, unique
from tests.support.sdk_wait import boot, delete_server, wait_server


@pytest.fixture(scope="module")
def conn(server):
    """The demo project through openstacksdk: setup, teardown and waiting for what
    a CLI command started (each `openstack` call is a 2 s client start-up)."""
    c = sdk_connection(server, "demo")
    yield c
    c.close()


@pytest.fixture(scope="module")
def keypair(conn):
    name = unique("kp")
    conn.compute.create_keypair(name=name)
    yield name
    conn.compute.delete_keypair(name, ignore_missing=True)


def test_server_lifecycle_with_the_cli(cli, conn, keypair):
    name = unique("vm")
    created = cli.json("demo", "server", "create", "--flavor", "m1.tiny", "--image",
                       "nimbus-tiny", "--key-name", keypair, "--property", "role=web",
                       "--wait", name)
    assert created["status"] == "ACTIVE"
    assert created["key_name"] == keypair
    assert created["name"] == name
    assert "private" in json.dumps(created["addresses"]) and "10.0." in json.dumps(created["addresses"])
    listed = cli.json("demo", "server", "list")
    assert name in [s["Name"] for s in listed]
    shown = cli.json("demo", "server", "show", name)
    assert shown["OS-EXT-STS:power_state"] in ("Running", 1)
    assert shown["properties"] in ({"role": "web"}, "role='web'")
    # the embedded flavor of 2.47+: the CLI asks for the server's newest version
    assert shown["flavor"]["original_name"] == "m1.tiny"

    cli.run("demo", "server", "stop", name)
    wait_server(conn, name, "SHUTOFF")
    cli.run("demo", "server", "start", name)
    wait_server(conn, name, "ACTIVE")
    cli.run("demo", "server", "reboot", "--hard", name)
    wait_server(conn, name, "ACTIVE")

    # resize --wait is what test_resize_revert checks; here the sdk waits
    cli.run("demo", "server", "resize", "--flavor", "m1.small", name)
    resized = wait_server(conn, name, "VERIFY_RESIZE")
    assert "m1.small" in json.dumps(resized["flavor"])
    cli.run("demo", "server", "resize", "confirm", name)
    confirmed = wait_server(conn, name, "ACTIVE")
    assert "m1.small" in json.dumps(confirmed["flavor"])

    log = cli.run("demo", "console", "log", "show", name).stdout
    assert "login:" in log

    snap = unique("snap")
    cli.run("demo", "server", "image", "create", "--name", snap, "--wait", name)
    image = cli.json("demo", "image", "show", snap)
    assert image["status"] == "active"
    props = image["properties"]
    assert props["image_type"] == "snapshot"
    assert props["instance_uuid"] == shown["id"]
    assert props["base_image_ref"] == conn.image.find_image("nimbus-tiny", ignore_missing=False).id
    conn.image.delete_image(image["id"])

    cli.run("demo", "server", "delete", "--wait", name)
    assert conn.compute.find_server(name) is None
    assert conn.compute.find_server(shown["id"]) is None


def test_resize_revert(cli, conn):
    name = unique("vm")
    boot(conn, name)
    try:
        cli.run("demo", "server", "resize", "--flavor", "m1.small", "--wait", name)
        wait_server(conn, name, "VERIFY_RESIZE")
        cli.run("demo", "server", "resize", "revert", name)
        reverted = wait_server(conn, name, "ACTIVE")
        assert "m1.tiny" in json.dumps(reverted["flavor"])
    finally:
        delete_server(conn, name)


def test_admin_views(cli, conn):
    name = unique("vm")
    boot(conn, name)
    try:
        rows = cli.json("admin", "server", "list", "--all-projects", "--long")
        mine = [r for r in rows if r["Name"] == name]
        assert mine and mine[0]["Host"].startswith("compute-")
        hypervisors = cli.json("admin", "hypervisor", "list")
        assert any(h["Hypervisor Hostname"].startswith("compute-") for h in hypervisors)
        demo_rows = cli.json("demo", "server", "list", "--long")
        assert "Host" not in demo_rows[0] or not demo_rows[0]["Host"]
    finally:
        delete_server(conn, name)


def test_sdk_create_and_delete_with_wait(server):
    """openstacksdk's create_server(auto_ip=True, wait=True): it boots on the default
    network, takes a floating IP from the external network, associates it through
    the Network API and waits until Nova's addresses show it."""
    conn = sdk_connection(server, "demo")
    try:
        image = conn.image.find_image("nimbus-tiny")
        flavor = conn.compute.find_flavor("m1.tiny")
        srv = conn.create_server(unique("sdk"), image=image.id, flavor=flavor.id, wait=True,
                                 auto_ip=True, timeout=60)
        assert srv.status == "ACTIVE"
        fetched = conn.get_server(srv.id)
        assert fetched.private_v4.startswith("10.0.") and fetched.public_v4
        kinds = {a["OS-EXT-IPS:type"]: a["addr"] for a in fetched.addresses["private"]}
        assert kinds == {"fixed": fetched.private_v4, "floating": fetched.public_v4}
        fip = conn.network.find_ip(fetched.public_v4)
        assert fip.status == "ACTIVE" and fip.fixed_ip_address == fetched.private_v4
        assert conn.delete_server(srv.id, wait=True, timeout=60, delete_ips=True)
        assert conn.compute.find_server(srv.id) is None
        assert conn.network.find_ip(fetched.public_v4) is None  # released with it
    finally:
        conn.close()


def test_sdk_listing_paginates(server):
    conn = sdk_connection(server, "demo")
    try:
        image = conn.image.find_image("nimbus-tiny")
        flavor = conn.compute.find_flavor("m1.tiny")
        name = unique("page")
        srv = conn.compute.create_server(name=name, image_id=image.id, flavor_id=flavor.id,
                                         min_count=5, max_count=5, networks="auto")
        conn.compute.wait_for_server(srv, wait=60)
        names = [s.name for s in conn.compute.servers(name=f"^{name}", limit=2)]
        assert sorted(names) == [f"{name}-{i}" for i in range(1, 6)]
        for s in conn.compute.servers(name=f"^{name}"):
            conn.compute.delete_server(s.id)
    finally:
        conn.close()
