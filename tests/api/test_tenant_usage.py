"""``os-simple-tenant-usage`` on a live server: the openstack CLI's ``usage list``
and ``usage show``, the hours and flavor-weighted totals of running and
deleted servers, and Nova's refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.compute_api import wait_for, wait_gone
from tests.support.nova import fault

pytestmark = pytest.mark.usefixtures("no_server_errors")


def _window(hours: float = 1) -> str:
    now = datetime.now(UTC).replace(tzinfo=None)
    return (f"start={(now - timedelta(hours=hours)).isoformat()}"
            f"&end={(now + timedelta(hours=hours)).isoformat()}")


@pytest.fixture(scope="module")
def used(env):
    """A project with one running and one deleted server (m1.tiny: 1 vCPU, 512 MB,
    1 GB)."""
    tenant = env.tenant({"instances": 5, "cores": 10, "ram": 10 * 2048})
    running, gone = env.boot(tenant.member, "usage", count=2)
    tenant.member.ok("DELETE", f"/servers/{gone}", status=204)
    wait_gone(tenant.member, [gone])
    wait_for(tenant.member, running, "ACTIVE")
    return tenant, running, gone


def test_show_counts_running_and_deleted_servers(env, used):
    tenant, running, gone = used
    usage = tenant.member.ok("GET", f"/os-simple-tenant-usage/{tenant.project_id}?"
                             + _window())["tenant_usage"]
    assert usage["tenant_id"] == tenant.project_id
    by_id = {s["instance_id"]: s for s in usage["server_usages"]}
    assert set(by_id) == {running, gone}
    assert by_id[gone]["state"] == "terminated" and by_id[gone]["ended_at"]
    assert by_id[running]["state"] == "active" and by_id[running]["ended_at"] is None
    for s in by_id.values():
        assert (s["vcpus"], s["memory_mb"], s["local_gb"], s["flavor"]) == (1, 512, 1,
                                                                            "m1.tiny")
        assert 0 < s["hours"] < 1.1  # a running server counts to the window's end
        assert s["started_at"] and s["tenant_id"] == tenant.project_id
    total = sum(s["hours"] for s in by_id.values())
    assert usage["total_hours"] == pytest.approx(total)
    assert usage["total_vcpus_usage"] == pytest.approx(total)
    assert usage["total_memory_mb_usage"] == pytest.approx(512 * total)
    assert usage["total_local_gb_usage"] == pytest.approx(total)


def test_a_window_before_the_servers_counts_nothing(env, used):
    tenant, _, _ = used
    now = datetime.now(UTC).replace(tzinfo=None)
    query = (f"start={(now - timedelta(days=3)).isoformat()}"
             f"&end={(now - timedelta(days=2)).isoformat()}")
    r = tenant.member.ok("GET", f"/os-simple-tenant-usage/{tenant.project_id}?{query}")
    assert r == {"tenant_usage": {}}


def test_admin_lists_every_project_brief_or_detailed(env, used):
    tenant, running, _ = used
    brief = env.admin.ok("GET", "/os-simple-tenant-usage?" + _window())["tenant_usages"]
    mine = next(u for u in brief if u["tenant_id"] == tenant.project_id)
    assert "server_usages" not in mine and mine["total_hours"] > 0
    detailed = env.admin.ok("GET", "/os-simple-tenant-usage?detailed=1&" + _window())
    mine = next(u for u in detailed["tenant_usages"] if u["tenant_id"] == tenant.project_id)
    assert running in [s["instance_id"] for s in mine["server_usages"]]


def test_cli_usage_list_and_show(env, used, cli):
    tenant, _, _ = used
    listed = cli.json("admin", "usage", "list")
    assert tenant.project_id in [row["Project"] for row in listed] or \
        tenant.name in [row["Project"] for row in listed]
    shown = cli.json("admin", "usage", "show", "--project", tenant.project_id)
    servers = shown["Servers"]
    assert (len(servers) if isinstance(servers, list) else int(servers)) == 2
    assert float(shown["RAM MB-Hours"]) > 0


@pytest.mark.parametrize("query", [
    "start=2030-01-02T00:00:00&end=2030-01-01T00:00:00",  # start after end
    "start=yesterday",
    "end=2030-13-01T00:00:00",
])
def test_bad_periods_are_400s(env, used, query):
    tenant, _, _ = used
    r = tenant.member("GET", f"/os-simple-tenant-usage/{tenant.project_id}?{query}")
    fault(r, 400, "badRequest")
    fault(env.admin("GET", f"/os-simple-tenant-usage?{query}"), 400, "badRequest")


def test_members_see_only_their_own_project(env, used):
    tenant, _, _ = used
    other = env.tenant()
    fault(other.member("GET", f"/os-simple-tenant-usage/{tenant.project_id}"), 403,
          "forbidden")
    fault(tenant.member("GET", "/os-simple-tenant-usage"), 403, "forbidden")
    assert other.member.ok("GET", f"/os-simple-tenant-usage/{other.project_id}") == {
        "tenant_usage": {}}
