"""Volume attachments, interfaces, external events, usage, consoles and topology
at compute microversions 2.27-2.100, each change at its version boundary, with
the real clients: keystoneauth (explicit versions), openstacksdk's compute
proxy (VolumeAttachment negotiates 2.89) and the ``openstack`` CLI (the
server's maximum). Two servers serve every check."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from tests.conftest import sdk_connection, unique
from tests.support.compute_api import Api, wait_for
from tests.support.nova import fault

pytestmark = [pytest.mark.usefixtures("no_server_errors"), pytest.mark.xdist_group("attach-mv")]
WAIT = dict(interval=0.05, wait=60)
NO_SUCH = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def conn(server):
    c = sdk_connection(server, "demo")
    yield c
    c.close()


@pytest.fixture(scope="module")
def admin_conn(server):
    c = sdk_connection(server, "admin")
    yield c
    c.close()


@pytest.fixture(scope="module")
def nova(server, demo_session) -> Api:
    return Api(f"{server.url}/compute/v2.1", demo_session)


@pytest.fixture(scope="module")
def admin(server, admin_session) -> Api:
    return Api(f"{server.url}/compute/v2.1", admin_session)


def _boot(conn):
    image = conn.image.find_image("nimbus-tiny")
    srv = conn.compute.create_server(name=unique("mv"), image_id=image.id, flavor_id="1",
                                     networks="auto")
    return conn.compute.wait_for_server(srv, **WAIT)


@pytest.fixture(scope="module")
def vms(conn):
    made = [_boot(conn), _boot(conn)]
    yield made
    for srv in made:
        conn.compute.delete_server(srv.id)
    for srv in made:
        conn.compute.wait_for_delete(srv, **WAIT)


def _volume(conn, **kw):
    vol = conn.block_storage.create_volume(size=1, name=unique("mv"), **kw)
    return conn.block_storage.wait_for_status(vol, "available", **WAIT)


def _attach(api: Api, sid: str, body: dict, mv: str):
    return api("POST", f"/servers/{sid}/os-volume_attachments", {"volumeAttachment": body},
               mv=mv)


def _detach_all(conn, vm, *vols):
    for vol in vols:
        conn.compute.delete_volume_attachment(vm, vol.id)
    for vol in vols:
        conn.block_storage.wait_for_status(vol, "available", **WAIT)
        conn.block_storage.delete_volume(vol)


# ---------------------------------------------------------------- volume attachments

def test_attachment_fields_by_version(conn, nova, vms):
    vm = vms[0]
    vol = _volume(conn)
    path = f"/servers/{vm.id}/os-volume_attachments"
    fault(_attach(nova, vm.id, {"volumeId": vol.id, "tag": "db"}, "2.48"), 400, "badRequest")
    fault(_attach(nova, vm.id, {"volumeId": vol.id, "delete_on_termination": True}, "2.78"),
          400, "badRequest")
    r = _attach(nova, vm.id, {"volumeId": vol.id, "tag": "db", "delete_on_termination": True},
                "2.89")
    assert r.status_code == 200, r.text
    # the POST answer keeps ``id`` (Nova builds it from the request)
    assert r.json()["volumeAttachment"] == {
        "id": vol.id, "serverId": vm.id, "volumeId": vol.id, "device": "/dev/vdb",
        "tag": "db", "delete_on_termination": True}
    conn.block_storage.wait_for_status(vol, "in-use", **WAIT)
    assert set(nova.ok("GET", f"{path}/{vol.id}", mv="2.69")["volumeAttachment"]) == {
        "id", "serverId", "volumeId", "device"}
    shown = nova.ok("GET", f"{path}/{vol.id}", mv="2.70")["volumeAttachment"]
    assert shown["tag"] == "db" and "delete_on_termination" not in shown
    assert nova.ok("GET", path, mv="2.79")["volumeAttachments"][0][
        "delete_on_termination"] is True
    at_89 = nova.ok("GET", f"{path}/{vol.id}", mv="2.89")["volumeAttachment"]
    assert "id" not in at_89 and at_89["attachment_id"] and at_89["bdm_uuid"]
    assert "id" in nova.ok("GET", f"{path}/{vol.id}", mv="2.88")["volumeAttachment"]
    # the sdk (2.89) sees the same attachment
    (att,) = list(conn.compute.volume_attachments(vm))
    assert (att.volume_id, att.tag, att.delete_on_termination) == (vol.id, "db", True)
    assert att.attachment_id == at_89["attachment_id"] and att.bdm_id == at_89["bdm_uuid"]
    _detach_all(conn, vm, vol)


def test_update_delete_on_termination_from_2_85(conn, nova, admin, vms, cli):
    vm = vms[0]
    vol = _volume(conn)
    conn.compute.create_volume_attachment(vm, volume=vol)
    conn.block_storage.wait_for_status(vol, "in-use", **WAIT)
    path = f"/servers/{vm.id}/os-volume_attachments/{vol.id}"

    def put(body, mv="2.85", api=nova):
        return api("PUT", path, {"volumeAttachment": {"volumeId": vol.id, **body}}, mv=mv)

    def dot():
        return nova.ok("GET", path, mv="2.79")["volumeAttachment"]["delete_on_termination"]

    fault(put({"delete_on_termination": True}, mv="2.84"), 400, "badRequest")
    fault(put({}, mv="2.84"), 403, "forbidden")  # below 2.85 PUT is the (admin) swap
    fault(put({"device": "/dev/vdz"}), 400, "badRequest", "The device property is not mutable")
    fault(put({"tag": "other"}), 400, "badRequest", "The tag property is not mutable")
    fault(put({"serverId": NO_SUCH}), 400, "badRequest",
          "The serverId property is not mutable")
    fault(put({"id": NO_SUCH}), 400, "badRequest", "The id property is not mutable")
    assert put({"delete_on_termination": True, "device": "/dev/vdb"}).status_code == 202
    assert dot() is True
    # another volumeId: the swap API, admins only; no volume migrates here (409)
    other = nova("PUT", path, {"volumeAttachment": {"volumeId": NO_SUCH}}, mv="2.85")
    fault(other, 403, "forbidden")
    fault(admin("PUT", path, {"volumeAttachment": {"volumeId": NO_SUCH}}, mv="2.85"), 409,
          "conflictingRequest")
    fault(nova("PUT", f"/servers/{vm.id}/os-volume_attachments/{NO_SUCH}",
               {"volumeAttachment": {"volumeId": NO_SUCH}}, mv="2.85"), 404, "itemNotFound")
    # the sdk's update and the CLI's ``server volume set`` / ``server volume list``
    conn.compute.update_volume_attachment(vm, vol, delete_on_termination=False)
    assert dot() is False
    cli.run("demo", "server", "volume", "set", "--delete-on-termination", vm.id, vol.id)
    (row,) = cli.json("demo", "server", "volume", "list", vm.id)
    assert row["Delete On Termination?"] is True and row["Volume ID"] == vol.id
    assert row["Attachment ID"] and row["BlockDeviceMapping UUID"] and "ID" not in row
    assert "Tag" in row
    _detach_all(conn, vm, vol)


def test_multiattach_volumes_from_2_60(conn, admin_conn, nova, vms):
    vtype = admin_conn.block_storage.create_type(
        name=unique("multi"), extra_specs={"multiattach": "<is> True"})
    vol = _volume(conn, volume_type=vtype.name)
    assert vol.is_multiattach in (True, "true")
    first, second = vms
    fault(_attach(nova, first.id, {"volumeId": vol.id}, "2.59"), 400, "badRequest",
          "Multiattach volumes are only supported starting with compute API version 2.60.")
    assert _attach(nova, first.id, {"volumeId": vol.id}, "2.60").status_code == 200
    conn.block_storage.wait_for_status(vol, "in-use", **WAIT)
    fault(_attach(nova, second.id, {"volumeId": vol.id}, "2.59"), 400, "badRequest")
    r = _attach(nova, second.id, {"volumeId": vol.id}, "2.60")
    assert r.status_code == 200, r.text
    assert r.json()["volumeAttachment"]["serverId"] == second.id
    # attached to this server already: still Nova's InvalidVolume
    fault(_attach(nova, second.id, {"volumeId": vol.id}, "2.60"), 400, "badRequest")
    vol = conn.block_storage.get_volume(vol.id)
    for _ in range(600):
        vol = conn.block_storage.get_volume(vol.id)
        if len(vol.attachments) == 2 and vol.status == "in-use":
            break
        time.sleep(0.05)
    assert {a["server_id"] for a in vol.attachments} == {first.id, second.id}
    conn.compute.delete_volume_attachment(first, vol.id)
    conn.block_storage.wait_for_status(vol, "in-use", **WAIT)
    for _ in range(600):
        if len(conn.block_storage.get_volume(vol.id).attachments) == 1:
            break
        time.sleep(0.05)
    conn.compute.delete_volume_attachment(second, vol.id)
    conn.block_storage.wait_for_status(vol, "available", **WAIT)
    conn.block_storage.delete_volume(vol)
    conn.block_storage.wait_for_delete(vol, **WAIT)
    admin_conn.block_storage.delete_type(vtype)


# ---------------------------------------------------------------- interfaces

def test_interface_tag_from_2_49_shown_from_2_70(nova, vms):
    vm = vms[1]
    base = f"/servers/{vm.id}/os-interface"
    (first,) = nova.ok("GET", base)["interfaceAttachments"]
    net = first["net_id"]
    fault(nova("POST", base, {"interfaceAttachment": {"net_id": net, "tag": "nic"}},
               mv="2.48"), 400, "badRequest")
    made = nova.ok("POST", base, {"interfaceAttachment": {"net_id": net, "tag": "nic"}},
                   mv="2.49")["interfaceAttachment"]
    assert "tag" not in made
    port = made["port_id"]
    assert nova.ok("GET", f"{base}/{port}", mv="2.70")["interfaceAttachment"]["tag"] == "nic"
    assert "tag" not in nova.ok("GET", f"{base}/{port}", mv="2.69")["interfaceAttachment"]
    listed = {i["port_id"]: i["tag"] for i in
              nova.ok("GET", base, mv="2.70")["interfaceAttachments"]}
    assert listed == {first["port_id"]: None, port: "nic"}
    shown = nova.ok("POST", base, {"interfaceAttachment": {"net_id": net, "tag": "two"}},
                    mv="2.70")["interfaceAttachment"]
    assert shown["tag"] == "two"
    for p in (port, shown["port_id"]):
        assert nova("DELETE", f"{base}/{p}").status_code == 202


# ---------------------------------------------------------------- external events

def _events(api: Api, mv: str, *events: dict):
    return api("POST", "/os-server-external-events", {"events": list(events)}, mv=mv)


@pytest.mark.parametrize(("name", "since"), [
    ("volume-extended", "2.51"), ("power-update", "2.76"),
    ("accelerator-request-bound", "2.82"), ("volume-reimaged", "2.93")])
def test_event_names_arrive_with_their_versions(admin, vms, name, since):
    vm = vms[1]
    minor = int(since.split(".")[1])
    event = {"name": name, "server_uuid": vm.id, "tag": "POWER_ON" if name ==
             "power-update" else "t"}
    fault(_events(admin, f"2.{minor - 1}", event), 400, "badRequest")
    r = _events(admin, since, event)
    assert r.status_code == 200, r.text
    assert r.json()["events"][0]["code"] == 200
    # a missing tag is that event's 400 (the answer a 207)
    r = _events(admin, since, {"name": name, "server_uuid": vm.id},
                {"name": "network-changed", "server_uuid": vm.id})
    assert r.status_code == 207, r.text
    assert [(e["code"], e["status"]) for e in r.json()["events"]] == [
        (400, "failed"), (200, "completed")]


def test_power_update_powers_the_server_off_and_on(admin, nova, vms):
    vm = vms[1]
    off = {"name": "power-update", "server_uuid": vm.id, "tag": "POWER_OFF"}
    assert _events(admin, "2.76", off).status_code == 200
    shown = wait_for(nova, vm.id, "SHUTOFF")
    assert shown["OS-EXT-STS:power_state"] == 4
    on = {"name": "power-update", "server_uuid": vm.id, "tag": "POWER_ON"}
    assert _events(admin, "2.76", on).status_code == 200
    shown = wait_for(nova, vm.id, "ACTIVE")
    assert shown["OS-EXT-STS:power_state"] == 1


# ---------------------------------------------------------------- usage

@pytest.mark.parametrize("start", [
    "2030-01-01", "2030-01-01T00:00:00Z", "2030-01-01T00:00:00+00:00",
    "2030-01-01 00:00:00", "01/01/2030"])
def test_usage_times_only_in_novas_forms(nova, conn, start):
    project = conn.current_project_id
    fault(nova("GET", f"/os-simple-tenant-usage/{project}?start={start}", mv="2.40"), 400,
          "badRequest", "Invalid datetime string: Datetime is in invalid format")


def test_usage_forms_nova_takes(nova, conn, vms):
    project = conn.current_project_id
    now = datetime.now(UTC).replace(tzinfo=None)
    for start in ((now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                  (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%f"),
                  (now - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S.%f")):
        got = nova.ok("GET", f"/os-simple-tenant-usage/{project}?start={start}", mv="2.40")
        assert {s["instance_id"] for s in got["tenant_usage"]["server_usages"]} >= {
            v.id for v in vms}
    fault(nova("GET", f"/os-simple-tenant-usage/{project}?start=2030-01-02T00:00:00"
               "&end=2030-01-01T00:00:00", mv="2.40"), 400, "badRequest")


def test_usage_pages_from_2_40(admin, vms):
    page = admin.ok("GET", "/os-simple-tenant-usage?detailed=1&limit=1", mv="2.40")
    assert len(page["tenant_usages"]) == 1 and page["tenant_usages_links"]
    marker = parse_qs(urlparse(page["tenant_usages_links"][0]["href"]).query)["marker"]
    assert marker == [page["tenant_usages"][0]["server_usages"][0]["instance_id"]]
    assert "tenant_usages_links" not in admin.ok(
        "GET", "/os-simple-tenant-usage?detailed=1&limit=1", mv="2.39")


# ---------------------------------------------------------------- consoles, topology

def _console(api: Api, sid: str, protocol: str, kind: str, mv: str):
    return api("POST", f"/servers/{sid}/remote-consoles",
               {"remote_console": {"protocol": protocol, "type": kind}}, mv=mv)


def test_spice_direct_from_2_99_and_console_tokens(nova, admin, admin_conn, cli, vms):
    vm = vms[0]
    fault(_console(nova, vm.id, "spice", "spice-direct", "2.98"), 400, "badRequest")
    r = _console(nova, vm.id, "spice", "spice-direct", "2.99")
    assert r.status_code == 200, r.text
    url = r.json()["remote_console"]["url"]
    token = parse_qs(urlparse(url).query)["token"][0]
    at_99 = admin.ok("GET", f"/os-console-auth-tokens/{token}", mv="2.99")["console"]
    assert at_99["instance_uuid"] == vm.id and at_99["host"] and at_99["tls_port"]
    # the sdk (2.99) and the CLI (the server's maximum)
    looked = admin_conn.compute.validate_console_auth_token(token)
    assert (looked.instance_uuid, looked.tls_port) == (vm.id, at_99["tls_port"])
    shown = cli.json("demo", "console", "url", "show", "--spice-direct", vm.id)
    assert shown["type"] == "spice-direct" and "token=" in shown["url"]
    novnc = _console(nova, vm.id, "vnc", "novnc", "2.31").json()["remote_console"]["url"]
    vnc_token = parse_qs(urlparse(novnc).query)["token"][0]
    shown = admin.ok("GET", f"/os-console-auth-tokens/{vnc_token}", mv="2.31")["console"]
    assert set(shown) == {"instance_uuid", "host", "port", "internal_access_path"}
    assert shown["instance_uuid"] == vm.id and shown["port"] == 5900
    # below 2.31 only RDP tokens (never issued here) may be looked up
    fault(admin("GET", f"/os-console-auth-tokens/{vnc_token}", mv="2.30"), 401,
          "unauthorized")
    fault(admin("GET", "/os-console-auth-tokens/not-a-token", mv="2.31"), 404,
          "itemNotFound", "Token not found")
    fault(nova("GET", f"/os-console-auth-tokens/{vnc_token}", mv="2.31"), 403, "forbidden")


def test_topology_from_2_78(nova, admin, cli, vms):
    vm = vms[0]
    fault(nova("GET", f"/servers/{vm.id}/topology", mv="2.77"), 404, "itemNotFound")
    assert nova.ok("GET", f"/servers/{vm.id}/topology", mv="2.78") == {
        "nodes": [], "pagesize_kb": None}
    assert admin.ok("GET", f"/servers/{vm.id}/topology", mv="2.78") == {
        "nodes": [], "pagesize_kb": None}
    fault(nova("GET", f"/servers/{NO_SUCH}/topology", mv="2.78"), 404, "itemNotFound")
    # ``openstack server show --topology``: its raw GET carries only the version asked for
    shown = cli.json("demo", "--os-compute-api-version", "2.78", "server", "show",
                     "--topology", vm.id)
    assert shown["topology"] == {"nodes": [], "pagesize_kb": None}


def test_shares_are_not_served(nova, vms):
    # no shared file system service: /servers/{id}/shares (2.97) is not found
    for mv in ("2.96", "2.97", "2.100"):
        assert nova("GET", f"/servers/{vms[0].id}/shares", mv=mv).status_code == 404


def test_standard_diagnostics_from_2_48(admin, admin_conn, nova, vms):
    vm = vms[0]
    flat = admin.ok("GET", f"/servers/{vm.id}/diagnostics", mv="2.47")
    assert "cpu0_time" in flat and "driver" not in flat
    std = admin.ok("GET", f"/servers/{vm.id}/diagnostics", mv="2.48")
    assert {"state", "driver", "hypervisor", "hypervisor_os", "uptime", "config_drive",
            "num_cpus", "num_disks", "num_nics", "memory_details", "cpu_details",
            "disk_details", "nic_details"} == set(std)
    assert std["num_cpus"] == len(std["cpu_details"]) and std["state"] == "running"
    # the sdk's ServerDiagnostics (2.48)
    got = admin_conn.compute.get_server_diagnostics(vm.id)
    assert got.num_cpus == std["num_cpus"] and got.driver == std["driver"]
    fault(nova("GET", f"/servers/{vm.id}/diagnostics", mv="2.48"), 403, "forbidden")
