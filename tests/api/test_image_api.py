"""Image API behaviour and bad input, through keystoneauth1 sessions: Glance's
status codes, never a 500, nothing left behind."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.conftest import unique

PATCH = "application/openstack-images-v2.1-json-patch"


@pytest.fixture(scope="module")
def images_url(server):
    return f"{server.url}/image/v2/images"


def _create(sess, images_url, **values):
    body = {"name": unique("img"), "disk_format": "raw", "container_format": "bare", **values}
    r = sess.post(images_url, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _upload(sess, images_url, image_id, data, **headers):
    return sess.put(f"{images_url}/{image_id}/file", data=data, raise_exc=False,
                    headers={"Content-Type": "application/octet-stream", **headers})


def _error(r, status):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"].startswith(str(status)) and body["message"]


def test_discovery(server):
    from keystoneauth1 import session

    r = session.Session().get(f"{server.url}/image", authenticated=False, raise_exc=False)
    assert r.status_code == 300
    assert r.json()["versions"][0]["id"] == "v2.16"


def test_upload_download_ranges_and_statuses(demo_session, images_url):
    image = _create(demo_session, images_url)
    assert image["status"] == "queued" and image["visibility"] == "shared"
    r = demo_session.get(f"{images_url}/{image['id']}/file", raise_exc=False)
    assert r.status_code == 204  # no data yet, as Glance answers
    data = os.urandom(256 * 1024)
    assert _upload(demo_session, images_url, image["id"], data).status_code == 204
    shown = demo_session.get(f"{images_url}/{image['id']}").json()
    assert shown["status"] == "active" and shown["size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["os_hash_algo"] == "sha512"
    r = demo_session.get(f"{images_url}/{image['id']}/file")
    assert r.content == data and r.headers["Content-MD5"] == shown["checksum"]
    r = demo_session.get(f"{images_url}/{image['id']}/file", headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
    assert r.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    r = demo_session.get(f"{images_url}/{image['id']}/file", headers={"Range": "bytes=1000-"})
    assert r.status_code == 206 and r.content == data[1000:]
    _error(demo_session.get(f"{images_url}/{image['id']}/file", raise_exc=False,
                            headers={"Range": f"bytes={len(data)}-"}), 416)
    # upload to an active image
    _error(_upload(demo_session, images_url, image["id"], b"again"), 409)
    demo_session.delete(f"{images_url}/{image['id']}")


def test_patch_rules(demo_session, images_url):
    image = _create(demo_session, images_url, os_distro="cirros")
    url = f"{images_url}/{image['id']}"

    def patch(ops, ctype=PATCH):
        return demo_session.patch(url, json=ops, headers={"Content-Type": ctype},
                                  raise_exc=False)

    r = patch([{"op": "add", "path": "/color", "value": "red"},
               {"op": "replace", "path": "/name", "value": "renamed"},
               {"op": "add", "path": "/tags", "value": ["a", "b"]}])
    assert r.status_code == 200 and r.json()["color"] == "red"
    assert r.json()["name"] == "renamed" and r.json()["tags"] == ["a", "b"]
    assert "os_distro" not in patch([{"op": "remove", "path": "/os_distro"}]).json()
    _error(patch([{"op": "replace", "path": "/nope", "value": "x"}]), 409)
    _error(patch([{"op": "remove", "path": "/nope"}]), 409)
    _error(patch([{"op": "remove", "path": "/name"}]), 403)
    _error(patch([{"op": "replace", "path": "/status", "value": "active"}]), 403)
    _error(patch([{"op": "add", "path": "/os_glance_x", "value": "1"}]), 403)
    _error(patch([{"op": "replace", "path": "/min_disk", "value": "big"}]), 400)
    _error(patch([{"op": "move", "path": "/name"}]), 400)
    _error(patch([{"op": "add", "path": "/visibility", "value": "public"}]), 403)
    _error(patch({"op": "add"}), 400)
    r = patch([{"op": "add", "path": "/x", "value": "1"}], ctype="application/json")
    assert r.status_code == 415
    demo_session.delete(url)


def test_create_rules(demo_session, images_url):
    _error(demo_session.post(images_url, json={"status": "active"}, raise_exc=False), 403)
    _error(demo_session.post(images_url, json={"disk_format": "floppy"}, raise_exc=False), 400)
    _error(demo_session.post(images_url, json={"min_ram": -1}, raise_exc=False), 400)
    _error(demo_session.post(images_url, json={"visibility": "public"}, raise_exc=False), 403)
    _error(demo_session.post(images_url, json={"location": "x"}, raise_exc=False), 403)


def test_upload_needs_formats_and_known_store(demo_session, images_url):
    r = demo_session.post(images_url, json={"name": unique("nofmt")})
    image = r.json()
    _error(_upload(demo_session, images_url, image["id"], b"data"), 400)
    image = _create(demo_session, images_url)
    _error(_upload(demo_session, images_url, image["id"], b"data",
                   **{"X-Image-Meta-Store": "nowhere"}), 400)
    _error(_upload(demo_session, images_url, image["id"], b"data",
                   **{"X-Image-Meta-Store": "http"}), 410)
    # nothing happened to the image
    assert demo_session.get(f"{images_url}/{image['id']}").json()["status"] == "queued"


def test_protected_image_cannot_be_deleted(demo_session, images_url):
    image = _create(demo_session, images_url, protected=True)
    _error(demo_session.delete(f"{images_url}/{image['id']}", raise_exc=False), 403)
    demo_session.patch(f"{images_url}/{image['id']}", headers={"Content-Type": PATCH},
                       json=[{"op": "replace", "path": "/protected", "value": False}])
    assert demo_session.delete(f"{images_url}/{image['id']}").status_code == 204
    _error(demo_session.get(f"{images_url}/{image['id']}", raise_exc=False), 404)


def test_deactivate_reactivate(admin_session, demo_session, images_url):
    image = _create(admin_session, images_url, visibility="public")
    _upload(admin_session, images_url, image["id"], b"x" * 1000)
    _error(demo_session.post(f"{images_url}/{image['id']}/actions/deactivate",
                             raise_exc=False), 403)
    admin_session.post(f"{images_url}/{image['id']}/actions/deactivate")
    _error(demo_session.get(f"{images_url}/{image['id']}/file", raise_exc=False), 403)
    assert admin_session.get(f"{images_url}/{image['id']}/file").content == b"x" * 1000
    admin_session.post(f"{images_url}/{image['id']}/actions/reactivate")
    assert demo_session.get(f"{images_url}/{image['id']}/file").content == b"x" * 1000
    admin_session.delete(f"{images_url}/{image['id']}")


def test_private_images_are_invisible_to_other_projects(admin_session, demo_session,
                                                        images_url):
    image = _create(admin_session, images_url, visibility="private")
    _error(demo_session.get(f"{images_url}/{image['id']}", raise_exc=False), 404)
    ids = [i["id"] for i in demo_session.get(images_url).json()["images"]]
    assert image["id"] not in ids
    admin_session.delete(f"{images_url}/{image['id']}")


def test_list_filters_sort_and_paging(demo_session, images_url):
    tag = unique("tag")
    made = [_create(demo_session, images_url, tags=[tag], min_ram=i) for i in range(5)]
    r = demo_session.get(images_url, params={"tag": tag, "limit": 2, "sort": "min_ram:asc"})
    page = r.json()
    assert [i["min_ram"] for i in page["images"]] == [0, 1]
    assert "next" in page
    nxt = demo_session.get(f"{images_url.rsplit('/v2/images', 1)[0]}{page['next']}").json()
    assert [i["min_ram"] for i in nxt["images"]] == [2, 3]
    ids = ",".join(i["id"] for i in made[:2])
    listed = demo_session.get(images_url, params={"id": f"in:{ids}"}).json()["images"]
    assert {i["id"] for i in listed} == {i["id"] for i in made[:2]}
    _error(demo_session.get(images_url, params={"sort_key": "colour"}, raise_exc=False), 400)
    _error(demo_session.get(images_url, params={"marker": "nope"}, raise_exc=False), 400)
    for image in made:
        demo_session.delete(f"{images_url}/{image['id']}")


def test_schemas_stores_and_import_info(demo_session, server):
    base = f"{server.url}/image/v2"
    schema = demo_session.get(f"{base}/schemas/image").json()
    assert schema["name"] == "image" and "properties" in schema
    stores = demo_session.get(f"{base}/info/stores").json()["stores"]
    assert {"id": "file", "description": stores[0]["description"], "default": "true"} \
        in stores
    assert any(s["id"] == "http" and s.get("read-only") == "true" for s in stores)
    methods = demo_session.get(f"{base}/info/import").json()["import-methods"]["value"]
    assert methods == ["web-download"]
