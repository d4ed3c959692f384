"""The real `openstack` CLI and openstacksdk driving a server's whole life on the
all-in-one controller (API, conductor, scheduler and simulated hosts in one process)."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import sdk_connection, unique


def wait_status(cli, name_or_id, status, cloud="demo", timeout=60):
    deadline = time.monotonic() + timeout
    shown = None
    while time.monotonic() < deadline:
        shown = cli.json(cloud, "server", "show", name_or_id)
        if shown["status"] == status and not shown.get("OS-EXT-STS:task_state"):
            return shown
        if shown["status"] == "ERROR" and status != "ERROR":
            raise AssertionError(f"server went to ERROR: {shown.get('fault')}")
        time.sleep(0.3)
    raise AssertionError(f"{name_or_id} did not reach {status}: {shown}")


@pytest.fixture(scope="module")
def keypair(cli, tmp_path_factory):
    name = unique("kp")
    cli.run("demo", "keypair", "create", "--private-key",
            str(tmp_path_factory.mktemp("kp") / "id"), name)
    yield name
    cli.run("demo", "keypair", "delete", name, check=False)


def test_server_lifecycle_with_the_cli(cli, keypair):
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
    assert shown["flavor"].startswith("m1.tiny") or "m1.tiny" in json.dumps(shown["flavor"])

    cli.run("demo", "server", "stop", name)
    wait_status(cli, name, "SHUTOFF")
    cli.run("demo", "server", "start", name)
    wait_status(cli, name, "ACTIVE")
    cli.run("demo", "server", "reboot", "--hard", "--wait", name)
    wait_status(cli, name, "ACTIVE")

    cli.run("demo", "server", "resize", "--flavor", "m1.small", "--wait", name)
    resized = wait_status(cli, name, "VERIFY_RESIZE")
    assert "m1.small" in json.dumps(resized["flavor"])
    cli.run("demo", "server", "resize", "confirm", name)
    confirmed = wait_status(cli, name, "ACTIVE")
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
    assert props["base_image_ref"] == cli.json("demo", "image", "show", "nimbus-tiny")["id"]
    cli.run("demo", "image", "delete", snap)

    cli.run("demo", "server", "delete", "--wait", name)
    gone = cli.run("demo", "server", "show", name, check=False)
    assert gone.returncode != 0


def test_resize_revert(cli):
    name = unique("vm")
    cli.run("demo", "server", "create", "--flavor", "m1.tiny", "--image", "nimbus-tiny",
            "--wait", name)
    cli.run("demo", "server", "resize", "--flavor", "m1.small", "--wait", name)
    wait_status(cli, name, "VERIFY_RESIZE")
    cli.run("demo", "server", "resize", "revert", name)
    reverted = wait_status(cli, name, "ACTIVE")
    assert "m1.tiny" in json.dumps(reverted["flavor"])
    cli.run("demo", "server", "delete", "--wait", name)


def test_admin_views(cli):
    name = unique("vm")
    cli.run("demo", "server", "create", "--flavor", "m1.tiny", "--image", "nimbus-tiny",
            "--wait", name)
    rows = cli.json("admin", "server", "list", "--all-projects", "--long")
    mine = [r for r in rows if r["Name"] == name]
    assert mine and mine[0]["Host"].startswith("compute-")
    hypervisors = cli.json("admin", "hypervisor", "list")
    assert any(h["Hypervisor Hostname"].startswith("compute-") for h in hypervisors)
    demo_rows = cli.json("demo", "server", "list", "--long")
    assert "Host" not in demo_rows[0] or not demo_rows[0]["Host"]
    cli.run("demo", "server", "delete", "--wait", name)


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
                                         min_count=5, max_count=5)
        conn.compute.wait_for_server(srv, wait=60)
        names = [s.name for s in conn.compute.servers(name=f"^{name}", limit=2)]
        assert sorted(names) == [f"{name}-{i}" for i in range(1, 6)]
        for s in conn.compute.servers(name=f"^{name}"):
            conn.compute.delete_server(s.id)
    finally:
        conn.close()
