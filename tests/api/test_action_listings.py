"""Instance actions and migration listings at their microversion boundaries:
instance action paging and ``updated_at`` (2.58), ``changes-before`` (2.66),
os-migrations paging, ``uuid`` (2.59) and ``user_id`` / ``project_id`` (2.80);
and the CLI (``openstack server event list/show``, ``server migration list``,
``server migrate --host``, ``server unshelve --availability-zone``,
``server rebuild --key-name``) against the server's newest version."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tests.api import test_server_move_actions as moves
from tests.conftest import unique
from tests.support.compute_api import wait_for
from tests.support.compute_env import simulated_hosts
from tests.support.nova import fault

# the move tests' module fixtures (the same all-in-one server, a tenant of this module's;
# env is tests/api/conftest.py's)
tenant = moves.tenant
pytestmark = pytest.mark.usefixtures("no_server_errors")
act, host_of, wait_until = moves.act, moves.host_of, moves.wait_until

FUTURE = "2999-01-01T00:00:00Z"
PAST = "2000-01-01T00:00:00Z"
KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPflNS2ZG62dK07tPVmiMJ7W9f7OvADEUnvrhxZAayyg "
       "test@nimbus")


@pytest.fixture(scope="module")
def moved(env, tenant, admin_sdk_conn) -> str:
    """A server with a few actions (create, stop, start) and two migrations."""
    sid = env.boot(tenant.member, "mv-listed")[0]
    for action, status in (("os-stop", "SHUTOFF"), ("os-start", "ACTIVE")):
        act(tenant.member, sid, {action: None})
        wait_for(tenant.member, sid, status)
    for _ in range(2):
        source = host_of(env, sid)
        admin_sdk_conn.compute.live_migrate_server(sid, host=None, block_migration="auto")
        wait_until(lambda source=source: host_of(env, sid) != source)
        wait_for(tenant.member, sid, "ACTIVE")
    return sid


@pytest.fixture(scope="module")
def admin_sdk_conn(server):
    from tests.conftest import sdk_connection
    conn = sdk_connection(server, "admin")
    yield conn
    conn.close()


# ---------------------------------------------------------------- instance actions

def test_instance_actions_page_from_2_58(env, tenant, moved):
    path = f"/servers/{moved}/os-instance-actions"
    old = tenant.member.ok("GET", f"{path}?limit=1&whatever=1", mv="2.57")
    assert len(old["instanceActions"]) > 1 and "links" not in old
    assert "updated_at" not in old["instanceActions"][0]
    every = tenant.member.ok("GET", path, mv="2.58")["instanceActions"]
    assert [a["action"] for a in every][-3:] == ["start", "stop", "create"]
    assert all(a["updated_at"] for a in every)
    first = tenant.member.ok("GET", f"{path}?limit=2", mv="2.58")
    assert first["instanceActions"] == every[:2]
    href = first["links"][0]["href"]
    assert first["links"][0]["rel"] == "next"
    assert parse_qs(urlparse(href).query)["marker"] == [every[1]["request_id"]]
    rest = tenant.member.ok("GET", f"{path}?marker={every[1]['request_id']}", mv="2.58")
    assert rest["instanceActions"] == every[2:] and "links" not in rest
    assert tenant.member.ok("GET", f"{path}?changes-since={FUTURE}",
                            mv="2.58")["instanceActions"] == []
    assert tenant.member.ok("GET", f"{path}?changes-before={FUTURE}",
                            mv="2.66")["instanceActions"] == every
    for mv, query in (("2.58", "marker=req-nosuch"), ("2.58", "whatever=1"),
                      ("2.58", "limit=-1"), ("2.58", "changes-since=yesterday"),
                      ("2.65", f"changes-before={FUTURE}"),
                      ("2.66", f"changes-since={FUTURE}&changes-before={PAST}")):
        fault(tenant.member("GET", f"{path}?{query}", mv=mv), 400, "badRequest")


def test_action_events_by_version(env, tenant, moved):
    path = f"/servers/{moved}/os-instance-actions"
    request_id = tenant.member.ok("GET", path)["instanceActions"][0]["request_id"]
    shown = tenant.member.ok("GET", f"{path}/{request_id}", mv="2.58")["instanceAction"]
    assert shown["action"] == "live-migration" and shown["updated_at"]
    # the destination's step of the (second) live migration, as the owner sees it
    assert [(e["event"], e["result"]) for e in shown["events"]] == [
        ("compute_live_migration", "Success")]
    assert "traceback" not in shown["events"][0]
    (event,) = env.admin.ok("GET", f"{path}/{request_id}", mv="2.84")["instanceAction"][
        "events"]
    assert event["host"] == host_of(env, moved) and event["details"] is None
    assert "updated_at" not in tenant.member.ok("GET", f"{path}/{request_id}",
                                                mv="2.57")["instanceAction"]


# ---------------------------------------------------------------- os-migrations

def test_os_migrations_page_from_2_59(env, tenant, moved):
    base = f"/os-migrations?instance_uuid={moved}"
    old = env.admin.ok("GET", f"{base}&whatever=1&limit=1", mv="2.58")["migrations"]
    assert len(old) == 2 and "uuid" not in old[0] and "migrations_links" not in old
    every = env.admin.ok("GET", base, mv="2.59")["migrations"]
    assert len(every) == 2 and all(m["uuid"] for m in every) and "user_id" not in every[0]
    page = env.admin.ok("GET", f"{base}&limit=1", mv="2.59")
    assert page["migrations"] == every[:1]
    assert parse_qs(urlparse(page["migrations_links"][0]["href"]).query)["marker"] == [
        every[0]["uuid"]]
    rest = env.admin.ok("GET", f"{base}&marker={every[0]['uuid']}", mv="2.59")
    assert rest["migrations"] == every[1:]
    assert env.admin.ok("GET", f"{base}&changes-since={FUTURE}", mv="2.59")["migrations"] == []
    assert env.admin.ok("GET", f"{base}&changes-before={FUTURE}",
                        mv="2.66")["migrations"] == every
    for mv, query in (("2.59", "marker=nosuch"), ("2.59", "whatever=1"),
                      ("2.59", "limit=x"), ("2.65", f"changes-before={FUTURE}"),
                      ("2.79", f"user_id={tenant.user_id}")):
        fault(env.admin("GET", f"{base}&{query}", mv=mv), 400, "badRequest")


def test_migrations_show_user_and_project_from_2_80(env, tenant, moved):
    base = f"/os-migrations?instance_uuid={moved}"
    listed = env.admin.ok("GET", f"{base}&user_id={tenant.user_id}&project_id="
                                 f"{tenant.project_id}", mv="2.80")["migrations"]
    assert len(listed) == 2
    assert {(m["user_id"], m["project_id"]) for m in listed} == {
        (tenant.user_id, tenant.project_id)}
    assert env.admin.ok("GET", f"{base}&user_id=someone-else", mv="2.80")["migrations"] == []


# ---------------------------------------------------------------- the CLI at the newest version

def test_the_cli_against_the_newest_version(cli, env, demo_client, admin_client):
    image = demo_client.image.find_image("nimbus-tiny")
    flavor = demo_client.compute.find_flavor("m1.tiny")
    key = unique("mv-key")
    demo_client.compute.create_keypair(name=key, public_key=KEY)
    server = demo_client.compute.create_server(name=unique("mv-cli"), image_id=image.id,
                                               flavor_id=flavor.id, networks="auto",
                                               key_name=key)
    sid = server.id
    api = env.admin
    try:
        wait_for(api, sid, "ACTIVE")
        events = cli.json("demo", "server", "event", "list", sid)
        assert [e["Action"] for e in events] == ["create"]
        shown = cli.json("demo", "server", "event", "show", sid, events[0]["Request ID"])
        assert shown["action"] == "create"

        source = host_of(env, sid)
        target = next(h for h in simulated_hosts(api) if h != source)
        cli.run("admin", "server", "migrate", "--host", target, sid)
        wait_for(api, sid, "VERIFY_RESIZE")
        assert host_of(env, sid) == target
        cli.run("admin", "server", "migrate", "confirm", sid)
        wait_for(api, sid, "ACTIVE")
        listed = cli.json("admin", "server", "migration", "list", "--server", sid)
        assert [m["Status"] for m in listed] == ["confirmed"]
        assert listed[0]["UUID"]

        cli.run("demo", "server", "rebuild", "--image", "nimbus-tiny", "--no-key-name", sid)
        wait_for(api, sid, "ACTIVE")
        assert api.ok("GET", f"/servers/{sid}")["server"]["key_name"] is None
        cli.run("demo", "server", "rebuild", "--image", "nimbus-tiny", "--key-name", key, sid)
        wait_for(api, sid, "ACTIVE")
        assert api.ok("GET", f"/servers/{sid}")["server"]["key_name"] == key

        cli.run("demo", "server", "shelve", sid)
        wait_for(api, sid, "SHELVED_OFFLOADED")
        cli.run("demo", "server", "unshelve", "--availability-zone", "nova", sid)
        wait_for(api, sid, "ACTIVE")
    finally:
        demo_client.compute.delete_server(sid, ignore_missing=True)
        demo_client.compute.delete_keypair(key, ignore_missing=True)
