"""The compute resources other than servers at microversions 2.27-2.100, at each
version boundary, with keystoneauth, openstacksdk and the `openstack` CLI:
hypervisors (2.28, 2.33, 2.53, 2.88), services (2.53), limits and quotas
(2.39, 2.50, 2.57), aggregates (2.41, 2.81). Flavors, key pairs and server
groups: test_resource_microversions_flavors.py."""

from __future__ import annotations

import time

import pytest

from tests.conftest import unique
from tests.support.compute_api import Api, new_tenant
from tests.support.compute_hosts import add_host
from tests.support.nova import refused

pytestmark = pytest.mark.usefixtures("no_server_errors")




@pytest.fixture(scope="module")
def admin(server, admin_session) -> Api:
    return Api(f"{server.url}/compute/v2.1", admin_session)


@pytest.fixture(scope="module")
def demo(server, demo_session) -> Api:
    return Api(f"{server.url}/compute/v2.1", demo_session)


@pytest.fixture(scope="module")
def host(server):
    """A compute host (service and node) of the module's own."""
    return add_host(server, vcpus=12, memory_mb=4096)


# ---------------------------------------------------------------- hypervisors

def test_hypervisor_views_by_version(admin, host):
    old = admin.ok("GET", f"/os-hypervisors/{host.node_id}", mv="2.27")["hypervisor"]
    assert isinstance(old["cpu_info"], str) and old["id"] == host.node_id
    new = admin.ok("GET", f"/os-hypervisors/{host.node_id}", mv="2.28")["hypervisor"]
    assert new["cpu_info"]["topology"]["cores"] == 12 and new["vcpus"] == 12
    at53 = admin.ok("GET", f"/os-hypervisors/{host.node_uuid}", mv="2.53")["hypervisor"]
    assert at53["id"] == host.node_uuid and at53["service"]["id"] == host.service_uuid
    at87 = admin.ok("GET", f"/os-hypervisors/{host.node_uuid}", mv="2.87")["hypervisor"]
    assert at87["memory_mb"] == 4096 and "uptime" not in at87
    at88 = admin.ok("GET", f"/os-hypervisors/{host.node_uuid}", mv="2.88")["hypervisor"]
    assert " up " in at88["uptime"] and at88["hypervisor_type"]
    for gone in ("vcpus", "memory_mb", "local_gb", "running_vms", "cpu_info",
                 "current_workload", "free_disk_gb", "disk_available_least"):
        assert gone not in at88
    detail = admin.ok("GET", "/os-hypervisors/detail", mv="2.88")["hypervisors"]
    assert "uptime" in detail[0] and "vcpus" not in detail[0]
    # 2.53: a UUID in the path, 400 for anything else; below, an integer (404 else)
    refused(admin("GET", f"/os-hypervisors/{host.node_id}", mv="2.53"), 400)
    refused(admin("GET", f"/os-hypervisors/{host.node_uuid}", mv="2.52"), 404)
    refused(admin("GET", f"/os-hypervisors/{unique('x')}", mv="2.88"), 400)
    refused(admin("GET", "/os-hypervisors/00000000-0000-0000-0000-000000000000",
                  mv="2.53"), 404)


def test_hypervisor_paging(admin, server):
    add_host(server)  # at least two
    everything = admin.ok("GET", "/os-hypervisors", mv="2.33")["hypervisors"]
    page = admin.ok("GET", "/os-hypervisors?limit=1", mv="2.33")
    assert page["hypervisors"] == everything[:1]
    link = page["hypervisors_links"][0]
    assert link["rel"] == "next" and f"marker={everything[0]['id']}" in link["href"]
    rest = admin.ok("GET", f"/os-hypervisors?marker={everything[0]['id']}", mv="2.33")
    assert rest["hypervisors"] == everything[1:]
    refused(admin("GET", "/os-hypervisors?marker=99999999", mv="2.33"), 400)
    # 2.32: no paging (the parameters are ignored)
    old = admin.ok("GET", "/os-hypervisors?limit=1", mv="2.32")
    assert len(old["hypervisors"]) == len(everything) and "hypervisors_links" not in old
    # 2.53: the marker is a UUID
    uuids = admin.ok("GET", "/os-hypervisors/detail?limit=1", mv="2.53")
    marker = uuids["hypervisors"][0]["id"]
    after = admin.ok("GET", f"/os-hypervisors/detail?marker={marker}", mv="2.53")
    assert marker not in [h["id"] for h in after["hypervisors"]]
    refused(admin("GET", f"/os-hypervisors?marker={everything[0]['id']}", mv="2.53"), 400)


def test_hypervisor_list_query_from_253(admin, server, host):
    pattern = f"/os-hypervisors?hypervisor_hostname_pattern={host.host}"
    found = admin.ok("GET", pattern, mv="2.53")["hypervisors"]
    assert [h["id"] for h in found] == [host.node_uuid]
    assert len(admin.ok("GET", pattern, mv="2.52")["hypervisors"]) > 1  # ignored before
    refused(admin("GET", pattern + "&limit=1", mv="2.53"), 400)
    refused(admin("GET", "/os-hypervisors?hypervisor_hostname_pattern=nothing-like-it",
                  mv="2.53"), 404)
    refused(admin("GET", "/os-hypervisors?color=red", mv="2.53"), 400)
    refused(admin("GET", pattern + "&with_servers=maybe", mv="2.53"), 400)
    # no servers: the key only from 2.75
    assert "servers" not in admin.ok("GET", pattern + "&with_servers=true",
                                     mv="2.74")["hypervisors"][0]
    assert admin.ok("GET", pattern + "&with_servers=true",
                    mv="2.75")["hypervisors"][0]["servers"] == []
    shown = admin.ok("GET", f"/os-hypervisors/{host.node_uuid}?with_servers=1", mv="2.75")
    assert shown["hypervisor"]["servers"] == []
    refused(admin("GET", f"/os-hypervisors/{host.node_uuid}?limit=1", mv="2.53"), 400)
    assert admin("GET", f"/os-hypervisors/{host.node_id}?limit=1", mv="2.52").status_code == 200


def test_hypervisor_paths_gone(admin, host):
    for mv, status in (("2.87", 200), ("2.88", 404)):
        assert admin("GET", "/os-hypervisors/statistics", mv=mv).status_code == status
        assert admin("GET", f"/os-hypervisors/{host.node_uuid}/uptime",
                     mv=mv).status_code == status
    refused(admin("GET", "/os-hypervisors/statistics", mv="2.88"), 404)
    refused(admin("GET", f"/os-hypervisors/{host.node_uuid}/uptime", mv="2.88"), 404)
    refused(admin("GET", f"/os-hypervisors/{host.node_id}/uptime", mv="2.53"), 400)
    for path in (f"/os-hypervisors/{host.host}/search", f"/os-hypervisors/{host.host}/servers"):
        assert admin("GET", path, mv="2.52").status_code == 200
        refused(admin("GET", path, mv="2.53"), 404)


def test_cli_hypervisor_show_and_stats(cli, host):
    shown = cli.json("admin", "hypervisor", "show", f"{host.host}.local")
    assert shown["id"] == host.node_uuid and shown["service_id"] == host.service_uuid
    assert "vcpus" not in shown and shown["uptime"]
    # --limit is the page size: the sdk follows hypervisors_links to the end
    listed = cli.json("admin", "hypervisor", "list", "--limit", "1")
    assert len(listed) > 1 and host.node_uuid in [r["ID"] for r in listed]
    # OSC reads the statistics at 2.1, where they exist
    stats = cli.json("admin", "hypervisor", "stats", "show")
    assert stats["count"] >= 1


# ---------------------------------------------------------------- services

def test_service_update_by_uuid(admin, server):
    mine = add_host(server)
    path = f"/os-services/{mine.service_uuid}"
    listed = admin.ok("GET", f"/os-services?host={mine.host}", mv="2.53")["services"]
    assert [s["id"] for s in listed] == [mine.service_uuid]
    assert admin.ok("GET", f"/os-services?host={mine.host}",
                    mv="2.52")["services"][0]["id"] == mine.service_id
    done = admin.ok("PUT", path, {"status": "disabled", "disabled_reason": "maint"}, mv="2.53")
    assert done["service"]["id"] == mine.service_uuid
    assert (done["service"]["status"], done["service"]["disabled_reason"]) == ("disabled",
                                                                               "maint")
    assert done["service"]["forced_down"] is False and done["service"]["zone"]
    done = admin.ok("PUT", path, {"forced_down": True}, mv="2.53")["service"]
    assert done["forced_down"] is True and done["state"] == "down"
    done = admin.ok("PUT", path, {"status": "enabled", "forced_down": False}, mv="2.53")
    assert done["service"]["status"] == "enabled" and done["service"]["disabled_reason"] is None
    refused(admin("PUT", path, {"status": "enabled", "disabled_reason": "x"}, mv="2.53"), 400)
    refused(admin("PUT", path, {"disabled_reason": "x"}, mv="2.53"), 400)
    refused(admin("PUT", path, {"status": "paused"}, mv="2.53"), 400)
    refused(admin("PUT", path, {"status": "enabled", "host": mine.host}, mv="2.53"), 400)
    refused(admin("PUT", f"/os-services/{mine.service_id}", {"status": "enabled"},
                  mv="2.53"), 400)
    refused(admin("PUT", "/os-services/00000000-0000-0000-0000-000000000000",
                  {"status": "enabled"}, mv="2.53"), 404)
    # the old actions' bodies are refused from 2.53; the new body below it
    body = {"host": mine.host, "binary": "nova-compute"}
    refused(admin("PUT", "/os-services/disable", body, mv="2.53"), 400)
    assert admin("PUT", "/os-services/disable", body, mv="2.52").status_code == 200
    refused(admin("PUT", "/os-services/enable", {**body, "status": "enabled"}, mv="2.52"), 400)
    conductor = add_host(server, binary="nova-conductor", node=False)
    refused(admin("PUT", f"/os-services/{conductor.service_uuid}", {"status": "disabled"},
                  mv="2.53"), 400)
    refused(admin("DELETE", f"/os-services/{mine.service_id}", mv="2.53"), 400)
    assert admin("DELETE", path, mv="2.53").status_code == 204
    refused(admin("DELETE", path, mv="2.53"), 404)


def test_service_update_needs_admin(demo, host):
    refused(demo("PUT", f"/os-services/{host.service_uuid}", {"status": "disabled"},
                 mv="2.53"), 403)
    # Nova reads the id before the policy
    refused(demo("PUT", "/os-services/disable", {"status": "disabled"}, mv="2.53"), 400)


def test_cli_service_force_down(cli, server, admin_client):
    mine = add_host(server)
    cli.run("admin", "compute", "service", "set", "--down", mine.host, "nova-compute")
    [svc] = admin_client.compute.services(host=mine.host)
    assert svc.is_forced_down is True and svc.state == "down"
    cli.run("admin", "compute", "service", "set", "--up", mine.host, "nova-compute")
    [svc] = admin_client.compute.services(host=mine.host)
    assert svc.is_forced_down is False


# ---------------------------------------------------------------- limits and quotas

def test_limits_keys_by_version(demo):
    def absolute(mv: str) -> dict:
        return demo.ok("GET", "/limits", mv=mv)["limits"]["absolute"]

    assert "maxImageMeta" in absolute("2.38") and "maxImageMeta" not in absolute("2.39")
    at56, at57 = absolute("2.56"), absolute("2.57")
    assert at56["maxPersonality"] == 5 and at56["maxPersonalitySize"] == 10240
    assert "maxPersonality" not in at57 and "maxPersonalitySize" not in at57
    assert at57["maxServerMeta"] == at56["maxServerMeta"]


def test_quota_set_keys_by_version(server, admin):
    tenant = new_tenant(server, admin)
    path = f"/os-quota-sets/{tenant.project_id}"
    at56 = admin.ok("GET", path, mv="2.56")["quota_set"]
    at57 = admin.ok("GET", path, mv="2.57")["quota_set"]
    assert at56["injected_files"] == 5 and "injected_files" not in at57
    assert "injected_file_path_bytes" not in at57 and at57["instances"] == 10
    assert "injected_files" not in admin.ok("GET", path + "/detail", mv="2.57")["quota_set"]
    assert "injected_files" not in admin.ok("GET", path + "/defaults", mv="2.57")["quota_set"]
    done = admin.ok("PUT", path, {"quota_set": {"injected_files": 7}}, mv="2.56")
    assert done["quota_set"]["injected_files"] == 7
    refused(admin("PUT", path, {"quota_set": {"injected_files": 7}}, mv="2.57"), 400)
    refused(admin("PUT", path, {"quota_set": {"injected_file_content_bytes": 1}}, mv="2.57"),
            400)
    refused(admin("PUT", path, {"quota_set": {"floating_ips": 1}}, mv="2.36"), 400)
    assert admin.ok("PUT", path, {"quota_set": {"cores": 9}}, mv="2.57")["quota_set"][
        "cores"] == 9


def test_quota_class_sets(admin, demo):
    path = "/os-quota-class-sets/default"
    at49 = admin.ok("GET", path, mv="2.49")["quota_class_set"]
    assert at49["id"] == "default" and at49["fixed_ips"] == -1
    assert "server_groups" not in at49 and at49["injected_files"] == 5
    at50 = admin.ok("GET", path, mv="2.50")["quota_class_set"]
    assert at50["server_groups"] == 10 and at50["server_group_members"] == 10
    assert "fixed_ips" not in at50 and "floating_ips" not in at50
    assert at50["injected_files"] == 5
    at57 = admin.ok("GET", path, mv="2.57")["quota_class_set"]
    assert "injected_files" not in at57 and at57["instances"] == 10
    refused(demo("GET", path, mv="2.50"), 403)
    refused(demo("PUT", path, {"quota_class_set": {"instances": 5}}, mv="2.50"), 403)
    refused(admin("PUT", path, {"quota_class_set": {"fixed_ips": 5}}, mv="2.50"), 400)
    refused(admin("PUT", path, {"quota_class_set": {"injected_files": 5}}, mv="2.57"), 400)
    refused(admin("PUT", path, {"quota_class_set": {"instances": -2}}, mv="2.57"), 400)
    refused(admin("PUT", path, {"quota_class_set": {"volumes": 5}}, mv="2.57"), 400)
    refused(admin("GET", f"/os-quota-class-sets/{'c' * 80}", mv="2.50"), 400)
    assert admin.ok("PUT", path, {"quota_class_set": {"fixed_ips": -1}},
                    mv="2.49")["quota_class_set"]["fixed_ips"] == -1


def test_default_quota_class_sets_every_projects_defaults(cli, server, admin, demo):
    tenant = new_tenant(server, admin)
    try:
        cli.run("admin", "quota", "set", "--default", "--key-pairs", "101")
        done = admin.ok("GET", "/os-quota-class-sets/default", mv="2.57")["quota_class_set"]
        assert done["key_pairs"] == 101
        shown = admin.ok("GET", f"/os-quota-sets/{tenant.project_id}", mv="2.57")
        assert shown["quota_set"]["key_pairs"] == 101
        assert demo.ok("GET", "/limits", mv="2.57")["limits"]["absolute"][
            "maxTotalKeypairs"] == 101
        other = admin.ok("PUT", "/os-quota-class-sets/gold",
                         {"quota_class_set": {"key_pairs": 7}}, mv="2.57")["quota_class_set"]
        assert other["key_pairs"] == 7 and "id" not in other
        assert admin.ok("GET", f"/os-quota-sets/{tenant.project_id}",
                        mv="2.57")["quota_set"]["key_pairs"] == 101  # only 'default' counts
    finally:
        admin.ok("PUT", "/os-quota-class-sets/default",
                 {"quota_class_set": {"key_pairs": 100}}, mv="2.57")


# ---------------------------------------------------------------- aggregates

@pytest.fixture(scope="module")
def image(server, demo_session) -> str:
    images = demo_session.get(f"{server.url}/image/v2/images?name=nimbus-tiny").json()
    return images["images"][0]["id"]


@pytest.fixture(scope="module")
def real_host(admin) -> str:
    """A host the all-in-one process simulates: its agent answers."""
    services = admin.ok("GET", "/os-services?binary=nova-compute")["services"]
    real = sorted(s["host"] for s in services
                  if not s["host"].startswith("cmp-") and s["state"] == "up")
    assert real
    return real[0]


@pytest.fixture
def aggregate(admin):
    made = admin.ok("POST", "/os-aggregates", {"aggregate": {"name": unique("agg-mv")}},
                    mv="2.41")["aggregate"]
    yield made
    for host in admin.ok("GET", f"/os-aggregates/{made['id']}")["aggregate"]["hosts"]:
        admin("POST", f"/os-aggregates/{made['id']}/action", {"remove_host": {"host": host}})
    admin("DELETE", f"/os-aggregates/{made['id']}")


def test_aggregate_uuid_from_241(admin, aggregate):
    assert len(aggregate["uuid"]) == 36
    path = f"/os-aggregates/{aggregate['id']}"
    assert "uuid" not in admin.ok("GET", path, mv="2.40")["aggregate"]
    assert admin.ok("GET", path, mv="2.41")["aggregate"]["uuid"] == aggregate["uuid"]


def test_aggregate_image_cache(admin, demo, server, aggregate, real_host, image):
    path = f"/os-aggregates/{aggregate['id']}/images"
    body = {"cache": [{"id": image}]}
    refused(admin("POST", path, body, mv="2.80"), 404)
    refused(demo("POST", path, body, mv="2.81"), 403)
    refused(admin("POST", path, {"cache": [{"id": image}, {"id": image}]}, mv="2.81"), 400)
    refused(admin("POST", path, {"cache": [{"id": "00000000-0000-0000-0000-000000000001"}]},
                  mv="2.81"), 400)
    refused(admin("POST", path, {"cache": []}, mv="2.81"), 400)
    refused(admin("POST", path, {"cache": [{"id": image, "x": 1}]}, mv="2.81"), 400)
    refused(admin("POST", "/os-aggregates/999999/images", body, mv="2.81"), 404)
    admin.ok("POST", f"/os-aggregates/{aggregate['id']}/action",
             {"add_host": {"host": real_host}})
    start = len(server.log_text())
    r = admin("POST", path, body, mv="2.81")
    assert r.status_code == 202 and not r.content
    wanted = f"{real_host}: cached images {image}"
    deadline = time.monotonic() + 30
    while wanted not in server.log_text()[start:] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert wanted in server.log_text()[start:]


def test_sdk_aggregate_image_cache(admin_client, aggregate, image):
    # the sdk's Aggregate caps at 2.81 and sends {"cache": [{"id": ...}]}
    admin_client.compute.aggregate_precache_images(aggregate["id"], [image])
