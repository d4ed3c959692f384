"""The Block Storage v3 API over HTTP, as Cinder answers it: discovery,
microversions, both URL forms, field sets per microversion, list parameters,
actions, and Cinder's faults for bad input (never a 500)."""

from __future__ import annotations

import re

import pytest
from keystoneauth1.session import Session

from tests.conftest import unique
from tests.support.cinder import Cinder
from tests.support.personas import admin_identity, new_persona

pytestmark = pytest.mark.usefixtures("no_server_errors")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?$")  # no zone
V30_FIELDS = {"id", "status", "size", "availability_zone", "created_at", "updated_at",
              "attachments", "name", "description", "volume_type", "snapshot_id",
              "source_volid", "metadata", "links", "user_id", "bootable", "encrypted",
              "replication_status", "consistencygroup_id", "multiattach"}
EXTENSION_FIELDS = {"os-vol-tenant-attr:tenant_id"}


@pytest.fixture(scope="module")
def member(server):
    identity = admin_identity(server, prefix="vol-api")
    project = identity.new_project()
    return new_persona(identity, "member", project, "member")


@pytest.fixture(scope="module")
def api(server, member) -> Cinder:
    return Cinder(member.session, f"{server.url}/volume/v3", "3.71")


@pytest.fixture(scope="module")
def admin(server, admin_session) -> Cinder:
    return Cinder(admin_session, f"{server.url}/volume/v3", "3.71")


@pytest.fixture(scope="module")
def vol(api) -> dict:
    return api.create_volume(1, name=unique("v"), metadata={"a": "1"})


# ---------------------------------------------------------------- discovery

def test_versions_root_is_300_and_v3_root_is_200(server):
    anon = Session()
    root = anon.get(f"{server.url}/volume/", raise_exc=False)
    assert root.status_code == 300
    v3 = anon.get(f"{server.url}/volume/v3/", raise_exc=False)
    assert v3.status_code == 200
    (version,) = v3.json()["versions"]
    assert version["id"] == "v3.0" and version["status"] == "CURRENT"
    assert version["version"] == "3.71" and version["min_version"] == "3.0"
    assert {"status", "updated", "id", "links", "min_version", "version",
            "media-types"} <= set(version)
    assert root.json()["versions"][0]["version"] == "3.71"


def test_catalog_names_block_storage_at_volume_v3(server, member):
    url = member.session.get_endpoint(service_type="block-storage", interface="public")
    assert url == f"{server.url}/volume/v3"
    # keystoneauth matches the aliases to the catalog type
    assert member.session.get_endpoint(service_type="volumev3") == url


# ---------------------------------------------------------------- microversions

@pytest.mark.parametrize(("asked", "echoed"), [
    (None, "volume 3.0"), ("3.0", "volume 3.0"), ("3.27", "volume 3.27"),
    ("latest", "volume 3.71")])
def test_microversion_is_echoed_with_vary(api, asked, echoed):
    r = api.at(asked).request("GET", "/volumes")
    assert r.status_code == 200
    assert r.headers["OpenStack-API-Version"] == echoed
    assert "OpenStack-API-Version" in r.headers["Vary"]


def test_microversion_echoed_on_errors_too(api):
    r = api.at("3.50").request("GET", "/volumes/nope")
    assert r.status_code == 404
    assert r.headers["OpenStack-API-Version"] == "volume 3.50"
    assert r.json()["itemNotFound"]["code"] == 404


@pytest.mark.parametrize(("asked", "status"), [("3.72", 406), ("2.0", 406), ("4.0", 406),
                                               ("3.x", 400), ("three", 400)])
def test_microversion_out_of_range_or_malformed(api, asked, status):
    r = api.at(asked).request("GET", "/volumes")
    assert r.status_code == status
    fault = "notAcceptable" if status == 406 else "badRequest"
    assert r.json()[fault]["code"] == status
    assert "OpenStack-API-Version" in r.headers["Vary"]


def test_field_sets_follow_the_microversion(api, vol):
    old = api.at(None).ok("GET", f"/volumes/{vol['id']}")["volume"]
    assert set(old) == V30_FIELDS | EXTENSION_FIELDS
    new = api.ok("GET", f"/volumes/{vol['id']}")["volume"]
    assert set(new) == (V30_FIELDS | EXTENSION_FIELDS | {
        "group_id", "shared_targets", "service_uuid", "volume_type_id", "consumes_quota"})
    assert new["shared_targets"] is None and old.get("shared_targets") is None
    assert api.at("3.48").ok("GET", f"/volumes/{vol['id']}")["volume"][
        "shared_targets"] is True


def test_admin_sees_host_and_migration_fields(admin, vol):
    shown = admin.ok("GET", f"/volumes/{vol['id']}")["volume"]
    assert {"os-vol-host-attr:host", "os-vol-mig-status-attr:migstat",
            "os-vol-mig-status-attr:name_id", "migration_status", "provider_id",
            "cluster_name"} <= set(shown)


# ---------------------------------------------------------------- project id in URLs

def test_paths_with_and_without_the_project_id(api, member, vol):
    with_pid = api.ok("GET", f"/{member.project_id}/volumes/{vol['id']}")["volume"]
    assert with_pid["id"] == vol["id"]
    assert with_pid["links"][0]["href"].endswith(f"/volume/v3/{member.project_id}/volumes/"
                                                 f"{vol['id']}")
    r = api.request("GET", f"/{'0' * 32}/volumes")
    assert r.status_code == 400 and r.json()["badRequest"]["message"] == (
        "Malformed request url")


# ---------------------------------------------------------------- volumes

def test_create_accepts_explicit_nulls_as_osc_sends_them(api):
    body = {"volume": {"size": 1, "name": unique("nulls"), "description": None,
                       "volume_type": None, "availability_zone": None, "snapshot_id": None,
                       "source_volid": None, "backup_id": None, "imageRef": None,
                       "consistencygroup_id": None, "metadata": None}}
    r = api.request("POST", "/volumes", body)
    assert r.status_code == 202, r.text
    created = r.json()["volume"]
    assert created["status"] == "creating" and created["size"] == 1
    assert created["volume_type"] == "__DEFAULT__" and created["bootable"] == "false"
    assert created["metadata"] == {} and created["attachments"] == []
    assert "os-vol-tenant-attr:tenant_id" not in created  # extensions: show/detail only
    assert TIMESTAMP.match(created["created_at"]), created["created_at"]
    api.wait("volumes", created["id"])
    assert api.request("DELETE", f"/volumes/{created['id']}").status_code == 202


def test_list_detail_filters_sort_and_pages(api):
    tag = unique("page")
    made = [api.create_volume(1, name=f"{tag}-{i}", metadata={"tag": tag})
            for i in range(3)]
    summary = api.ok("GET", f"/volumes?name={made[0]['name']}")["volumes"]
    assert [set(v) for v in summary] == [{"id", "name", "links"}]
    detail = api.ok("GET", f"/volumes/detail?metadata={{'tag':'{tag}'}}&sort=name:asc")
    assert [v["name"] for v in detail["volumes"]] == [v["name"] for v in made]
    page = api.ok("GET", f"/volumes/detail?metadata={{'tag':'{tag}'}}&sort=name:asc&limit=2")
    assert [v["name"] for v in page["volumes"]] == [made[0]["name"], made[1]["name"]]
    (link,) = page["volumes_links"]
    assert link["rel"] == "next" and f"marker={made[1]['id']}" in link["href"]
    rest = api.ok("GET", link["href"].split("/volume/v3", 1)[1])
    assert [v["id"] for v in rest["volumes"]] == [made[2]["id"]]
    counted = api.ok("GET", f"/volumes/detail?metadata={{'tag':'{tag}'}}&with_count=true")
    assert counted["count"] == 3
    for v in made:
        api.wait("volumes", v["id"])
        api.ok("DELETE", f"/volumes/{v['id']}")


def test_update_and_metadata_calls(api, vol):
    vid = vol["id"]
    updated = api.ok("PUT", f"/volumes/{vid}", {"volume": {"description": "d"}})["volume"]
    assert updated["description"] == "d" and updated["name"] == vol["name"]
    assert api.ok("POST", f"/volumes/{vid}/metadata", {"metadata": {"b": "2"}}) == {
        "metadata": {"a": "1", "b": "2"}}
    assert api.ok("GET", f"/volumes/{vid}/metadata/b") == {"meta": {"b": "2"}}
    assert api.ok("PUT", f"/volumes/{vid}/metadata/b", {"meta": {"b": "3"}}) == {
        "meta": {"b": "3"}}
    assert api.request("DELETE", f"/volumes/{vid}/metadata/b").status_code == 200
    assert api.request("GET", f"/volumes/{vid}/metadata/b").status_code == 404
    assert api.ok("PUT", f"/volumes/{vid}/metadata", {"metadata": {"c": "4"}}) == {
        "metadata": {"c": "4"}}
    r = api.request("PUT", f"/volumes/{vid}/metadata/x", {"meta": {"y": "1"}})
    assert r.status_code == 400 and "mismatch" in r.json()["badRequest"]["message"]


def test_extend_set_bootable_and_readonly(api):
    vid = api.create_volume(1, name=unique("ext"))["id"]
    api.wait("volumes", vid)
    r = api.request("POST", f"/volumes/{vid}/action", {"os-set_bootable": {"bootable": True}})
    assert r.status_code == 200
    r = api.request("POST", f"/volumes/{vid}/action",
                    {"os-update_readonly_flag": {"readonly": "true"}})
    assert r.status_code == 202
    r = api.request("POST", f"/volumes/{vid}/action", {"os-extend": {"new_size": 1}})
    assert r.status_code == 400 and r.json()["badRequest"]["message"]
    r = api.request("POST", f"/volumes/{vid}/action", {"os-extend": {"new_size": 2}})
    assert r.status_code == 202, r.text
    shown = api.wait("volumes", vid)
    assert shown["size"] == 2 and shown["bootable"] == "true"
    api.ok("DELETE", f"/volumes/{vid}?cascade=False&force=false")
    api.wait("volumes", vid, "deleted")


def test_admin_actions_are_admins(api, admin):
    vid = api.create_volume(1, name=unique("adm"))["id"]
    api.wait("volumes", vid)
    r = api.request("POST", f"/volumes/{vid}/action", {"os-reset_status": {
        "status": "error"}})
    assert r.status_code == 403 and r.json()["forbidden"]["code"] == 403
    r = admin.request("POST", f"/volumes/{vid}/action", {"os-reset_status": {
        "status": "error"}})
    assert r.status_code == 202, r.text
    assert api.ok("GET", f"/volumes/{vid}")["volume"]["status"] == "error"
    r = admin.request("POST", f"/volumes/{vid}/action", {"os-force_delete": {}})
    assert r.status_code == 202, r.text
    api.wait("volumes", vid, "deleted")


def test_legacy_attach_flow(api, admin):
    vid = api.create_volume(1, name=unique("legacy"))["id"]
    api.wait("volumes", vid)
    server_id = "5b9a4d55-0d63-4a59-9c2d-11f5c9d1e2a4"
    act = lambda body: api.request("POST", f"/volumes/{vid}/action", body)  # noqa: E731
    assert act({"os-reserve": {}}).status_code == 202
    assert act({"os-unreserve": {}}).status_code == 202
    assert api.ok("GET", f"/volumes/{vid}")["volume"]["status"] == "available"
    assert act({"os-reserve": {}}).status_code == 202
    r = act({"os-initialize_connection": {"connector": {"host": "h1", "initiator": "i"}}})
    assert r.status_code == 200 and "connection_info" in r.json()
    assert act({"os-attach": {"instance_uuid": server_id, "mountpoint": "/dev/vdb",
                              "mode": "rw"}}).status_code == 202
    shown = api.ok("GET", f"/volumes/{vid}")["volume"]
    assert shown["status"] == "in-use"
    (att,) = shown["attachments"]
    assert att["server_id"] == server_id and att["device"] == "/dev/vdb"
    assert att["host_name"] is None  # only admins see the host
    r = api.request("DELETE", f"/volumes/{vid}")
    assert r.status_code == 400 and r.json()["badRequest"]["message"]
    assert act({"os-begin_detaching": {}}).status_code == 202
    assert act({"os-roll_detaching": {}}).status_code == 202
    assert act({"os-begin_detaching": {}}).status_code == 202
    assert act({"os-terminate_connection": {"connector": {"host": "h1"}}}).status_code == 202
    assert act({"os-detach": {"attachment_id": att["attachment_id"]}}).status_code == 202
    assert api.ok("GET", f"/volumes/{vid}")["volume"]["status"] == "available"
    api.ok("DELETE", f"/volumes/{vid}")


# ---------------------------------------------------------------- attachments API

def test_attachments_api_create_update_complete_delete(api):
    vid = api.create_volume(1, name=unique("att"))["id"]
    api.wait("volumes", vid)
    instance = "3f1a1f6e-7c55-4a59-9c2d-11f5c9d1e2a4"
    assert api.at("3.26").request("POST", "/attachments", {"attachment": {
        "volume_uuid": vid, "instance_uuid": instance}}).status_code == 404
    att = api.ok("POST", "/attachments", {"attachment": {"volume_uuid": vid,
                                                         "instance_uuid": instance}})
    att = att["attachment"]
    assert att["status"] == "reserved" and att["instance"] == instance
    assert api.ok("GET", f"/volumes/{vid}")["volume"]["status"] == "reserved"
    second = api.request("POST", "/attachments", {"attachment": {
        "volume_uuid": vid, "instance_uuid": "0d7e6b5a-0000-4a59-9c2d-11f5c9d1e2a4"}})
    assert second.status_code == 400, second.text
    updated = api.ok("PUT", f"/attachments/{att['id']}", {"attachment": {"connector": {
        "host": "h1", "initiator": "iqn", "mountpoint": "/dev/vdb"}}})["attachment"]
    assert updated["connection_info"] and updated["status"] == "attaching"
    r = api.request("POST", f"/attachments/{att['id']}/action", {"os-complete": {}})
    assert r.status_code == 204, r.text
    assert api.ok("GET", f"/volumes/{vid}")["volume"]["status"] == "in-use"
    listed = api.ok("GET", f"/attachments/detail?volume_id={vid}")["attachments"]
    assert [a["id"] for a in listed] == [att["id"]] and listed[0]["attach_mode"] == "rw"
    assert api.ok("GET", f"/attachments/{att['id']}")["attachment"]["status"] == "attached"
    assert api.ok("DELETE", f"/attachments/{att['id']}") == {"attachments": []}
    assert api.ok("GET", f"/volumes/{vid}")["volume"]["status"] == "available"
    api.ok("DELETE", f"/volumes/{vid}")


# ---------------------------------------------------------------- snapshots

def test_snapshots_crud_metadata_and_delete_rules(api):
    vid = api.create_volume(1, name=unique("snapvol"))["id"]
    api.wait("volumes", vid)
    r = api.request("POST", "/snapshots", {"snapshot": {
        "volume_id": vid, "name": unique("s"), "description": None, "metadata": None}})
    assert r.status_code == 202, r.text
    snap = r.json()["snapshot"]
    assert snap["status"] == "creating" and snap["size"] == 1
    assert "os-extended-snapshot-attributes:progress" not in snap
    assert {"group_snapshot_id", "user_id", "consumes_quota"} <= set(snap)
    done = api.wait("snapshots", snap["id"])
    assert done["os-extended-snapshot-attributes:progress"] == "100%"
    assert done["os-extended-snapshot-attributes:project_id"]
    assert set(api.at("3.0").ok("GET", f"/snapshots/{snap['id']}")["snapshot"]) == {
        "id", "created_at", "updated_at", "name", "description", "volume_id", "status",
        "size", "metadata", "os-extended-snapshot-attributes:progress",
        "os-extended-snapshot-attributes:project_id"}
    listed = api.ok("GET", f"/snapshots/detail?volume_id={vid}")["snapshots"]
    assert [s["id"] for s in listed] == [snap["id"]]
    assert api.ok("PUT", f"/snapshots/{snap['id']}", {"snapshot": {"name": "renamed"}})[
        "snapshot"]["name"] == "renamed"
    assert api.ok("POST", f"/snapshots/{snap['id']}/metadata", {"metadata": {"k": "v"}}) == {
        "metadata": {"k": "v"}}
    # a volume with snapshots is deleted only with cascade
    r = api.request("DELETE", f"/volumes/{vid}")
    assert r.status_code == 400 and r.json()["badRequest"]["message"]
    assert api.request("DELETE", f"/volumes/{vid}?cascade=True").status_code == 202
    api.wait("volumes", vid, "deleted")
    assert api.request("GET", f"/snapshots/{snap['id']}").status_code == 404


# ---------------------------------------------------------------- types, quotas, limits

def test_types_default_and_admin_management(api, admin):
    default = api.ok("GET", "/types/default")["volume_type"]
    assert default["name"] == "__DEFAULT__" and default["is_public"] is True
    assert default["os-volume-type-access:is_public"] is True
    name = unique("gold")
    r = api.request("POST", "/types", {"volume_type": {"name": name}})
    assert r.status_code == 403 and r.json()["forbidden"]
    created = admin.ok("POST", "/types", {"volume_type": {
        "name": name, "extra_specs": {"provisioning:type": "thin"}}})["volume_type"]
    assert created["extra_specs"] == {"provisioning:type": "thin"}
    names = [t["name"] for t in admin.ok("GET", "/types?is_public=none")["volume_types"]]
    assert {name, "__DEFAULT__"} <= set(names)
    # non-admins see only the user-visible extra specs
    assert api.ok("GET", f"/types/{created['id']}")["volume_type"]["extra_specs"] == {}
    admin.ok("POST", f"/types/{created['id']}/extra_specs", {"extra_specs": {"k": "v"}})
    assert admin.ok("GET", f"/types/{created['id']}/extra_specs/k") == {"k": "v"}
    assert admin.request("DELETE", f"/types/{created['id']}/extra_specs/k").status_code == 202
    vol = api.create_volume(1, volume_type=name)
    assert vol["volume_type"] == name
    assert admin.request("POST", "/types", {"volume_type": {"name": name}}).status_code == 409
    api.wait("volumes", vol["id"])
    api.ok("DELETE", f"/volumes/{vol['id']}")
    api.wait("volumes", vol["id"], "deleted")
    assert admin.request("DELETE", f"/types/{created['id']}").status_code == 202
    assert api.request("GET", f"/types/{created['id']}").status_code == 404


def test_quota_sets_and_limits(api, admin, member):
    pid = member.project_id
    quota = api.ok("GET", f"/os-quota-sets/{pid}")["quota_set"]
    assert quota["id"] == pid
    assert {"volumes", "snapshots", "gigabytes", "backups", "backup_gigabytes", "groups",
            "per_volume_gigabytes", "volumes___DEFAULT__"} <= set(quota)
    usage = api.ok("GET", f"/os-quota-sets/{pid}?usage=true")["quota_set"]
    assert set(usage["volumes"]) == {"limit", "in_use", "reserved"}
    assert api.ok("GET", f"/os-quota-sets/{pid}/defaults")["quota_set"]["volumes"] == 10
    assert api.request("PUT", f"/os-quota-sets/{pid}", {"quota_set": {
        "volumes": 50}}).status_code == 403
    assert admin.ok("PUT", f"/os-quota-sets/{pid}", {"quota_set": {"volumes": 50}})[
        "quota_set"]["volumes"] == 50
    limits = api.at("3.39").ok("GET", "/limits")["limits"]
    assert limits["rate"] == []
    assert set(limits["absolute"]) == {
        "maxTotalVolumes", "maxTotalSnapshots", "maxTotalVolumeGigabytes", "maxTotalBackups",
        "maxTotalBackupGigabytes", "totalVolumesUsed", "totalGigabytesUsed",
        "totalSnapshotsUsed", "totalBackupsUsed", "totalBackupGigabytesUsed"}
    assert limits["absolute"]["maxTotalVolumes"] == 50


def test_zones_services_and_pools(api, admin):
    zones = api.ok("GET", "/os-availability-zone")["availabilityZoneInfo"]
    assert {"zoneName": "nova", "zoneState": {"available": True}} in zones
    assert api.request("GET", "/os-services").status_code == 403
    services = admin.at("3.32").ok("GET", "/os-services")["services"]
    assert {"cinder-scheduler", "cinder-volume"} <= {s["binary"] for s in services}
    assert api.request("GET", "/scheduler-stats/get_pools").status_code == 403
    pools = admin.ok("GET", "/scheduler-stats/get_pools?detail=True")["pools"]
    assert pools and all(re.match(r".+@.+#.+", p["name"]) for p in pools)
    assert "total_capacity_gb" in pools[0]["capabilities"]


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("size", [0, -1, "x", 1.5, True, None])
def test_bad_sizes_are_400(api, size):
    r = api.request("POST", "/volumes", {"volume": {"size": size, "name": "bad"}})
    assert r.status_code == 400, r.text
    assert r.json()["badRequest"]["code"] == 400


@pytest.mark.parametrize(("body", "status", "fault"), [
    ({"volume": {"size": 1, "volume_type": "no-such-type"}}, 404, "itemNotFound"),
    ({"volume": {"size": 1, "snapshot_id": "no-such-snap"}}, 404, "itemNotFound"),
    ({"volume": {"size": 1, "multiattach": True}}, 400, "badRequest"),
    ({"volume": {"size": 1, "bogus": 1}}, 400, "badRequest"),
    ({"volume": {"size": 1, "metadata": {"k": 1}}}, 400, "badRequest"),
    ({"volume": "x"}, 400, "badRequest"),
    ({}, 400, "badRequest"),
])
def test_bad_create_bodies(api, body, status, fault):
    r = api.request("POST", "/volumes", body)
    assert r.status_code == status, r.text
    assert r.json()[fault]["message"]


def test_over_quota_is_413_over_limit(api, admin, member):
    pid = member.project_id
    admin.ok("PUT", f"/os-quota-sets/{pid}", {"quota_set": {"gigabytes": 5}})
    try:
        r = api.request("POST", "/volumes", {"volume": {"size": 6}})
        assert r.status_code == 413, r.text
        assert "gigabytes" in r.json()["overLimit"]["message"]
    finally:
        admin.ok("PUT", f"/os-quota-sets/{pid}", {"quota_set": {"gigabytes": 1000}})


def test_unknown_ids_actions_and_params(api, vol):
    assert api.request("GET", f"/volumes/{vol['name']}").status_code == 404
    r = api.request("POST", f"/volumes/{vol['id']}/action", {"os-bogus": {}})
    assert r.status_code == 400 and r.json()["badRequest"]
    r = api.request("POST", f"/volumes/{vol['id']}/action", {"os-extend": {"new_size": "x"}})
    assert r.status_code == 400
    assert api.request("GET", "/volumes?limit=-1").status_code == 400
    assert api.request("GET", "/volumes?sort=name:sideways").status_code == 400
    assert api.request("GET", "/volumes?sort=name&sort_key=id").status_code == 400
    assert api.request("DELETE", f"/volumes/{vol['id']}?cascade=maybe").status_code == 400
    r = api.request("GET", "/volumes/detail?metadata=notadict")
    assert r.status_code == 400
