"""Answers that upstream's own API tests (tempest) expect, each one a failure once
observed: Nova's request id header, the boot password, canonical IPv6 access
addresses, the reduced view of PUT /servers/{id}, Glance's v2.0 patch form and
exact filters, Glance's empty-id 404s and owner deactivation, and Keystone's
unscoped token without a catalog."""

from __future__ import annotations

import pytest

from tests.conftest import unique
from tests.support.compute_env import PREFIX

pytestmark = pytest.mark.usefixtures("no_server_errors")

V20_PATCH = "application/openstack-images-v2.0-json-patch"

# Nova's base server view (views/servers.py show() with every extension off)
REDUCED_KEYS = {"id", "name", "status", "tenant_id", "user_id", "metadata", "hostId",
                "image", "flavor", "created", "updated", "addresses", "accessIPv4",
                "accessIPv6", "progress", "links", "OS-DCF:diskConfig"}


@pytest.fixture(scope="module")
def tenant(env):
    return env.tenant({"instances": 10, "cores": 20, "ram": 20 * 2048})


@pytest.fixture(scope="module")
def active(env, tenant) -> str:
    return env.boot(tenant.member, "conform")[0]


# ---------------------------------------------------------------- compute

def test_compute_answers_carry_x_compute_request_id(env, tenant):
    r = tenant.member("GET", "/servers")
    assert r.status_code == 200
    assert r.headers["x-compute-request-id"] == r.headers["x-openstack-request-id"]
    assert r.headers["x-compute-request-id"].startswith("req-")
    r = tenant.member("GET", "/servers/00000000-0000-4000-8000-000000000000")
    assert r.status_code == 404
    assert r.headers["x-compute-request-id"] == r.headers["x-openstack-request-id"]


def test_other_apis_carry_no_x_compute_request_id(server, admin_session):
    r = admin_session.get(f"{server.url}/image/v2/images", raise_exc=False)
    assert "x-openstack-request-id" in r.headers
    assert "x-compute-request-id" not in r.headers


def test_boot_returns_the_admin_password_given(env, tenant):
    r = tenant.member.ok("POST", "/servers", {"server": {
        "name": f"{PREFIX}-pw", "imageRef": env.image, "flavorRef": "1",
        "adminPass": "s3cret-Given"}}, status=202)
    assert r["server"]["adminPass"] == "s3cret-Given"
    r = tenant.member.ok("POST", "/servers", {"server": {
        "name": f"{PREFIX}-pw2", "imageRef": env.image, "flavorRef": "1"}}, status=202)
    assert len(r["server"]["adminPass"]) >= 8


def test_access_ipv6_is_canonical_at_boot_and_update(env, tenant):
    r = tenant.member.ok("POST", "/servers", {"server": {
        "name": f"{PREFIX}-v6", "imageRef": env.image, "flavorRef": "1",
        "accessIPv4": "1.1.1.1",
        "accessIPv6": "0000:0000:0000:0000:0000:babe:220.12.22.2"}}, status=202)
    sid = r["server"]["id"]
    shown = tenant.member.ok("GET", f"/servers/{sid}")["server"]
    assert shown["accessIPv6"] == "::babe:dc0c:1602"
    assert shown["accessIPv4"] == "1.1.1.1"
    put = tenant.member.ok("PUT", f"/servers/{sid}", {"server": {
        "accessIPv6": "2001:0DB8:0000:0000:0000:0000:0000:0001"}})["server"]
    assert put["accessIPv6"] == "2001:db8::1"
    assert tenant.member.ok("GET", f"/servers/{sid}")["server"]["accessIPv6"] == "2001:db8::1"


def test_bad_access_ipv6_is_a_400(env, tenant, active):
    r = tenant.member("PUT", f"/servers/{active}", {"server": {"accessIPv6": "not-an-ip"}})
    assert r.status_code == 400
    assert r.json()["badRequest"]["code"] == 400


def test_update_at_2_1_answers_the_reduced_view(env, tenant, active):
    put = tenant.member.ok("PUT", f"/servers/{active}", {"server": {"name": "renamed"}},
                           mv="2.1")["server"]
    assert set(put) == REDUCED_KEYS
    assert put["name"] == "renamed"
    for addresses in put["addresses"].values():
        for a in addresses:
            assert set(a) == {"version", "addr"}
    # the admin sees no extension attributes either
    put = env.admin.ok("PUT", f"/servers/{active}", {"server": {"name": "again"}})["server"]
    assert not [k for k in put if k.startswith("OS-EXT")]


def test_update_at_later_versions_adds_only_that_versions_fields(env, tenant, active):
    put = tenant.member.ok("PUT", f"/servers/{active}", {"server": {"name": "v226"}},
                           mv="2.26")["server"]
    assert set(put) == REDUCED_KEYS | {"locked", "description", "tags"}
    shown = tenant.member.ok("GET", f"/servers/{active}", mv="2.26")["server"]
    assert "OS-EXT-STS:vm_state" in shown and "key_name" in shown


# ---------------------------------------------------------------- image

@pytest.fixture(scope="module")
def images(env, demo_session):
    """Where the demo member's images live, and a helper that makes one."""
    url = env.image_url

    def make(data: bytes | None = None, **fields) -> str:
        r = demo_session.post(url, json={"name": unique("conform-img"), "disk_format": "raw",
                                         "container_format": "bare", **fields},
                              raise_exc=False)
        assert r.status_code == 201, r.text
        image_id = r.json()["id"]
        env.images.append(image_id)
        if data is not None:
            r = demo_session.put(f"{url}/{image_id}/file", data=data, raise_exc=False,
                                 headers={"Content-Type": "application/octet-stream"})
            assert r.status_code == 204, r.text
        return image_id

    return url, make


def test_v2_0_json_patch_form_is_accepted(images, demo_session):
    url, make = images
    image_id = make()
    patch = [{"replace": "/name", "value": "patched-v20"},
             {"add": "/color", "value": "red"}]
    r = demo_session.patch(f"{url}/{image_id}", json=patch, raise_exc=False,
                           headers={"Content-Type": V20_PATCH})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "patched-v20" and r.json()["color"] == "red"
    r = demo_session.patch(f"{url}/{image_id}", json=[{"remove": "/color"}], raise_exc=False,
                           headers={"Content-Type": V20_PATCH})
    assert r.status_code == 200, r.text
    assert "color" not in r.json()


def test_v2_0_json_patch_with_two_operations_in_one_object_is_a_400(images, demo_session):
    url, make = images
    image_id = make()
    r = demo_session.patch(f"{url}/{image_id}", raise_exc=False,
                           json=[{"replace": "/name", "add": "/x", "value": "y"}],
                           headers={"Content-Type": V20_PATCH})
    assert r.status_code == 400
    r = demo_session.patch(f"{url}/{image_id}", json=[{"value": "y"}], raise_exc=False,
                           headers={"Content-Type": V20_PATCH})
    assert r.status_code == 400


def test_size_filter_matches_exactly(images, demo_session):
    url, make = images
    image_id = make(data=b"x" * 1237)
    listed = demo_session.get(f"{url}?size=1237").json()["images"]
    assert image_id in [i["id"] for i in listed]
    assert all(i["size"] == 1237 for i in listed)
    listed = demo_session.get(f"{url}?size=1236").json()["images"]
    assert image_id not in [i["id"] for i in listed]
    r = demo_session.get(f"{url}?size=big", raise_exc=False)
    assert r.status_code == 400


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_empty_image_id_is_a_404(images, demo_session, method):
    url, _ = images
    r = demo_session.request(f"{url}/", method, raise_exc=False)
    assert r.status_code == 404


def test_owner_member_deactivates_and_reactivates(images, demo_session):
    url, make = images
    image_id = make(data=b"d" * 64)
    base = url.rsplit("/images", 1)[0]
    r = demo_session.post(f"{base}/images/{image_id}/actions/deactivate", raise_exc=False)
    assert r.status_code == 204, r.text
    assert demo_session.get(f"{url}/{image_id}").json()["status"] == "deactivated"
    r = demo_session.post(f"{base}/images/{image_id}/actions/reactivate", raise_exc=False)
    assert r.status_code == 204, r.text
    assert demo_session.get(f"{url}/{image_id}").json()["status"] == "active"


# ---------------------------------------------------------------- identity

def test_unscoped_token_has_no_catalog(server, identity_url, env, tenant):
    import requests

    # a user with no default project: its token without a scope is unscoped
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": tenant.user_id, "password": tenant.password}}}}}
    r = requests.post(f"{identity_url}/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201
    assert "project" not in r.json()["token"]
    assert "catalog" not in r.json()["token"]
    body["auth"]["scope"] = {"project": {"id": tenant.project_id}}
    r = requests.post(f"{identity_url}/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201
    assert r.json()["token"]["catalog"]
