"""The server view at microversions 2.27-2.100 (issue 13): the embedded flavor
(2.47), trusted_image_certificates (2.63), server_groups (2.71), locked_reason
(2.73), the full view from PUT and rebuild (2.75), the hostname for everyone
(2.90), pinned_availability_zone (2.96), image properties (2.98) and
scheduler_hints (2.100), each from its version exactly, on one server booted once;
then the same through the `openstack` CLI and openstacksdk at their default
(the server's newest) version."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest

from tests.conftest import sdk_connection, unique
from tests.support.compute_api import Api, Tenant, delete_all, wait_for
from tests.support.compute_env import PREFIX

# One worker runs the module in order: one server, booted once (the rebuilds come last).
pytestmark = [pytest.mark.xdist_group("server-microversions-view"), pytest.mark.usefixtures("no_server_errors")]

USER_DATA = base64.b64encode(b"#!/bin/sh\necho views\n").decode()


@dataclass
class Booted:
    id: str
    name: str
    group: str  # its server group
    zone: str  # the availability zone asked for at boot
    image: str
    hostname: str


@pytest.fixture(scope="module")
def tenant(env) -> Tenant:
    return env.tenant({"instances": 4, "cores": 8, "ram": 8 * 2048})


@pytest.fixture(scope="module")
def booted(env, tenant) -> Booted:
    """One server in a group of its own, pinned to a zone, with scheduler hints
    (one a filter reads, one only an operator's filter would) and user data."""
    api = tenant.member
    group = api.ok("POST", "/os-server-groups", {"server_group": {
        "name": unique("views"), "policies": ["anti-affinity"]}}, mv="2.1")["server_group"]
    zone = env.admin.ok("GET", "/os-availability-zone")["availabilityZoneInfo"][0]["zoneName"]
    name = f"{PREFIX}-views"
    made = api.ok("POST", "/servers", {
        "server": {"name": name, "imageRef": env.image, "flavorRef": "1",
                   "availability_zone": zone, "user_data": USER_DATA},
        "os:scheduler_hints": {"group": group["id"], "rack": "r7"}}, status=202)
    sid = made["server"]["id"]
    shown = wait_for(api, sid, "ACTIVE")
    hostname = env.admin.ok("GET", f"/servers/{sid}", mv="2.3")["server"][
        "OS-EXT-SRV-ATTR:hostname"]
    assert shown["name"] == name
    return Booted(sid, name, group["id"], zone, env.image, hostname)


def show(api: Api, sid: str, mv: str) -> dict:
    return api.ok("GET", f"/servers/{sid}", mv=mv)["server"]


def before(version: str) -> str:
    major, minor = version.split(".")
    return f"{major}.{int(minor) - 1}"


# ---------------------------------------------------------------- each key from its version

@pytest.mark.parametrize(("version", "key"), [
    ("2.63", "trusted_image_certificates"),
    ("2.71", "server_groups"),
    ("2.73", "locked_reason"),
    ("2.90", "OS-EXT-SRV-ATTR:hostname"),
    ("2.96", "pinned_availability_zone"),
    ("2.100", "scheduler_hints"),
])
def test_key_appears_from_its_version(tenant, booted, version, key):
    assert key not in show(tenant.member, booted.id, before(version))
    assert key in show(tenant.member, booted.id, version)


def test_flavor_is_embedded_from_2_47(tenant, booted):
    old = show(tenant.member, booted.id, "2.46")["flavor"]
    assert old["id"] == "1" and set(old) == {"id", "links"}
    flavor = tenant.member.ok("GET", "/flavors/1")["flavor"]
    specs = tenant.member.ok("GET", "/flavors/1/os-extra_specs")["extra_specs"]
    embedded = show(tenant.member, booted.id, "2.47")["flavor"]
    assert embedded == {
        "original_name": flavor["name"], "vcpus": flavor["vcpus"], "ram": flavor["ram"],
        "disk": flavor["disk"], "ephemeral": flavor["OS-FLV-EXT-DATA:ephemeral"],
        "swap": flavor["swap"] or 0, "extra_specs": specs}
    assert isinstance(embedded["swap"], int)


def test_image_properties_from_2_98(tenant, booted):
    assert set(show(tenant.member, booted.id, "2.97")["image"]) == {"id", "links"}
    image = show(tenant.member, booted.id, "2.98")["image"]
    props = image["properties"]
    # as Nova keeps them at boot: the image's properties and attributes, as strings
    assert props["os_distro"] == "nimbus"
    assert props["min_ram"] == "64" and props["min_disk"] == "1"
    assert props["disk_format"] == "raw" and props["container_format"] == "bare"
    assert props["base_image_ref"] == booted.image
    assert all(isinstance(v, str) for v in props.values())


def test_full_view_at_2_100(tenant, booted):
    s = show(tenant.member, booted.id, "2.100")
    assert s["server_groups"] == [booted.group]
    assert s["scheduler_hints"] == {"group": [booted.group], "rack": ["r7"]}
    assert s["pinned_availability_zone"] == booted.zone
    assert s["trusted_image_certificates"] is None
    assert s["locked"] is False and s["locked_reason"] is None
    # 2.90: of the extended server attributes, a member sees the hostname alone
    assert [k for k in s if k.startswith("OS-EXT-SRV-ATTR:")] == ["OS-EXT-SRV-ATTR:hostname"]
    assert s["OS-EXT-SRV-ATTR:hostname"] == booted.hostname
    # what older versions show stays
    assert s["tags"] == [] and "description" in s and s["locked"] is False
    assert s["OS-EXT-STS:vm_state"] == "active" and "key_name" in s


def test_admin_sees_every_extended_attribute_at_2_100(env, booted):
    s = show(env.admin, booted.id, "2.100")
    assert {"OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:hostname",
            "OS-EXT-SRV-ATTR:user_data", "host_status"} <= set(s)
    assert s["OS-EXT-SRV-ATTR:user_data"] == USER_DATA
    assert "extra_specs" in s["flavor"]


def test_a_server_without_zone_or_hints(env, tenant):
    sid = env.boot(tenant.member, "plain")[0]
    s = show(tenant.member, sid, "2.100")
    assert s["pinned_availability_zone"] is None
    assert s["scheduler_hints"] == {}
    assert s["server_groups"] == []
    delete_all(tenant.member, [sid])


def test_detail_list_has_the_same_keys_but_server_groups(tenant, booted):
    for mv in ("2.71", "2.100"):
        listed = tenant.member.ok("GET", f"/servers/detail?name=^{booted.name}$",
                                  mv=mv)["servers"]
        assert [s["id"] for s in listed] == [booted.id]
        shown = show(tenant.member, booted.id, mv)
        assert set(shown) - set(listed[0]) == {"server_groups"}
    assert listed[0]["scheduler_hints"] == {"group": [booted.group], "rack": ["r7"]}
    assert listed[0]["image"]["properties"]["os_distro"] == "nimbus"
    assert listed[0]["flavor"]["original_name"]


def test_locked_reason_from_2_73(tenant, booted):
    api = tenant.member
    api.ok("POST", f"/servers/{booted.id}/action", {"lock": {"locked_reason": "audit"}},
           mv="2.73", status=202)
    try:
        assert "locked_reason" not in show(api, booted.id, "2.72")
        assert show(api, booted.id, "2.73")["locked_reason"] == "audit"
        listed = api.ok("GET", f"/servers/detail?name=^{booted.name}$", mv="2.73")["servers"]
        assert listed[0]["locked_reason"] == "audit"
    finally:
        api.ok("POST", f"/servers/{booted.id}/action", {"unlock": None}, status=202)
    assert show(api, booted.id, "2.73")["locked_reason"] is None


# ---------------------------------------------------------------- PUT and rebuild

def put(api: Api, sid: str, mv: str) -> dict:
    return api.ok("PUT", f"/servers/{sid}", {"server": {"name": f"{PREFIX}-views"}},
                  mv=mv)["server"]


def test_update_shows_server_groups_from_2_71_in_the_reduced_view(tenant, booted):
    assert "server_groups" not in put(tenant.member, booted.id, "2.70")
    view = put(tenant.member, booted.id, "2.74")
    assert view["server_groups"] == [booted.group]
    assert view["locked_reason"] is None and view["trusted_image_certificates"] is None
    assert not [k for k in view if k.startswith(("OS-EXT-", "OS-SRV-USG:"))]
    assert "key_name" not in view and "security_groups" not in view
    for addresses in view["addresses"].values():
        assert all(set(a) == {"version", "addr"} for a in addresses)


@pytest.mark.parametrize("mv", ["2.75", "2.100"])
def test_update_answers_what_show_does_from_2_75(env, tenant, booted, mv):
    for api in (tenant.member, env.admin):
        view = put(api, booted.id, mv)
        shown = show(api, booted.id, mv)
        assert set(view) == set(shown)
        assert view["server_groups"] == [booted.group]


def rebuild(api: Api, sid: str, image: str, mv: str) -> dict:
    view = api.ok("POST", f"/servers/{sid}/action", {"rebuild": {"imageRef": image}},
                  mv=mv, status=202)["server"]
    wait_for(api, sid, "ACTIVE")
    return view


@pytest.fixture(scope="module")
def other_image(env, admin_session) -> str:
    """A copy of the bootstrap image with a property of its own."""
    data = admin_session.get(f"{env.image_url}/{env.image}/file").content
    made = admin_session.post(env.image_url, json={
        "name": unique("views-img"), "disk_format": "raw", "container_format": "bare",
        "visibility": "public", "color": "blue"}).json()
    env.images.append(made["id"])
    admin_session.put(f"{env.image_url}/{made['id']}/file", data=data,
                      headers={"Content-Type": "application/octet-stream"})
    return made["id"]


def test_rebuild_views_by_version(env, tenant, booted, other_image):
    api = tenant.member
    v = rebuild(api, booted.id, booted.image, "2.53")
    assert "key_name" not in v and "user_data" not in v and "server_groups" not in v
    assert "adminPass" in v and not [k for k in v if k.startswith("OS-EXT-")]
    v = rebuild(api, booted.id, booted.image, "2.57")
    assert "key_name" in v and v["user_data"] == USER_DATA
    assert "trusted_image_certificates" not in v and "server_groups" not in v
    v = rebuild(api, booted.id, booted.image, "2.74")
    assert v["server_groups"] == [booted.group] and v["locked_reason"] is None
    assert v["trusted_image_certificates"] is None
    assert "OS-EXT-STS:vm_state" not in v and "security_groups" not in v
    v = rebuild(env.admin, booted.id, other_image, "2.100")
    shown = show(env.admin, booted.id, "2.100")
    # the full view, but user_data under its own name only
    assert set(v) == set(shown) - {"OS-EXT-SRV-ATTR:user_data"} | {"adminPass", "user_data"}
    assert v["image"]["id"] == other_image
    # the rebuilt server's image properties are the new image's
    assert v["image"]["properties"]["color"] == "blue"
    assert "os_distro" not in v["image"]["properties"]
    assert shown["image"]["properties"]["base_image_ref"] == other_image
    assert v["scheduler_hints"] == {"group": [booted.group], "rack": ["r7"]}


# ---------------------------------------------------------------- versions and real clients

def test_version_documents_advertise_2_100(server, env):
    doc = env.admin.ok("GET", "")["version"]
    assert doc["version"] == "2.100" and doc["min_version"] == "2.1"
    listed = env.admin.session.get(f"{server.url}/compute/", authenticated=False).json()
    assert {v["id"]: v["version"] for v in listed["versions"]}["v2.1"] == "2.100"


def test_cli_server_show_at_its_default_version(cli, booted):
    shown = cli.json("admin", "server", "show", booted.id)
    assert shown["flavor"]["original_name"] == "m1.tiny"
    assert "extra_specs" in shown["flavor"]
    assert shown["pinned_availability_zone"] == booted.zone
    assert shown["server_groups"] == [booted.group]
    assert "locked_reason" in shown and "trusted_image_certificates" in shown


def test_cli_server_list_long_at_its_default_version(cli, booted):
    rows = cli.json("admin", "server", "list", "--long", "--all-projects",
                    "--name", f"^{booted.name}$")
    assert [r["ID"] for r in rows] == [booted.id]
    assert rows[0]["Flavor"] == "m1.tiny"
    assert rows[0]["Pinned Availability Zone"] == booted.zone
    assert rows[0]["Scheduler Hints"] == {"group": [booted.group], "rack": ["r7"]}


def test_sdk_get_server(server, booted):
    conn = sdk_connection(server, "admin")
    try:
        s = conn.compute.get_server(booted.id)
        assert s.flavor.original_name == "m1.tiny"
        assert s.flavor.vcpus >= 1
        assert s.pinned_availability_zone == booted.zone
        assert s.server_groups == [booted.group]
        # the sdk's Server reads scheduler_hints from the request's key
        # (OS-SCH-HNT:scheduler_hints); the 2.100 body as the sdk negotiates it:
        raw = conn.compute.get(f"/servers/{booted.id}", microversion="2.100").json()
        assert raw["server"]["scheduler_hints"] == {"group": [booted.group], "rack": ["r7"]}
    finally:
        conn.close()
