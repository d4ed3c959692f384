"""The real `openstack` CLI (OSC 10.5) against the Block Storage API: the
commands the issue names, each run once (the CLI takes ~2 s a call); setting
up and checking goes through openstacksdk. The module works in a project of
its own."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from openstack.exceptions import NotFoundException

from tests.conftest import unique
from tests.support.project_cloud import ProjectCli, ProjectCloud, project_cloud

pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.fixture(scope="module")
def tenant(server, admin_session, tmp_path_factory) -> ProjectCloud:
    return project_cloud(server, admin_session, tmp_path_factory.mktemp("cloud"), "clivol")


@pytest.fixture(scope="module")
def osc(cli, tenant) -> ProjectCli:
    return tenant.osc(cli)


@pytest.fixture(scope="module")
def conn(tenant):
    conn = tenant.connection()
    yield conn
    conn.close()


def wait_status(conn, volume_id: str, status: str = "available", timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        volume = conn.block_storage.get_volume(volume_id)
        if volume.status == status:
            return volume
        assert not volume.status.startswith("error"), volume.status
        time.sleep(0.05)
    raise AssertionError(f"volume {volume_id} is not {status}")


def gone(get: Callable[[], Any], timeout: float = 30) -> None:
    """Returns once ``get`` answers 404."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            get()
        except NotFoundException:
            return
        time.sleep(0.05)
    raise AssertionError("still there")


def test_volume_create_show_set_delete(osc, conn):
    name = unique("data")
    created = osc.json("volume", "create", "--size", "1", name)
    assert created["name"] == name and created["size"] == 1
    assert created["status"] == "creating" and created["type"] == "__DEFAULT__"
    wait_status(conn, created["id"])
    shown = osc.json("volume", "show", name)  # by name: 404 on the id, then ?name=
    assert shown["id"] == created["id"] and shown["status"] == "available"
    assert shown["bootable"] in (False, "false")
    osc.run("volume", "set", "--name", f"{name}-2", "--description", "d", "--property",
            "k=v", "--size", "2", name)
    volume = wait_status(conn, created["id"])
    assert (volume.name, volume.description, volume.size) == (f"{name}-2", "d", 2)
    assert volume.metadata == {"k": "v"}
    osc.run("volume", "delete", f"{name}-2")
    gone(lambda: conn.block_storage.get_volume(created["id"]))


def test_volume_list_shows_the_projects_volumes(osc, conn):
    volume = conn.block_storage.create_volume(size=1, name=unique("listed"))
    rows = {r["ID"]: r for r in osc.json("volume", "list")}
    assert rows[volume.id]["Name"] == volume.name and rows[volume.id]["Size"] == 1
    wait_status(conn, volume.id)
    conn.block_storage.delete_volume(volume.id)


def test_volume_snapshot_create_list_delete(osc, conn):
    volume = conn.block_storage.create_volume(size=1, name=unique("snapsrc"))
    wait_status(conn, volume.id)
    name = unique("snap")
    snap = osc.json("volume", "snapshot", "create", "--volume", volume.name, name)
    assert snap["name"] == name and snap["volume_id"] == volume.id
    conn.block_storage.wait_for_status(conn.block_storage.get_snapshot(snap["id"]),
                                       "available", interval=0.05, wait=30)
    rows = {r["ID"]: r for r in osc.json("volume", "snapshot", "list")}
    assert rows[snap["id"]]["Name"] == name and rows[snap["id"]]["Status"] == "available"
    osc.run("volume", "snapshot", "delete", name)
    gone(lambda: conn.block_storage.get_snapshot(snap["id"]))
    conn.block_storage.delete_volume(volume.id)


def test_volume_type_create_and_list_by_admin(cli, admin_client):
    name = unique("gold")
    created = cli.json("admin", "volume", "type", "create", "--property", "tier=gold", name)
    assert created["name"] == name and created["is_public"] is True
    names = {r["Name"] for r in cli.json("admin", "volume", "type", "list")}
    assert {name, "__DEFAULT__"} <= names
    admin_client.block_storage.delete_type(created["id"])  # teardown, not under test


def test_quota_show_includes_volume_quotas(osc):
    rows = {r["Resource"]: r["Limit"] for r in osc.json("quota", "show")}
    assert (rows["volumes"], rows["snapshots"], rows["gigabytes"]) == (10, 10, 1000)


def test_limits_show_absolute_includes_volume_limits(osc):
    rows = {r["Name"]: r["Value"] for r in osc.json("limits", "show", "--absolute")}
    # openstacksdk's names of Cinder's keys, beside Nova's
    assert rows["max_total_volumes"] == 10 and rows["max_total_volume_gigabytes"] == 1000
    assert rows["total_volumes_used"] == 0 and rows["max_total_snapshots"] == 10
    assert rows["max_total_instances"] == 10


def test_sdk_create_volume_waits_until_available(conn):
    volume = conn.create_volume(size=1, name=unique("sdk"), wait=True, timeout=30)
    assert volume.status == "available" and volume.size == 1
    assert conn.get_volume(volume.name).id == volume.id
    assert conn.delete_volume(volume.id, wait=True, timeout=30)
