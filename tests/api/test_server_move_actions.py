"""Server moves through keystoneauth sessions and openstacksdk on the live
all-in-one server (four simulated hosts): shelve / shelveOffload / unshelve,
rebuild, cold migration with confirm and revert, live migration, evacuation,
os-migrations, createBackup and the multinic actions. After each move the
server's placement allocation sits on exactly the host it runs on, sized by
its flavor (read from the server's database). Every refusal is Nova's fault
(403, 404, 409, 400), never a 500."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing

import pytest

from tests.conftest import sdk_connection
from tests.support.compute_api import WAIT, Api, Tenant, delete_all, show, wait_for
from tests.support.compute_env import PREFIX, Env, simulated_hosts
from tests.support.nova import fault

pytestmark = pytest.mark.usefixtures("no_server_errors")

NO_SUCH = "00000000-0000-4000-8000-000000000000"
TINY = (1, 512, 1)  # m1.tiny: vcpus, memory_mb, disk_gb


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def tenant(env) -> Tenant:
    return env.tenant({"instances": 20, "cores": 40, "ram": 40 * 1024})


@pytest.fixture(scope="module")
def sdk(server, tenant):
    """openstacksdk as the tenant's member (the session's auth)."""
    from openstack import connection
    conn = connection.Connection(session=tenant.member.session)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def admin_sdk(server):
    conn = sdk_connection(server, "admin")
    yield conn
    conn.close()


def allocations(server, uuid: str) -> list[tuple[str, int, int, int]]:
    """(host, vcpus, memory_mb, disk_gb) of each allocation of ``uuid``."""
    db = f"file:{server.data_dir / 'nimbus.db'}?mode=ro"
    with closing(sqlite3.connect(db, uri=True)) as conn:
        return sorted(conn.execute(
            "SELECT n.host, a.vcpus, a.memory_mb, a.disk_gb FROM allocations a "
            "JOIN compute_nodes n ON n.id = a.node_id WHERE a.consumer_uuid = ?", (uuid,)))


def host_of(env: Env, sid: str) -> str | None:
    return env.admin.ok("GET", f"/servers/{sid}")["server"]["OS-EXT-SRV-ATTR:host"]


def assert_claimed_on_its_host(env: Env, sid: str) -> str:
    """The server's allocation is on its host only, as big as m1.tiny; its host."""
    host = host_of(env, sid)
    assert host
    assert allocations(env.server, sid) == [(host, *TINY)]
    return host


def wait_until(check, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return result


def act(api: Api, sid: str, body, mv: str | None = None):
    return api("POST", f"/servers/{sid}/action", body, mv=mv)


# ---------------------------------------------------------------- shelve

def test_shelve_offloads_and_unshelve_claims_a_host_again(env, tenant, sdk, admin_sdk):
    sid = env.boot(tenant.member, "shelve")[0]
    name = f"{PREFIX}-shelve"
    sdk.compute.shelve_server(sid)
    shown = wait_for(tenant.member, sid, "SHELVED_OFFLOADED")
    assert shown["OS-EXT-STS:vm_state"] == "shelved_offloaded"
    assert host_of(env, sid) is None
    assert allocations(env.server, sid) == []
    images = env.admin.session.get(f"{env.image_url}?name={name}-shelved").json()["images"]
    assert len(images) == 1 and images[0]["status"] == "active"
    assert images[0]["instance_uuid"] == sid

    # wrong states: 409 conflictingRequest
    message = fault(act(tenant.member, sid, {"shelve": None}), 409, "conflictingRequest")
    assert "shelved_offloaded" in message
    fault(act(env.admin, sid, {"shelveOffload": None}), 409, "conflictingRequest")
    fault(act(tenant.member, sid, {"os-stop": None}), 409, "conflictingRequest")
    fault(act(tenant.member, sid, {"rebuild": {"imageRef": env.image}}), 409,
          "conflictingRequest")

    sdk.compute.unshelve_server(sid)
    wait_for(tenant.member, sid, "ACTIVE")
    assert_claimed_on_its_host(env, sid)
    gone = env.admin.session.get(f"{env.image_url}/{images[0]['id']}", raise_exc=False)
    assert gone.status_code == 404
    actions = [a["action"] for a in tenant.member.ok(
        "GET", f"/servers/{sid}/os-instance-actions")["instanceActions"]]
    assert actions[:2] == ["unshelve", "shelve"]
    fault(act(tenant.member, sid, {"unshelve": None}), 409, "conflictingRequest")


def test_shelve_refusals(env, tenant):
    for body in ({"shelve": None}, {"unshelve": None}, {"shelveOffload": None}):
        fault(act(tenant.member, NO_SUCH, body), 404, "itemNotFound")
    sid = env.boot(tenant.member, "shelve-refused")[0]
    fault(act(tenant.member, sid, {"shelveOffload": None}), 403, "forbidden")
    fault(act(env.admin, sid, {"shelveOffload": None}), 409, "conflictingRequest")
    fault(act(tenant.member, sid, {"unshelve": {"availability_zone": "nova"}}), 400,
          "badRequest")


# ---------------------------------------------------------------- rebuild

def test_rebuild_answers_the_server_and_keeps_its_host(env, tenant, sdk):
    sid = env.boot(tenant.member, "rebuild")[0]
    host = assert_claimed_on_its_host(env, sid)
    r = act(tenant.member, sid, {"rebuild": {"imageRef": env.image, "name": f"{PREFIX}-rb",
                                             "metadata": {"role": "db"},
                                             "adminPass": "s3cret"}})
    assert r.status_code == 202, r.text
    view = r.json()["server"]
    assert view["status"] == "REBUILD" and view["adminPass"] == "s3cret"
    assert view["name"] == f"{PREFIX}-rb" and view["metadata"] == {"role": "db"}
    assert {"id", "tenant_id", "user_id", "hostId", "image", "flavor", "created",
            "updated", "addresses", "accessIPv4", "accessIPv6", "links"} <= set(view)
    assert not [k for k in view if k.startswith("OS-EXT-")]
    wait_for(tenant.member, sid, "ACTIVE")
    assert assert_claimed_on_its_host(env, sid) == host

    server = sdk.compute.rebuild_server(sid, image=env.image, admin_password="again1")
    assert server.admin_password == "again1"
    wait_for(tenant.member, sid, "ACTIVE")
    assert host_of(env, sid) == host

    fault(act(tenant.member, NO_SUCH, {"rebuild": {"imageRef": env.image}}), 404,
          "itemNotFound")
    fault(act(tenant.member, sid, {"rebuild": {"imageRef": NO_SUCH}}), 400, "badRequest")
    fault(act(tenant.member, sid, {"rebuild": {}}), 400, "badRequest")


# ---------------------------------------------------------------- migrations

def test_cold_migration_confirm_and_revert(env, tenant, admin_sdk):
    sid = env.boot(tenant.member, "cold")[0]
    source = assert_claimed_on_its_host(env, sid)
    fault(act(tenant.member, sid, {"migrate": None}), 403, "forbidden")
    fault(act(env.admin, NO_SUCH, {"migrate": None}), 404, "itemNotFound")
    admin_sdk.compute.migrate_server(sid)
    wait_for(tenant.member, sid, "VERIFY_RESIZE")
    dest = host_of(env, sid)
    assert dest != source
    # while it waits: the new host's claim, and the source's parked under the migration
    assert allocations(env.server, sid) == [(dest, *TINY)]
    fault(act(env.admin, sid, {"migrate": None}), 409, "conflictingRequest")
    r = act(env.admin, sid, {"confirmResize": None})
    assert r.status_code == 204, r.text
    wait_for(tenant.member, sid, "ACTIVE")
    assert assert_claimed_on_its_host(env, sid) == dest

    admin_sdk.compute.migrate_server(sid)
    wait_for(tenant.member, sid, "VERIFY_RESIZE")
    admin_sdk.compute.revert_server_resize(sid)
    wait_for(tenant.member, sid, "ACTIVE")
    assert assert_claimed_on_its_host(env, sid) == dest

    listed = env.admin.ok("GET", f"/os-migrations?instance_uuid={sid}", mv="2.23")
    assert [(m["migration_type"], m["status"]) for m in listed["migrations"]] == [
        ("migration", "reverted"), ("migration", "confirmed")]
    first = listed["migrations"][1]
    assert (first["source_compute"], first["dest_compute"]) == (source, dest)
    assert first["old_instance_type_id"] == first["new_instance_type_id"]


def test_live_migration(env, tenant, admin_sdk):
    sid = env.boot(tenant.member, "live")[0]
    source = assert_claimed_on_its_host(env, sid)
    body = {"os-migrateLive": {"host": None, "block_migration": "auto"}}
    fault(act(tenant.member, sid, body, mv="2.25"), 403, "forbidden")
    fault(act(env.admin, NO_SUCH, body, mv="2.25"), 404, "itemNotFound")
    fault(act(env.admin, sid, {"os-migrateLive": {"host": source, "block_migration": "auto"}},
              mv="2.25"), 400, "badRequest")
    fault(act(env.admin, sid, {"os-migrateLive": {"host": "nowhere",
                                                  "block_migration": "auto"}}, mv="2.25"),
          400, "badRequest")
    admin_sdk.compute.live_migrate_server(sid, host=None, block_migration="auto")
    wait_until(lambda: host_of(env, sid) != source)
    wait_for(tenant.member, sid, "ACTIVE")
    dest = assert_claimed_on_its_host(env, sid)

    # at 2.1 the body names disk_over_commit, and a named host is used as given
    hosts = simulated_hosts(env.admin)
    target = next(h for h in hosts if h not in (source, dest))
    r = act(env.admin, sid, {"os-migrateLive": {"host": target, "block_migration": False,
                                                "disk_over_commit": False}})
    assert r.status_code == 202, r.text
    wait_until(lambda: host_of(env, sid) == target)
    wait_for(tenant.member, sid, "ACTIVE")
    assert assert_claimed_on_its_host(env, sid) == target

    env.admin.ok("POST", f"/servers/{sid}/action", {"os-stop": None})
    wait_for(tenant.member, sid, "SHUTOFF")
    fault(act(env.admin, sid, body, mv="2.25"), 409, "conflictingRequest")
    assert env.admin.ok("GET", f"/servers/{sid}/migrations", mv="2.23") == {"migrations": []}
    fault(env.admin("GET", f"/servers/{sid}/migrations"), 404, "itemNotFound")
    fault(tenant.member("GET", f"/servers/{sid}/migrations", mv="2.23"), 403, "forbidden")


def _force_down(env: Env, host: str, down: bool) -> None:
    env.admin.ok("PUT", "/os-services/force-down", {"host": host, "binary": "nova-compute",
                                                     "forced_down": down}, mv="2.11")


def test_evacuate_from_a_host_forced_down(env, tenant, admin_sdk):
    sid = env.boot(tenant.member, "evac")[0]
    source = assert_claimed_on_its_host(env, sid)
    fault(act(tenant.member, sid, {"evacuate": {}}, mv="2.14"), 403, "forbidden")
    message = fault(act(env.admin, sid, {"evacuate": {}}, mv="2.14"), 400, "badRequest")
    assert "still in use" in message
    _force_down(env, source, True)
    try:
        fault(act(env.admin, sid, {"evacuate": {"host": source}}, mv="2.14"), 400,
              "badRequest")
        fault(act(env.admin, sid, {"evacuate": {"host": "nowhere"}}, mv="2.14"), 404,
              "itemNotFound")
        fault(act(env.admin, NO_SUCH, {"evacuate": {}}, mv="2.14"), 404, "itemNotFound")
        r = act(env.admin, sid, {"evacuate": {"onSharedStorage": False}})
        assert r.status_code == 200, r.text
        assert r.json()["adminPass"]
        wait_until(lambda: host_of(env, sid) not in (None, source))
        wait_for(tenant.member, sid, "ACTIVE")
        assert_claimed_on_its_host(env, sid)
    finally:
        _force_down(env, source, False)
    listed = env.admin.ok("GET", f"/os-migrations?instance_uuid={sid}", mv="2.23")
    assert [(m["migration_type"], m["status"]) for m in listed["migrations"]] == [
        ("evacuation", "done")]


def test_os_migrations_list(env, tenant, admin_sdk):
    # a migration of its own: the tests above may have run on another worker's server
    sid = env.boot(tenant.member, "listed")[0]
    source = host_of(env, sid)
    admin_sdk.compute.live_migrate_server(sid, host=None, block_migration="auto")
    wait_until(lambda: host_of(env, sid) != source)
    wait_for(tenant.member, sid, "ACTIVE")
    fault(tenant.member("GET", "/os-migrations"), 403, "forbidden")
    listed = env.admin.ok("GET", "/os-migrations")["migrations"]
    assert sid in {m["instance_uuid"] for m in listed}
    assert {"id", "instance_uuid", "status", "source_compute", "source_node",
            "dest_compute", "dest_node", "dest_host", "old_instance_type_id",
            "new_instance_type_id", "created_at", "updated_at"} <= set(listed[0])
    assert "migration_type" not in listed[0]
    typed = env.admin.ok("GET", "/os-migrations?migration_type=live-migration",
                         mv="2.23")["migrations"]
    assert typed and {m["migration_type"] for m in typed} == {"live-migration"}
    fault(env.admin("GET", "/os-migrations?hidden=maybe"), 400, "badRequest")


# ---------------------------------------------------------------- backups and fixed IPs

def _backups(env: Env, sid: str) -> list[str]:
    images = env.admin.session.get(
        f"{env.image_url}?instance_uuid={sid}&image_type=backup").json()["images"]
    return sorted(i["name"] for i in images)


def test_create_backup_keeps_rotation_backups(env, tenant, sdk):
    sid = env.boot(tenant.member, "backup")[0]
    for i in range(3):
        r = act(tenant.member, sid, {"createBackup": {"name": f"{PREFIX}-bk{i}",
                                                      "backup_type": "daily",
                                                      "rotation": 2}})
        assert r.status_code == 202, r.text
        assert "/image/v2/images/" in r.headers["Location"]
        wait_for(tenant.member, sid, "ACTIVE")
    assert _backups(env, sid) == [f"{PREFIX}-bk1", f"{PREFIX}-bk2"]
    sdk.compute.backup_server(sid, f"{PREFIX}-bk3", "daily", 1)
    wait_for(tenant.member, sid, "ACTIVE")
    assert _backups(env, sid) == [f"{PREFIX}-bk3"]
    env.images.extend(i["id"] for i in env.admin.session.get(
        f"{env.image_url}?instance_uuid={sid}").json()["images"])
    fault(act(tenant.member, NO_SUCH, {"createBackup": {"name": "x", "backup_type": "d",
                                                         "rotation": 1}}), 404, "itemNotFound")
    fault(act(tenant.member, sid, {"createBackup": {"name": "x", "backup_type": "d"}}),
          400, "badRequest")
    fault(act(tenant.member, sid, {"createBackup": {"name": "x", "backup_type": "d",
                                                     "rotation": -1}}), 400, "badRequest")


def test_add_and_remove_fixed_ip(env, tenant):
    sid = env.boot(tenant.member, "multinic")[0]
    network = tenant.member.session.get(
        f"{env.server.url}/networking/v2.0/networks?name=private").json()["networks"][0]
    before = show(tenant.member, sid)["addresses"]
    r = act(tenant.member, sid, {"addFixedIp": {"networkId": network["id"]}})
    assert r.status_code == 202, r.text
    after = show(tenant.member, sid)["addresses"]
    added = {a["addr"] for a in after["private"]} - {a["addr"] for a in before["private"]}
    assert len(added) == 1
    fault(act(tenant.member, sid, {"removeFixedIp": {"address": "192.0.2.250"}}), 400,
          "badRequest")
    r = act(tenant.member, sid, {"removeFixedIp": {"address": added.pop()}})
    assert r.status_code == 202, r.text
    assert show(tenant.member, sid)["addresses"] == before
    fault(act(tenant.member, NO_SUCH, {"addFixedIp": {"networkId": network["id"]}}), 404,
          "itemNotFound")
    fault(act(tenant.member, sid, {"addFixedIp": {}}), 400, "badRequest")



# ---------------------------------------------------------------- volumes and deletes

def test_volumes_stay_attached_across_shelve_and_unshelve(env, tenant, sdk, admin_sdk):
    sid = env.boot(tenant.member, "shelve-vol")[0]
    volume = sdk.block_storage.create_volume(size=1, name=f"{PREFIX}-vol")
    sdk.block_storage.wait_for_status(volume, "available", interval=0.2, wait=WAIT)
    tenant.member.ok("POST", f"/servers/{sid}/os-volume_attachments",
                     {"volumeAttachment": {"volumeId": volume.id}})
    sdk.block_storage.wait_for_status(volume, "in-use", interval=0.2, wait=WAIT)

    sdk.compute.shelve_server(sid)
    wait_for(tenant.member, sid, "SHELVED_OFFLOADED")
    # offloaded: still the server's, reserved for it without a host to connect it
    assert sdk.block_storage.get_volume(volume.id).status == "reserved"
    listed = tenant.member.ok("GET", f"/servers/{sid}/os-volume_attachments")
    assert [a["volumeId"] for a in listed["volumeAttachments"]] == [volume.id]
    assert listed["volumeAttachments"][0]["device"] == "/dev/vdb"

    sdk.compute.unshelve_server(sid)
    wait_for(tenant.member, sid, "ACTIVE")
    sdk.block_storage.wait_for_status(volume, "in-use", interval=0.2, wait=WAIT)
    attachment = sdk.block_storage.get_volume(volume.id).attachments[0]
    assert attachment["server_id"] == sid and attachment["device"] == "/dev/vdb"
    assert_claimed_on_its_host(env, sid)

    # moved (live): the volume is connected on the new host, in-use throughout
    source = host_of(env, sid)
    admin_sdk.compute.live_migrate_server(sid, host=None, block_migration="auto")
    wait_until(lambda: host_of(env, sid) != source)
    wait_for(tenant.member, sid, "ACTIVE")
    wait_until(lambda: admin_sdk.block_storage.get_volume(volume.id).attachments[0][
        "host_name"] == host_of(env, sid))
    assert sdk.block_storage.get_volume(volume.id).status == "in-use"

    tenant.member.ok("DELETE", f"/servers/{sid}/os-volume_attachments/{volume.id}")
    sdk.block_storage.wait_for_status(volume, "available", interval=0.2, wait=WAIT)
    sdk.block_storage.delete_volume(volume)


def test_deleting_a_shelved_server_takes_its_shelved_image(env, tenant, sdk):
    sid = env.boot(tenant.member, "shelve-del")[0]
    sdk.compute.shelve_server(sid)
    wait_for(tenant.member, sid, "SHELVED_OFFLOADED")
    images = env.admin.session.get(f"{env.image_url}?instance_uuid={sid}").json()["images"]
    assert len(images) == 1
    delete_all(tenant.member, [sid])
    gone = env.admin.session.get(f"{env.image_url}/{images[0]['id']}", raise_exc=False)
    assert gone.status_code == 404
    assert allocations(env.server, sid) == []
