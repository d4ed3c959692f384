"""Server actions at their microversion boundaries (2.27-2.100), through
keystoneauth sessions on the live all-in-one server the move tests use: evacuate
and live-migrate ``force`` (2.29 / 2.30, gone at 2.68), asynchronous
live-migration prechecks (2.34), migrate to a host (2.56), unshelve to a zone
or a host (2.77 / 2.91), the rebuild inputs (2.54 / 2.57 / 2.63 / 2.90),
volume-backed rescue (2.87) and rebuild (2.93), createImage's body (2.45) and
the abort of a live migration (2.24 / 2.65). Instance actions and migration
listings: tests/api/test_action_listings.py."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from tests.api import test_server_move_actions as moves
from tests.support.compute_api import WAIT, wait_for
from tests.support.compute_env import PREFIX, Env, simulated_hosts
from tests.support.compute_hosts import add_host
from tests.support.nova import fault

# the move tests' module fixtures (the same all-in-one server, a tenant of this module's;
# env is tests/api/conftest.py's)
tenant = moves.tenant
pytestmark = pytest.mark.usefixtures("no_server_errors")
act, allocations, host_of, wait_until = (moves.act, moves.allocations, moves.host_of,
                                         moves.wait_until)

NO_SUCH = "00000000-0000-4000-8000-000000000000"


def hosts_up(env: Env) -> list[str]:
    return simulated_hosts(env.admin)


@pytest.fixture(scope="module")
def active(env, tenant) -> str:
    """One ACTIVE server the refusals are checked on (none of them changes it)."""
    return env.boot(tenant.member, "mv-active")[0]


# ---------------------------------------------------------------- force (2.29, 2.30, 2.68)

@pytest.mark.parametrize("mv, body, why", [
    ("2.28", {"host": "h", "force": True}, "unexpected"),
    ("2.29", {"force": True}, "non-provided destination"),
    ("2.29", {"host": "h", "force": "maybe"}, None),
    ("2.68", {"host": "h", "force": False}, "unexpected"),
])
def test_evacuate_force_is_checked_by_version(env, active, mv, body, why):
    message = fault(act(env.admin, active, {"evacuate": body}, mv=mv), 400, "badRequest")
    assert why is None or why in message


@pytest.mark.parametrize("mv, body, why", [
    ("2.29", {"host": "h", "force": True}, "unexpected"),
    ("2.30", {"host": None, "force": True}, "non-provided destination"),
    ("2.68", {"host": "h", "force": True}, "unexpected"),
])
def test_live_migrate_force_is_checked_by_version(env, active, mv, body, why):
    body = dict(body, block_migration="auto")
    message = fault(act(env.admin, active, {"os-migrateLive": body}, mv=mv), 400,
                    "badRequest")
    assert why in message


def test_unforced_live_migration_is_checked_by_the_scheduler(env, tenant):
    """2.30 without force: a disabled host (the filters refuse it) is no
    destination, the server stays where it is; forced, it goes there."""
    sid = env.boot(tenant.member, "mv-unforced")[0]
    source = host_of(env, sid)
    target = next(h for h in hosts_up(env) if h != source)
    service = {"host": target, "binary": "nova-compute"}
    env.admin.ok("PUT", "/os-services/disable", service)
    try:
        body = {"host": target, "block_migration": "auto", "force": False}
        r = act(env.admin, sid, {"os-migrateLive": body}, mv="2.30")
        assert r.status_code == 202, r.text
        wait_until(lambda: env.admin.ok("GET", f"/os-migrations?instance_uuid={sid}",
                                        mv="2.30")["migrations"][0]["status"] == "error")
        wait_for(tenant.member, sid, "ACTIVE")
        assert host_of(env, sid) == source
        r = act(env.admin, sid, {"os-migrateLive": dict(body, force=True)}, mv="2.30")
        assert r.status_code == 202, r.text
        wait_until(lambda: host_of(env, sid) == target)
        wait_for(tenant.member, sid, "ACTIVE")
    finally:
        env.admin.ok("PUT", "/os-services/enable", service)


# ---------------------------------------------------------------- 2.34 async prechecks

def test_live_migration_prechecks_are_asynchronous_from_2_34(env, tenant, active):
    source = host_of(env, active)
    body = {"os-migrateLive": {"host": source, "block_migration": "auto"}}
    assert "current host" in fault(act(env.admin, active, body, mv="2.33"), 400,
                                   "badRequest")
    r = act(env.admin, active, body, mv="2.34")
    assert r.status_code == 202, r.text
    latest = env.admin.ok("GET", f"/servers/{active}/os-instance-actions")["instanceActions"][0]
    request_id = latest["request_id"]
    shown = wait_for(tenant.member, active, "ACTIVE")
    assert host_of(env, active) == source and shown["OS-EXT-STS:task_state"] is None
    # the failure is the action's: an Error event with its details (2.84)
    action = env.admin.ok("GET", f"/servers/{active}/os-instance-actions/{request_id}",
                          mv="2.84")["instanceAction"]
    assert action["action"] == "live-migration" and action["message"] == "Error"
    (event,) = action["events"]
    assert event["event"] == "conductor_live_migrate_instance"
    assert event["result"] == "Error" and "current host" in event["details"]
    assert event["traceback"] and event["host"] == source and event["hostId"]
    # the owner sees the events from 2.51, without traceback; host only for admins
    path = f"/servers/{active}/os-instance-actions/{request_id}"
    assert "events" not in tenant.member.ok("GET", path, mv="2.50")["instanceAction"]
    (mine,) = tenant.member.ok("GET", path, mv="2.51")["instanceAction"]["events"]
    assert set(mine) == {"event", "start_time", "finish_time", "result"}
    (mine,) = tenant.member.ok("GET", path, mv="2.62")["instanceAction"]["events"]
    assert mine["hostId"] == event["hostId"] and "host" not in mine
    assert "details" not in mine
    # an unknown host is still a 400 at once
    fault(act(env.admin, active, {"os-migrateLive": {"host": "nowhere",
                                                     "block_migration": "auto"}},
              mv="2.34"), 400, "badRequest")


# ---------------------------------------------------------------- 2.56 migrate to a host

def test_migrate_to_a_host_from_2_56(env, tenant, active):
    source = host_of(env, active)
    fault(act(env.admin, active, {"migrate": {"host": "h"}}, mv="2.55"), 400, "badRequest")
    for body in ({"host": source}, {"host": "nowhere"}, {"host": "h", "x": 1}):
        fault(act(env.admin, active, {"migrate": body}, mv="2.56"), 400, "badRequest")
    fault(act(tenant.member, active, {"migrate": {"host": source}}, mv="2.56"), 403,
          "forbidden")
    sid = env.boot(tenant.member, "mv-migrate-host")[0]
    target = next(h for h in hosts_up(env) if h != host_of(env, sid))
    r = act(env.admin, sid, {"migrate": {"host": target}}, mv="2.56")
    assert r.status_code == 202, r.text
    wait_for(tenant.member, sid, "VERIFY_RESIZE")
    assert host_of(env, sid) == target
    env.admin.ok("POST", f"/servers/{sid}/action", {"confirmResize": None})
    wait_for(tenant.member, sid, "ACTIVE")


# ---------------------------------------------------------------- 2.77 / 2.91 unshelve

def test_unshelve_to_a_zone_and_a_host(env, tenant, active):
    fault(act(tenant.member, active, {"unshelve": {"availability_zone": "nova"}},
              mv="2.77"), 409, "conflictingRequest")
    sid = env.boot(tenant.member, "mv-unshelve")[0]
    act(tenant.member, sid, {"shelve": None})
    wait_for(tenant.member, sid, "SHELVED_OFFLOADED")
    for mv, body, status in (
            ("2.76", {"availability_zone": "nova"}, 400),
            ("2.77", {"availability_zone": None}, 400),
            ("2.77", {"availability_zone": "nowhere"}, 400),
            ("2.90", {"host": "h"}, 400),
            ("2.91", {"host": "nowhere"}, 400)):
        r = act(env.admin, sid, {"unshelve": body}, mv=mv)
        fault(r, status, "badRequest")
    fault(act(tenant.member, sid, {"unshelve": {"host": "h"}}, mv="2.91"), 403, "forbidden")
    target = hosts_up(env)[0]
    r = act(env.admin, sid, {"unshelve": {"availability_zone": "nova", "host": target}},
            mv="2.91")
    assert r.status_code == 202, r.text
    wait_for(tenant.member, sid, "ACTIVE")
    assert host_of(env, sid) == target
    shown = tenant.member.ok("GET", f"/servers/{sid}")["server"]
    assert shown["OS-EXT-AZ:availability_zone"] == "nova"


# ---------------------------------------------------------------- rebuild inputs

@pytest.mark.parametrize("mv, extra", [
    ("2.53", {"key_name": None}), ("2.54", {"key_name": "no-such-key"}),
    ("2.56", {"user_data": "aGk="}), ("2.57", {"personality": []}),
    ("2.62", {"trusted_image_certificates": ["c1"]}),
    ("2.63", {"trusted_image_certificates": []}),
    ("2.89", {"hostname": "h1"}), ("2.90", {"hostname": "bad_name!"}),
    ("2.90", {"unknown": 1}),
])
def test_rebuild_inputs_are_checked_by_version(env, tenant, active, mv, extra):
    body = {"rebuild": {"imageRef": env.image, **extra}}
    fault(act(tenant.member, active, body, mv=mv), 400, "badRequest")


def test_rebuild_sets_key_user_data_hostname_and_certificates(env, tenant):
    sid = env.boot(tenant.member, "mv-rebuild")[0]
    r = act(tenant.member, sid, {"rebuild": {
        "imageRef": env.image, "key_name": None, "user_data": "aGVsbG8=",
        "hostname": "rebuilt", "trusted_image_certificates": ["cert-1"]}}, mv="2.90")
    assert r.status_code == 202, r.text
    wait_for(tenant.member, sid, "ACTIVE")
    shown = env.admin.ok("GET", f"/servers/{sid}", mv="2.90")["server"]
    assert shown["key_name"] is None
    assert shown["OS-EXT-SRV-ATTR:hostname"] == "rebuilt"
    assert shown["OS-EXT-SRV-ATTR:user_data"] == "aGVsbG8="


# ---------------------------------------------------------------- 2.45 createImage

def test_create_image_and_backup_answer_the_id_from_2_45(env, tenant, active):
    r = act(tenant.member, active, {"createImage": {"name": f"{PREFIX}-img44"}}, mv="2.44")
    assert r.status_code == 202 and "/images/" in r.headers["Location"] and not r.content
    env.images.append(r.headers["Location"].rsplit("/", 1)[-1])
    wait_for(tenant.member, active, "ACTIVE")
    r = act(tenant.member, active, {"createImage": {"name": f"{PREFIX}-img45"}}, mv="2.45")
    assert r.status_code == 202 and "Location" not in r.headers
    env.images.append(r.json()["image_id"])
    wait_for(tenant.member, active, "ACTIVE")
    r = act(tenant.member, active, {"createBackup": {"name": f"{PREFIX}-bk45",
                                                     "backup_type": "weekly", "rotation": 1}},
            mv="2.45")
    assert r.status_code == 202 and "Location" not in r.headers
    env.images.append(r.json()["image_id"])
    wait_for(tenant.member, active, "ACTIVE")


# ---------------------------------------------------------------- volume-backed servers

def _image_with(env: Env, name: str, **props: str) -> str:
    session = env.admin.session
    made = session.post(env.image_url, json={"name": f"{PREFIX}-{name}",
                                             "disk_format": "raw",
                                             "container_format": "bare",
                                             "visibility": "public", **props}).json()
    session.put(f"{env.image_url}/{made['id']}/file", data=b"x" * 64,
                headers={"Content-Type": "application/octet-stream"})
    env.images.append(made["id"])
    return str(made["id"])


@pytest.fixture(scope="module")
def volume_backed(env, tenant) -> str:
    return env.boot(tenant.member, "mv-bfv", imageRef="", block_device_mapping_v2=[{
        "boot_index": 0, "uuid": env.image, "source_type": "image",
        "destination_type": "volume", "volume_size": 1, "delete_on_termination": True}])[0]


def test_rescue_of_a_volume_backed_server_from_2_87(env, tenant, volume_backed):
    plain = _image_with(env, "plain")
    rescue = _image_with(env, "rescue", hw_rescue_bus="scsi", hw_rescue_device="cdrom")
    fault(act(tenant.member, volume_backed, {"rescue": {"rescue_image_ref": rescue}},
              mv="2.86"), 400, "badRequest")
    fault(act(tenant.member, volume_backed, {"rescue": {"rescue_image_ref": plain}},
              mv="2.87"), 400, "badRequest")
    fault(act(tenant.member, volume_backed, {"rescue": None}, mv="2.87"), 400, "badRequest")
    r = act(tenant.member, volume_backed, {"rescue": {"rescue_image_ref": rescue}}, mv="2.87")
    assert r.status_code == 200 and r.json()["adminPass"], r.text
    wait_for(tenant.member, volume_backed, "RESCUE")
    act(tenant.member, volume_backed, {"unrescue": None})
    wait_for(tenant.member, volume_backed, "ACTIVE")


def _root_volume_image(env: Env, server_id: str) -> str:
    attached = env.admin.ok("GET", f"/servers/{server_id}/os-volume_attachments")
    volume_id = attached["volumeAttachments"][0]["volumeId"]
    url = f"{env.server.url}/volume/v3/volumes/{volume_id}"
    volume = env.admin.session.get(url).json()["volume"]
    return str(volume["volume_image_metadata"]["image_id"])


def test_rebuild_of_a_volume_backed_server_from_2_93(env, tenant, volume_backed):
    other = _image_with(env, "reimage")
    assert "different image" in fault(act(tenant.member, volume_backed, {
        "rebuild": {"imageRef": other}}, mv="2.92"), 400, "badRequest")
    r = act(tenant.member, volume_backed, {"rebuild": {"imageRef": env.image}}, mv="2.92")
    assert r.status_code == 202, r.text
    wait_for(tenant.member, volume_backed, "ACTIVE")
    fault(act(tenant.member, volume_backed, {"rebuild": {
        "imageRef": other, "trusted_image_certificates": ["c1"]}}, mv="2.93"), 400,
        "badRequest")
    r = act(tenant.member, volume_backed, {"rebuild": {"imageRef": other}}, mv="2.93")
    assert r.status_code == 202, r.text
    wait_for(tenant.member, volume_backed, "ACTIVE")
    assert _root_volume_image(env, volume_backed) == other


# ---------------------------------------------------------------- 2.24 / 2.65 abort

def _set_migration_status(env: Env, migration_id: int, status: str) -> None:
    """What a compute host that queued the migration would have written."""
    with closing(sqlite3.connect(env.server.data_dir / "nimbus.db")) as conn:
        conn.execute("UPDATE migrations SET status = ? WHERE id = ?", (status, migration_id))
        conn.commit()


def test_abort_a_live_migration(env, tenant, active):
    path = f"/servers/{active}/migrations/1"
    fault(env.admin("DELETE", path, mv="2.23"), 404, "itemNotFound")
    fault(env.admin("DELETE", path, mv="2.24"), 409, "conflictingRequest")
    fault(env.admin("DELETE", f"/servers/{NO_SUCH}/migrations/1", mv="2.24"), 404,
          "itemNotFound")
    # a destination whose agent never answers: the migration stays running
    sid = env.boot(tenant.member, "mv-abort")[0]
    source = host_of(env, sid)
    dead = add_host(env.server, allocatable=True, disabled=True)
    body = {"host": dead.host, "block_migration": "auto", "force": True}
    assert act(env.admin, sid, {"os-migrateLive": body}, mv="2.30").status_code == 202
    running = wait_until(lambda: [m for m in env.admin.ok(
        "GET", f"/servers/{sid}/migrations", mv="2.24")["migrations"]
        if m["status"] == "running"])
    mid = running[0]["id"]
    fault(tenant.member("DELETE", f"/servers/{sid}/migrations/{mid}", mv="2.24"), 403,
          "forbidden")
    fault(env.admin("DELETE", f"/servers/{sid}/migrations/{mid + 1000}", mv="2.24"), 404,
          "itemNotFound")
    force = {"force_complete": None}
    forced = f"/servers/{sid}/migrations/{mid}/action"
    fault(env.admin("POST", forced, force, mv="2.21"), 404, "itemNotFound")
    fault(tenant.member("POST", forced, force, mv="2.22"), 403, "forbidden")
    fault(env.admin("POST", f"/servers/{sid}/migrations/{mid + 1000}/action", force,
                    mv="2.22"), 400, "badRequest")
    fault(env.admin("POST", f"/servers/{active}/migrations/{mid}/action", force, mv="2.22"),
          409, "conflictingRequest")
    r = env.admin("POST", forced, force, mv="2.22")
    assert r.status_code == 202, r.text
    events = env.admin.ok("GET", f"/servers/{sid}/os-instance-actions", mv="2.22")
    assert "live_migration_force_complete" in [a["action"] for a in events["instanceActions"]]
    _set_migration_status(env, mid, "queued")
    fault(env.admin("DELETE", f"/servers/{sid}/migrations/{mid}", mv="2.64"), 400,
          "badRequest")
    fault(env.admin("POST", forced, force, mv="2.22"), 400, "badRequest")  # not running
    r = env.admin("DELETE", f"/servers/{sid}/migrations/{mid}", mv="2.65")
    assert r.status_code == 202, r.text
    wait_for(tenant.member, sid, "ACTIVE", timeout=WAIT)
    assert host_of(env, sid) == source
    assert allocations(env.server, sid) == [(source, 1, 512, 1)]
    listed = env.admin.ok("GET", f"/os-migrations?instance_uuid={sid}", mv="2.59")
    assert listed["migrations"][0]["status"] == "cancelled"


# ---------------------------------------------------------------- actions a version lacks

@pytest.mark.parametrize("mv, body", [
    ("2.44", {"addFloatingIp": {"address": "192.0.2.1"}}),
    ("2.44", {"removeFloatingIp": {"address": "192.0.2.1"}}),
    ("2.44", {"addFixedIp": {"networkId": NO_SUCH}}),
    ("2.44", {"removeFixedIp": {"address": "192.0.2.1"}}),
    ("2.16", {"trigger_crash_dump": None}),
])
def test_an_action_the_version_lacks_is_a_404(tenant, active, mv, body):
    """Nova's VersionNotFoundForAPIMethod: 404, where an unknown action is a 400."""
    fault(act(tenant.member, active, body, mv=mv), 404, "itemNotFound")
