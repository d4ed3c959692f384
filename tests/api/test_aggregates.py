"""Host aggregates (``os-aggregates``) through the openstack CLI and keystoneauth
on a live server: the aggregate's zone becomes its hosts' zone in
os-availability-zone, os-services, the servers' OS-EXT-AZ and scheduling; every
refusal is Nova's fault. Aggregates made here are emptied and deleted at the
end, so the hosts return to the default zone for the modules after."""

from __future__ import annotations

import pytest

from tests.conftest import unique
from tests.support.compute_api import Api
from tests.support.compute_env import PREFIX, Env
from tests.support.compute_hosts import add_host
from tests.support.nova import refused as fault

pytestmark = pytest.mark.usefixtures("no_server_errors")



@pytest.fixture(scope="module")
def env(env: Env) -> Env:
    """The compute env of tests/api/conftest.py, and this module's own clean-up."""
    e = env
    yield e
    for agg in e.admin.ok("GET", "/os-aggregates")["aggregates"]:
        if agg["name"].startswith("agg-t-"):
            for host in agg["hosts"]:
                e.admin("POST", f"/os-aggregates/{agg['id']}/action",
                        {"remove_host": {"host": host}})
            e.admin("DELETE", f"/os-aggregates/{agg['id']}")


def _name() -> str:
    return unique("agg-t")


def _make(env: Env, zone: str | None = None) -> dict:
    body: dict = {"name": _name()}
    if zone is not None:
        body["availability_zone"] = zone
    return env.admin.ok("POST", "/os-aggregates", {"aggregate": body}, status=200)["aggregate"]


@pytest.fixture(scope="module")
def real_host(env) -> str:
    """A host the all-in-one process simulates (it really builds servers)."""
    hosts = [h["hypervisor_hostname"] for h in
             env.admin.ok("GET", "/os-hypervisors")["hypervisors"]]
    services = env.admin.ok("GET", "/os-services?binary=nova-compute")["services"]
    real = sorted(s["host"] for s in services
                  if not s["host"].startswith("cmp-") and s["state"] == "up")
    assert real, hosts
    return real[-1]


def test_cli_create_add_host_set_show_delete(env, cli, server):
    fake = add_host(server).host
    name, zone = _name(), unique("z")
    made = cli.json("admin", "aggregate", "create", "--zone", zone, name)
    assert made["name"] == name and made["availability_zone"] == zone
    agg_id = made["id"]
    added = cli.json("admin", "aggregate", "add", "host", name, fake)
    assert fake in added["hosts"]
    cli.run("admin", "aggregate", "set", "--property", "ssd=true", name)
    shown = cli.json("admin", "aggregate", "show", name)
    assert shown["properties"] == {"ssd": "true"} or shown["properties"] == "ssd='true'"
    raw = env.admin.ok("GET", f"/os-aggregates/{agg_id}")["aggregate"]
    assert raw["metadata"] == {"availability_zone": zone, "ssd": "true"}
    assert raw["hosts"] == [fake]
    # the host is in the aggregate's zone now
    services = env.admin.ok("GET", f"/os-services?host={fake}")["services"]
    assert services[0]["zone"] == zone
    zones = env.admin.ok("GET", "/os-availability-zone/detail")["availabilityZoneInfo"]
    assert fake in next(z for z in zones if z["zoneName"] == zone)["hosts"]
    cli.run("admin", "aggregate", "remove", "host", name, fake)
    cli.run("admin", "aggregate", "delete", name)
    assert env.admin("GET", f"/os-aggregates/{agg_id}").status_code == 404
    assert env.admin.ok("GET", f"/os-services?host={fake}")["services"][0]["zone"] == "nova"


def test_create_answers_without_hosts_and_metadata(env):
    made = _make(env)
    assert set(made) == {"id", "name", "availability_zone", "created_at", "updated_at",
                         "deleted", "deleted_at"}
    assert made["availability_zone"] is None and made["deleted"] is False
    shown = env.admin.ok("GET", f"/os-aggregates/{made['id']}")["aggregate"]
    assert shown["hosts"] == [] and shown["metadata"] == {}
    listed = env.admin.ok("GET", "/os-aggregates")["aggregates"]
    assert made["id"] in [a["id"] for a in listed]


def test_update_renames_and_rezones(env):
    made = _make(env, "zu1")
    new_name = _name()
    updated = env.admin.ok("PUT", f"/os-aggregates/{made['id']}", {"aggregate": {
        "name": new_name, "availability_zone": "zu2"}})["aggregate"]
    assert updated["name"] == new_name and updated["availability_zone"] == "zu2"
    assert updated["metadata"] == {"availability_zone": "zu2"}


def test_set_metadata_null_removes_a_key(env):
    made = _make(env, "zm")
    path = f"/os-aggregates/{made['id']}/action"
    out = env.admin.ok("POST", path, {"set_metadata": {"metadata": {"a": "1", "b": "2"}}})
    assert out["aggregate"]["metadata"] == {"availability_zone": "zm", "a": "1", "b": "2"}
    out = env.admin.ok("POST", path, {"set_metadata": {"metadata": {
        "a": None, "availability_zone": None}}})
    assert out["aggregate"]["metadata"] == {"b": "2"}
    assert out["aggregate"]["availability_zone"] is None


def test_boot_into_an_aggregates_zone_lands_on_its_host(env, real_host):
    zone = unique("zboot")
    made = _make(env, zone)
    env.admin.ok("POST", f"/os-aggregates/{made['id']}/action",
                 {"add_host": {"host": real_host}})
    try:
        zones = env.admin.ok("GET", "/os-availability-zone")["availabilityZoneInfo"]
        assert zone in [z["zoneName"] for z in zones]
        sid = env.boot(env.admin, "agg-az", availability_zone=zone)[0]
        shown = env.admin.ok("GET", f"/servers/{sid}")["server"]
        assert shown["OS-EXT-SRV-ATTR:host"] == real_host
        assert shown["OS-EXT-AZ:availability_zone"] == zone
        env.admin.ok("DELETE", f"/servers/{sid}", status=204)
    finally:
        env.admin.ok("POST", f"/os-aggregates/{made['id']}/action",
                     {"remove_host": {"host": real_host}})
        env.admin.ok("DELETE", f"/os-aggregates/{made['id']}", status=200)


def test_unknown_zone_is_refused_at_boot(env):
    r = env.admin("POST", "/servers", {"server": {
        "name": f"{PREFIX}-nozone", "imageRef": env.image, "flavorRef": "1",
        "availability_zone": unique("nozone")}})
    assert r.status_code == 400


# ---------------------------------------------------------------- refusals

def test_duplicate_name_is_a_409(env):
    made = _make(env)
    r = env.admin("POST", "/os-aggregates", {"aggregate": {"name": made["name"]}})
    assert fault(r, 409)
    other = _make(env)
    r = env.admin("PUT", f"/os-aggregates/{other['id']}", {"aggregate": {
        "name": made["name"]}})
    assert fault(r, 409)


@pytest.mark.parametrize("body", [
    {"aggregate": {"name": ""}},
    {"aggregate": {"name": "x" * 256}},
    {"aggregate": {"name": " padded "}},
    {"aggregate": {"name": "ok", "availability_zone": ""}},
    {"aggregate": {"name": "ok", "color": "red"}},
    {"aggregate": {}},
    {},
])
def test_bad_create_bodies_are_400s(env, body):
    assert fault(env.admin("POST", "/os-aggregates", body), 400)


def test_internal_zone_is_refused(env):
    r = env.admin("POST", "/os-aggregates", {"aggregate": {
        "name": _name(), "availability_zone": "internal"}})
    assert fault(r, 400)


@pytest.mark.parametrize("agg_id", ["999999", "2147483647"])
def test_unknown_aggregate_is_a_404(env, agg_id):
    assert fault(env.admin("GET", f"/os-aggregates/{agg_id}"), 404)
    assert fault(env.admin("PUT", f"/os-aggregates/{agg_id}",
                           {"aggregate": {"name": "x"}}), 404)
    assert fault(env.admin("DELETE", f"/os-aggregates/{agg_id}"), 404)
    assert fault(env.admin("POST", f"/os-aggregates/{agg_id}/action",
                           {"add_host": {"host": "h"}}), 404)


@pytest.mark.parametrize("agg_id", ["abc", "-1", "99999999999999999999"])
def test_aggregate_id_not_an_integer_is_a_400(env, agg_id):
    assert fault(env.admin("GET", f"/os-aggregates/{agg_id}"), 400)


def test_host_refusals(env, server):
    made = _make(env, unique("zh"))
    path = f"/os-aggregates/{made['id']}/action"
    assert fault(env.admin("POST", path, {"add_host": {"host": "no-such-host"}}), 404)
    host = add_host(server).host
    env.admin.ok("POST", path, {"add_host": {"host": host}})
    assert fault(env.admin("POST", path, {"add_host": {"host": host}}), 409)
    # an aggregate with hosts cannot be deleted
    assert fault(env.admin("DELETE", f"/os-aggregates/{made['id']}"), 400)
    # the host cannot join another zone, nor may its aggregate's zone be changed
    # to conflict with another aggregate of the host
    other = _make(env, unique("zother"))
    r = env.admin("POST", f"/os-aggregates/{other['id']}/action",
                  {"add_host": {"host": host}})
    assert fault(r, 409)
    plain = _make(env)
    env.admin.ok("POST", f"/os-aggregates/{plain['id']}/action",
                 {"add_host": {"host": host}})  # no zone: no conflict
    r = env.admin("POST", f"/os-aggregates/{plain['id']}/action",
                  {"set_metadata": {"metadata": {"availability_zone": "elsewhere"}}})
    assert fault(r, 400)
    r = env.admin("PUT", f"/os-aggregates/{plain['id']}",
                  {"aggregate": {"availability_zone": "elsewhere"}})
    assert fault(r, 400)
    assert fault(env.admin("POST", path, {"remove_host": {"host": "not-in-it"}}), 404)
    for agg in (made, plain):
        env.admin.ok("POST", f"/os-aggregates/{agg['id']}/action",
                     {"remove_host": {"host": host}})


@pytest.mark.parametrize("body", [
    {"add_host": {}}, {"add_host": {"host": ""}}, {"remove_host": {"hots": "x"}},
    {"set_metadata": {"metadata": {}}}, {"set_metadata": {"metadata": {"k": "v" * 256}}},
    {"set_metadata": {}}, {"explode": {}}, {},
    {"add_host": {"host": "a"}, "remove_host": {"host": "a"}},
])
def test_bad_action_bodies_are_400s(env, body):
    made = _make(env)
    assert fault(env.admin("POST", f"/os-aggregates/{made['id']}/action", body), 400)


def test_members_may_not_touch_aggregates(env, demo_session):
    demo = Api(env.base, demo_session)
    made = _make(env)
    assert fault(demo("GET", "/os-aggregates"), 403)
    assert fault(demo("POST", "/os-aggregates", {"aggregate": {"name": _name()}}), 403)
    assert fault(demo("GET", f"/os-aggregates/{made['id']}"), 403)
    assert fault(demo("DELETE", f"/os-aggregates/{made['id']}"), 403)
