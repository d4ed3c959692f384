"""Volumes from images and images from volumes, with the real clients: the
`openstack` CLI for the command under test (`volume create --image`, `image
create --volume`), openstacksdk and plain HTTP for setting up and checking.
The module works in a project of its own."""

from __future__ import annotations

import hashlib
import time

import pytest

from tests.conftest import unique
from tests.support.cinder import Cinder
from tests.support.project_cloud import ProjectCli, ProjectCloud, project_cloud

pytestmark = pytest.mark.usefixtures("no_server_errors")
PAYLOAD = b"nimbus-volume-image\n" * 300  # 6000 bytes, under 1 GiB: needs 1 GB


@pytest.fixture(scope="module")
def tenant(server, admin_session, tmp_path_factory) -> ProjectCloud:
    return project_cloud(server, admin_session, tmp_path_factory.mktemp("cloud"), "volimg")


@pytest.fixture(scope="module")
def osc(cli, tenant) -> ProjectCli:
    return tenant.osc(cli)


@pytest.fixture(scope="module")
def conn(tenant):
    conn = tenant.connection()
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def api(server, conn) -> Cinder:
    return Cinder(conn.session, f"{server.url}/volume/v3", "3.71")


@pytest.fixture(scope="module")
def source_image(conn):
    """An active image with data, a min_disk and a custom property."""
    image = conn.image.create_image(name=unique("src"), disk_format="qcow2",
                                    container_format="bare", data=PAYLOAD, min_disk=1,
                                    min_ram=64, hw_disk_bus="virtio")
    image = conn.image.wait_for_status(image, "active", wait=30, interval=0.05)
    return conn.image.get_image(image.id)


def wait_image(conn, image_id: str, status: str = "active", timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        image = conn.image.get_image(image_id)
        if image.status == status:
            return image
        assert image.status not in ("killed", "deleted"), image.status
        time.sleep(0.05)
    raise AssertionError(f"image {image_id} is not {status}")


def image_bytes(conn, image_id: str) -> bytes:
    return conn.image.download_image(image_id).content


# ---------------------------------------------------------------- volumes from images

def test_volume_create_from_image_cli(osc, api, source_image):
    name = unique("boot")
    created = osc.json("volume", "create", "--image", source_image.name, "--size", "1", name)
    assert created["status"] == "creating" and str(created["bootable"]).lower() == "true"
    volume = api.wait("volumes", created["id"])
    assert volume["bootable"] == "true"
    meta = volume["volume_image_metadata"]
    assert meta["image_id"] == source_image.id and meta["image_name"] == source_image.name
    assert meta["checksum"] == source_image.checksum
    assert meta["disk_format"] == "qcow2" and meta["container_format"] == "bare"
    assert meta["min_disk"] == "1" and meta["min_ram"] == "64"
    assert meta["size"] == str(len(PAYLOAD)) and meta["hw_disk_bus"] == "virtio"
    assert all(isinstance(v, str) for v in meta.values())
    shown = osc.json("volume", "show", name)
    assert shown["volume_image_metadata"]["image_id"] == source_image.id
    api.ok("DELETE", f"/volumes/{created['id']}")


def test_volume_from_image_by_id_url_and_name_over_http(api, source_image, server):
    refs = [source_image.id, f"{server.url}/image/v2/images/{source_image.id}",
            source_image.name]
    for ref in refs:
        volume = api.create_volume(1, imageRef=ref, name=unique("ref"))
        assert volume["bootable"] == "true"
        volume = api.wait("volumes", volume["id"])
        assert volume["volume_image_metadata"]["image_id"] == source_image.id
        api.ok("DELETE", f"/volumes/{volume['id']}")


def test_volume_from_image_bad_input_is_a_cinder_fault(api, conn, source_image):
    before = {v["id"] for v in api.ok("GET", "/volumes")["volumes"]}
    r = api.request("POST", "/volumes", {"volume": {"size": 1, "imageRef": unique("nope")}})
    assert r.status_code == 400
    assert r.json() == {"badRequest": {"code": 400, "message": "Invalid image identifier "
                                       "or unable to access requested image."}}
    big = conn.image.create_image(name=unique("big"), disk_format="raw",
                                  container_format="bare", data=b"x" * 10, min_disk=3)
    r = api.request("POST", "/volumes", {"volume": {"size": 2, "imageRef": big.id}})
    assert r.status_code == 400, r.text
    assert "minDisk size 3GB" in r.json()["badRequest"]["message"]
    queued = conn.image.create_image(name=unique("queued"), disk_format="raw",
                                     container_format="bare")
    r = api.request("POST", "/volumes", {"volume": {"size": 1, "imageRef": queued.id}})
    assert r.status_code == 400 and "is not active" in r.json()["badRequest"]["message"]
    r = api.request("POST", "/volumes", {"volume": {"size": 1, "imageRef": source_image.id,
                                                    "snapshot_id": unique("s")}})
    assert r.status_code == 400
    assert {v["id"] for v in api.ok("GET", "/volumes")["volumes"]} <= before  # none made


def test_another_projects_private_image_is_not_found(server, admin_session, tmp_path_factory,
                                                     conn, api):
    other = project_cloud(server, admin_session, tmp_path_factory.mktemp("o"), "volimg2")
    oconn = other.connection()
    try:
        image = oconn.image.create_image(name=unique("priv"), disk_format="raw",
                                         container_format="bare", data=b"p" * 10,
                                         visibility="private")
        r = api.request("POST", "/volumes", {"volume": {"size": 1, "imageRef": image.id}})
        assert r.status_code == 400, r.text
    finally:
        oconn.close()


# ---------------------------------------------------------------- images from volumes

def test_image_create_from_volume_cli(osc, api, conn, source_image):
    volume = api.create_volume(1, imageRef=source_image.id, name=unique("up"))
    api.wait("volumes", volume["id"])
    name = unique("fromvol")
    info = osc.json("image", "create", "--volume", volume["name"], "--disk-format", "qcow2",
                    name)
    assert info["id"] == volume["id"] and info["status"] == "uploading"
    assert info["image_name"] == name and info["disk_format"] == "qcow2"
    assert info["container_format"] == "bare" and info["volume_type"] == "__DEFAULT__"
    assert info["size"] == 1 and info["visibility"] == "private"
    image = wait_image(conn, info["image_id"])
    assert api.wait("volumes", volume["id"])["status"] == "available"
    assert image.name == name and image.size == len(PAYLOAD)
    assert image.checksum == hashlib.md5(PAYLOAD).hexdigest()
    assert image.min_disk == 1 and image.visibility == "private"
    assert image.hw_disk_bus == "virtio"
    assert image_bytes(conn, image.id) == PAYLOAD
    # the image boots a volume again: the round trip keeps the bytes
    again = api.create_volume(1, imageRef=image.id, name=unique("again"))
    again = api.wait("volumes", again["id"])
    assert again["volume_image_metadata"]["checksum"] == image.checksum
    for vid in (volume["id"], again["id"]):
        api.ok("DELETE", f"/volumes/{vid}")
    conn.image.delete_image(image.id)


def test_upload_of_a_blank_volume_stores_a_zero_payload(api, conn):
    volume = api.create_volume(2, name=unique("blank"))
    api.wait("volumes", volume["id"])
    r = api.request("POST", f"/volumes/{volume['id']}/action",
                    {"os-volume_upload_image": {"image_name": unique("zeros"),
                                                "force": False}})
    assert r.status_code == 202, r.text
    body = r.json()["os-volume_upload_image"]
    assert set(body) >= {"id", "updated_at", "status", "display_description", "size",
                         "volume_type", "image_id", "container_format", "disk_format",
                         "image_name"}
    assert body["disk_format"] == "raw" and body["container_format"] == "bare"
    assert body["status"] == "uploading" and body["size"] == 2
    mid = api.ok("GET", f"/volumes/{volume['id']}")["volume"]["status"]
    assert mid in ("uploading", "available")
    image = wait_image(conn, body["image_id"])
    data = image_bytes(conn, image.id)
    assert image.size == len(data) == 1 << 20 and data == bytes(len(data))
    assert image.min_disk == 2
    assert api.wait("volumes", volume["id"])["status"] == "available"
    api.ok("DELETE", f"/volumes/{volume['id']}")
    conn.image.delete_image(image.id)


def test_upload_of_an_in_use_volume_needs_force(api, conn):
    volume = api.create_volume(1, name=unique("inuse"))
    api.wait("volumes", volume["id"])
    path = f"/volumes/{volume['id']}/action"
    api.ok("POST", path, {"os-reserve": {}})
    api.ok("POST", path, {"os-attach": {"instance_uuid": "8b4f0bd6-3c5b-4c6f-9f1a-"
                                        "0c4b8d1e2f30", "mountpoint": "/dev/vdb"}})
    api.wait("volumes", volume["id"], "in-use")
    r = api.request("POST", path, {"os-volume_upload_image": {"image_name": unique("x")}})
    assert r.status_code == 400 and "in-use" in r.json()["badRequest"]["message"]
    r = api.request("POST", path, {"os-volume_upload_image": {"image_name": unique("x"),
                                                              "force": "true"}})
    assert r.status_code == 202, r.text
    wait_image(conn, r.json()["os-volume_upload_image"]["image_id"])
    assert api.wait("volumes", volume["id"], "in-use")["status"] == "in-use"


@pytest.mark.parametrize("args,status,fault", [
    ({}, 400, "badRequest"),
    ({"image_name": ""}, 400, "badRequest"),
    ({"image_name": "x", "disk_format": "iso"}, 400, "badRequest"),
    ({"image_name": "x", "container_format": "ovf"}, 400, "badRequest"),
    ({"image_name": "x", "force": "maybe"}, 400, "badRequest"),
    ({"image_name": "x", "visibility": "public"}, 403, "forbidden"),
])
def test_upload_bad_input(api, conn, tenant, args, status, fault):
    volume = api.create_volume(1, name=unique("bad"))
    api.wait("volumes", volume["id"])
    images_before = {i.id for i in conn.image.images(owner=tenant.project_id)}
    r = api.request("POST", f"/volumes/{volume['id']}/action",
                    {"os-volume_upload_image": args})
    assert r.status_code == status, r.text
    assert set(r.json()) == {fault}
    assert api.ok("GET", f"/volumes/{volume['id']}")["volume"]["status"] == "available"
    after = {i.id for i in conn.image.images(owner=tenant.project_id)}
    assert after == images_before  # no image left behind
    api.ok("DELETE", f"/volumes/{volume['id']}")


def test_upload_of_a_missing_volume_is_404(api):
    r = api.request("POST", "/volumes/0b4f0bd6-3c5b-4c6f-9f1a-0c4b8d1e2f30/action",
                    {"os-volume_upload_image": {"image_name": "x"}})
    assert r.status_code == 404 and "itemNotFound" in r.json()
