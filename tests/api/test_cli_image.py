"""The real `openstack` CLI and openstacksdk against the Image API."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.conftest import unique


@pytest.fixture
def disk(tmp_path):
    path = tmp_path / "disk.img"
    path.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    return path


def test_default_image_is_public_and_active(cli):
    images = cli.json("demo", "image", "list", "--long")
    tiny = [i for i in images if i["Name"] == "nimbus-tiny"]
    assert tiny and tiny[0]["Status"] == "active"
    assert tiny[0]["Visibility"] == "public"


def test_image_lifecycle_with_the_cli(cli, disk, tmp_path, demo_client):
    name = unique("img")
    created = cli.json("demo", "image", "create", "--file", str(disk), "--disk-format", "raw",
                       "--container-format", "bare", "--property", "os_distro=cirros",
                       "--private", name)
    assert created["status"] == "active"
    assert created["checksum"] == hashlib.md5(disk.read_bytes()).hexdigest()
    assert created["size"] == disk.stat().st_size
    shown = cli.json("demo", "image", "show", name)
    assert shown["properties"]["os_distro"] == "cirros"
    assert shown["visibility"] == "private"
    hash_value = shown.get("os_hash_value") or shown["properties"]["os_hash_value"]
    assert hash_value == hashlib.sha512(disk.read_bytes()).hexdigest()

    cli.run("demo", "image", "set", "--property", "color=blue", "--name", name + "-2", name)
    assert cli.json("demo", "image", "show", name + "-2")["properties"]["color"] == "blue"

    out = tmp_path / "saved.img"
    cli.run("demo", "image", "save", "--file", str(out), name + "-2")
    assert out.read_bytes() == disk.read_bytes()

    listed = cli.json("demo", "image", "list", "--long")
    assert name + "-2" in [i["Name"] for i in listed]
    cli.run("demo", "image", "delete", name + "-2")
    # gone: read with the sdk (`image list` is checked above)
    assert name + "-2" not in [i.name for i in demo_client.image.images()]


def test_sharing_with_another_project(cli, disk, admin_session, identity_url, admin_client):
    name = unique("shared")
    image = cli.json("admin", "image", "create", "--file", str(disk), "--disk-format", "raw",
                     "--container-format", "bare", "--shared", name)
    demo_project = admin_session.get(f"{identity_url}/projects?name=demo").json()["projects"][0]
    assert name not in [i["Name"] for i in cli.json("demo", "image", "list", "--shared")]
    cli.run("admin", "image", "add", "project", image["id"], demo_project["id"])
    # pending: visible by id, not listed
    assert cli.json("demo", "image", "show", image["id"])["name"] == name
    assert name not in [i["Name"] for i in cli.json("demo", "image", "list")]
    cli.run("demo", "image", "set", "--accept", image["id"])
    assert name in [i["Name"] for i in cli.json("demo", "image", "list", "--shared")]
    admin_client.image.delete_image(image["id"])  # teardown, not under test


def test_public_images_need_an_admin(cli, disk, admin_client):
    name = unique("pub")
    refused = cli.run("demo", "image", "create", "--file", str(disk), "--disk-format", "raw",
                      "--container-format", "bare", "--public", name, check=False)
    assert refused.returncode != 0 and "403" in refused.stderr
    made = cli.json("admin", "image", "create", "--file", str(disk), "--disk-format", "raw",
                    "--container-format", "bare", "--public", name)
    assert name in [i["Name"] for i in cli.json("demo", "image", "list")]
    admin_client.image.delete_image(made["id"])  # teardown, not under test


def test_sdk_create_wait_and_download_verifies_the_hash(demo_client, disk, tmp_path):
    name = unique("sdk")
    image = demo_client.create_image(name, filename=str(disk), disk_format="qcow2",
                                     container_format="bare", wait=True)
    assert image.status == "active"
    out = tmp_path / "download.img"
    demo_client.image.download_image(image, output=str(out))
    assert out.read_bytes() == disk.read_bytes()
    data = demo_client.image.download_image(image)
    assert data.content == disk.read_bytes()
    demo_client.delete_image(image.id, wait=True)
