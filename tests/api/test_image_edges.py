"""Image data at its edges, driven with real clients (keystoneauth1, the
`openstack` CLI): storage quotas, interrupted uploads, data missing from the
store, HTTP locations, web-download import, and shared-image membership."""

from __future__ import annotations

import hashlib
import http.client
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ksa_session, unique
from tests.support.file_server import Remote
from tests.support.server import make_server

PATCH = "application/openstack-images-v2.1-json-patch"
OCTETS = {"Content-Type": "application/octet-stream"}
KIB, MIB = 1024, 1024 * 1024


# ---------------------------------------------------------------- helpers

def _images(server) -> str:
    return f"{server.url}/image/v2/images"


def _create(sess, images_url: str, **values) -> dict:
    body = {"name": unique("edge"), "disk_format": "raw", "container_format": "bare",
            "visibility": "private", **values}
    r = sess.post(images_url, json=body, raise_exc=False)
    assert r.status_code == 201, r.text
    return r.json()


def _upload(sess, images_url: str, image_id: str, data, **headers):
    return sess.put(f"{images_url}/{image_id}/file", data=data, raise_exc=False,
                    headers={**OCTETS, **headers})


def _status(sess, images_url: str, image_id: str) -> str:
    return sess.get(f"{images_url}/{image_id}").json()["status"]


def _wait_status(sess, images_url: str, image_id: str, leaving: set[str],
                 timeout: float = 15.0) -> str:
    """Poll until the image's status is no longer one of ``leaving``."""
    deadline = time.monotonic() + timeout
    status = _status(sess, images_url, image_id)
    while status in leaving and time.monotonic() < deadline:
        time.sleep(0.1)
        status = _status(sess, images_url, image_id)
    return status


def _error(r, status: int) -> None:
    assert r.status_code == status, f"{r.status_code} {r.text[:300]}"
    body = r.json()
    assert body["code"].startswith(str(status)) and body["message"], body


def _chunks(data: bytes, size: int = 64 * KIB) -> Iterator[bytes]:
    """A generator body: requests sends it chunked, without a Content-Length."""
    for i in range(0, len(data), size):
        yield data[i:i + size]


def _stored(data_dir: Path) -> set[str]:
    """Names in the file store's directory (temporary files included)."""
    root = data_dir / "images"
    return {p.name for p in root.iterdir()} if root.is_dir() else set()


# ---------------------------------------------------------------- a local HTTP server

@pytest.fixture(scope="module")
def remote():
    r = Remote()
    yield r
    r.close()


# ---------------------------------------------------------------- (a) storage quota

QUOTA = MIB + 512 * KIB  # the default image (1 MiB, project admin) fits; two do not


@pytest.fixture(scope="module")
def quota_server(tmp_path_factory):
    srv = make_server(tmp_path_factory.mktemp("quota"), image_project_quota=str(QUOTA),
                      image_import_allowed_ports="80,443")
    srv.bootstrap()
    srv.start()
    yield srv
    srv.stop()


def test_project_storage_quota(quota_server):
    srv = quota_server
    url = _images(srv)
    admin = ksa_session(srv, "admin", srv.password("admin"), "admin")
    demo = ksa_session(srv, "demo", srv.password("demo"), "demo")
    default = admin.get(url, params={"name": "nimbus-tiny"}).json()["images"][0]
    assert default["size"] == MIB and default["owner"] == admin.get_project_id()

    # demo owns nothing yet: the default image counts for admin only
    first = _create(demo, url)
    assert _upload(demo, url, first["id"], os.urandom(MIB)).status_code == 204
    assert _status(demo, url, first["id"]) == "active"

    # over the quota with a declared size: refused before a byte is stored
    second = _create(demo, url)
    extra = os.urandom(600 * KIB)
    _error(_upload(demo, url, second["id"], extra), 413)
    assert _status(demo, url, second["id"]) == "queued"
    # ... and without one (chunked): refused while streaming, nothing left behind
    _error(_upload(demo, url, second["id"], _chunks(extra)), 413)
    assert _status(demo, url, second["id"]) == "queued"
    assert second["id"] not in _stored(srv.data_dir)

    # admin already stores the 1 MiB default image
    refused = _create(admin, url)
    _error(_upload(admin, url, refused["id"], os.urandom(600 * KIB)), 413)
    assert _status(admin, url, refused["id"]) == "queued"
    fits = _create(admin, url)
    assert _upload(admin, url, fits["id"], os.urandom(400 * KIB)).status_code == 204

    # the refused image was left queued, so it can be retried once there is room
    assert demo.delete(f"{url}/{first['id']}").status_code == 204
    assert _upload(demo, url, second["id"], extra).status_code == 204
    shown = demo.get(f"{url}/{second['id']}").json()
    assert shown["status"] == "active" and shown["size"] == len(extra)
    assert shown["checksum"] == hashlib.md5(extra).hexdigest()

    assert _stored(srv.data_dir) == {default["id"], fits["id"], second["id"]}


# ---------------------------------------------------------------- (b) interrupted upload

def test_interrupted_upload_kills_the_image_and_leaves_no_file(server, demo_session):
    url = _images(server)
    image = _create(demo_session, url)
    # A hand-made request: no real client can be made to promise a body it
    # then breaks off, so http.client sends the headers and part of the body.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("PUT", f"/image/v2/images/{image['id']}/file")
    conn.putheader("X-Auth-Token", demo_session.get_token())
    conn.putheader("Content-Type", "application/octet-stream")
    conn.putheader("Content-Length", str(4 * MIB))
    conn.endheaders()
    conn.send(os.urandom(256 * KIB))
    # the server has claimed the image before the connection drops
    assert _wait_status(demo_session, url, image["id"], {"queued"}) == "saving"
    conn.close()

    assert _wait_status(demo_session, url, image["id"], {"saving"}) == "killed"
    leftovers = {n for n in _stored(server.data_dir) if image["id"] in n}
    assert leftovers == set(), "a partial file stayed in the file store"
    # a killed image has no data to give, and takes none
    assert demo_session.get(f"{url}/{image['id']}/file", raise_exc=False).status_code == 204
    _error(_upload(demo_session, url, image["id"], b"late"), 409)
    assert demo_session.delete(f"{url}/{image['id']}").status_code == 204


# ---------------------------------------------------------------- (c) data missing

def test_data_missing_from_the_store_is_a_client_error(server, demo_session):
    url = _images(server)
    image = _create(demo_session, url)
    assert _upload(demo_session, url, image["id"], os.urandom(64 * KIB)).status_code == 204
    (server.data_dir / "images" / image["id"]).unlink()

    for headers in ({}, {"Range": "bytes=0-9"}):
        r = demo_session.get(f"{url}/{image['id']}/file", headers=headers, raise_exc=False)
        assert 400 <= r.status_code < 500, f"{r.status_code} {r.text[:300]}"
        body = r.json()
        assert body["code"].startswith(str(r.status_code)) and body["message"], body
    shown = demo_session.get(f"{url}/{image['id']}").json()
    assert shown["status"] == "active" and shown["size"] == 64 * KIB
    assert demo_session.delete(f"{url}/{image['id']}").status_code == 204


# ---------------------------------------------------------------- (d) HTTP locations

def _add_location(sess, url: str, image_id: str, location: str):
    return sess.patch(f"{url}/{image_id}", raise_exc=False, headers={"Content-Type": PATCH},
                      json=[{"op": "add", "path": "/locations/-",
                             "value": {"url": location, "metadata": {}}}])


@pytest.mark.parametrize("honour_range", [True, False], ids=["ranged", "whole-body"])
def test_http_location(server, admin_session, remote, honour_range):
    url = _images(server)
    data = os.urandom(300 * KIB + 7)
    remote.honour_range(honour_range)
    location = remote.put(f"{unique('disk')}.img", data)
    image = _create(admin_session, url, visibility="public")

    r = _add_location(admin_session, url, image["id"], location)
    assert r.status_code == 200, r.text
    shown = admin_session.get(f"{url}/{image['id']}").json()
    assert shown["status"] == "active" and shown["size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()

    file_url = f"{url}/{image['id']}/file"
    assert admin_session.get(file_url).content == data
    size = len(data)
    for spec, want, served in (("bytes=10-19", data[10:20], "10-19"),
                               ("bytes=1000-", data[1000:], f"1000-{size - 1}"),
                               (f"bytes=0-{size + 50}", data, f"0-{size - 1}")):
        r = admin_session.get(file_url, headers={"Range": spec})
        assert r.status_code == 206 and r.content == want, spec
        assert r.headers["Content-Range"] == f"bytes {served}/{size}", spec
    _error(admin_session.get(file_url, headers={"Range": f"bytes={len(data)}-"},
                             raise_exc=False), 416)

    # deleting it works: the read-only HTTP store is not asked to delete the remote file
    assert admin_session.delete(f"{url}/{image['id']}").status_code == 204


def test_http_location_suffix_range(server, admin_session, remote):
    url = _images(server)
    data = os.urandom(10 * KIB)
    image = _create(admin_session, url)
    assert _add_location(admin_session, url, image["id"],
                         remote.put(f"{unique('disk')}.img", data)).status_code == 200
    try:
        r = admin_session.get(f"{url}/{image['id']}/file", headers={"Range": "bytes=-100"},
                              raise_exc=False)
        assert r.status_code == 206 and r.content == data[-100:]
    finally:
        admin_session.delete(f"{url}/{image['id']}")


def test_http_location_is_for_admins_and_the_store_is_read_only(server, demo_session, remote):
    url = _images(server)
    image = _create(demo_session, url)
    location = remote.put(f"{unique('disk')}.img", b"member tries a location")
    _error(_add_location(demo_session, url, image["id"], location), 403)
    assert _status(demo_session, url, image["id"]) == "queued"
    # Glance: adding images to a read-only store is 410 Gone
    _error(_upload(demo_session, url, image["id"], b"data", **{"X-Image-Meta-Store": "http"}),
           410)
    assert _status(demo_session, url, image["id"]) == "queued"
    assert demo_session.delete(f"{url}/{image['id']}").status_code == 204


# ---------------------------------------------------------------- (e) web-download import

def _import(sess, url: str, image_id: str, method: dict):
    return sess.post(f"{url}/{image_id}/import", json={"method": method}, raise_exc=False)


def test_web_download_import(server, demo_session, remote):
    url = _images(server)
    data = os.urandom(200 * KIB + 3)
    uri = remote.put(f"{unique('web')}.img", data)
    image = _create(demo_session, url)

    r = _import(demo_session, url, image["id"], {"name": "web-download", "uri": uri})
    assert r.status_code == 202, r.text
    assert _wait_status(demo_session, url, image["id"], {"queued", "importing"}) == "active"
    shown = demo_session.get(f"{url}/{image['id']}").json()
    assert shown["size"] == len(data) and shown["checksum"] == hashlib.md5(data).hexdigest()
    assert demo_session.get(f"{url}/{image['id']}/file").content == data
    # the data was copied into the file store, not linked
    assert image["id"] in _stored(server.data_dir)
    # an active image takes no second import
    _error(_import(demo_session, url, image["id"], {"name": "web-download", "uri": uri}), 409)
    assert demo_session.delete(f"{url}/{image['id']}").status_code == 204


def test_import_refuses_methods_not_offered(server, demo_session, remote):
    url = _images(server)
    image = _create(demo_session, url)
    _error(_import(demo_session, url, image["id"], {"name": "glance-direct"}), 400)
    _error(_import(demo_session, url, image["id"], {"name": "web-download",
                                                    "uri": "ftp://127.0.0.1/x.img"}), 400)
    assert _status(demo_session, url, image["id"]) == "queued"
    assert demo_session.delete(f"{url}/{image['id']}").status_code == 204


def test_web_download_of_a_missing_file_releases_the_image(server, demo_session, remote):
    url = _images(server)
    missing = remote.url(f"{unique('never-served')}.img")
    image = _create(demo_session, url)
    try:
        r = _import(demo_session, url, image["id"], {"name": "web-download", "uri": missing})
        assert r.status_code == 202, r.text
        assert _wait_status(demo_session, url, image["id"], {"importing"}, 3) == "queued"
    finally:
        demo_session.delete(f"{url}/{image['id']}", raise_exc=False)


# ---------------------------------------------------------------- (f) the CLI and sharing

def test_cli_lists_accepted_shared_images_not_rejected_ones(server, cli, admin_session,
                                                           demo_session):
    # The sharing is set up through the API (each CLI call costs a second or two);
    # accepting, rejecting and listing go through the `openstack` CLI.
    url = _images(server)
    demo_project = demo_session.get_project_id()
    accepted, rejected = (_create(admin_session, url, name=unique(kind), visibility="shared")
                          for kind in ("accepted", "rejected"))
    for image in (accepted, rejected):
        admin_session.post(f"{url}/{image['id']}/members", json={"member": demo_project})
    try:
        cli.run("demo", "image", "set", "--accept", accepted["id"])
        cli.run("demo", "image", "set", "--reject", rejected["id"])

        listed = cli.json("demo", "image", "list", "--shared", "--long")
        names = {row["Name"] for row in listed}
        assert accepted["name"] in names and rejected["name"] not in names
        row = next(r for r in listed if r["Name"] == accepted["name"])
        assert row["Visibility"] == "shared" and row["ID"] == accepted["id"]

        members = admin_session.get(f"{url}/{rejected['id']}/members").json()["members"]
        assert [(m["member_id"], m["status"]) for m in members] == [(demo_project, "rejected")]
        # a rejected image stays visible by id, and is listed when asked for
        assert demo_session.get(f"{url}/{rejected['id']}").status_code == 200
        asked = demo_session.get(url, params={"visibility": "shared",
                                              "member_status": "rejected"}).json()["images"]
        assert [i["id"] for i in asked if i["id"] in (accepted["id"], rejected["id"])] \
            == [rejected["id"]]
    finally:
        for image in (accepted, rejected):
            admin_session.delete(f"{url}/{image['id']}", raise_exc=False)


def test_web_download_is_limited_to_allowed_ports(quota_server, remote):
    """Like Glance, web-download only fetches from allowed ports (80 and 443 by
    default): the server must not be pointed at arbitrary internal services."""
    demo = ksa_session(quota_server, "demo", quota_server.password("demo"), "demo")
    url = _images(quota_server)
    image = _create(demo, url)
    uri = remote.put(f"{unique('disk')}.img", b"x" * 100)
    r = _import(demo, url, image["id"], {"name": "web-download", "uri": uri})
    assert r.status_code == 400 and "port" in r.json()["message"]
    assert _status(demo, url, image["id"]) == "queued"
    demo.delete(f"{url}/{image['id']}")
