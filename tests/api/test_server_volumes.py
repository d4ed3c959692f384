"""Volumes attached to servers through Nova's API, with the real clients:
``openstack server add volume`` / ``server remove volume``, openstacksdk's
compute proxy and cloud layer (which wait for ``in-use`` / ``available`` on
the block storage API), boot from volume, a server deleted with its volumes,
and Nova's errors."""

from __future__ import annotations

import pytest

from tests.conftest import sdk_connection, unique
from tests.support.compute_api import Api

pytestmark = pytest.mark.usefixtures("no_server_errors")
WAIT = dict(interval=0.05, wait=60)


@pytest.fixture(scope="module")
def conn(server):
    c = sdk_connection(server, "demo")
    yield c
    c.close()


@pytest.fixture(scope="module")
def nova(server, demo_session) -> Api:
    return Api(f"{server.url}/compute/v2.1", demo_session)


def new_server(conn, **kw):
    image = conn.image.find_image("nimbus-tiny")
    flavor = conn.compute.find_flavor("m1.tiny")
    kw.setdefault("networks", "auto")  # required from 2.37
    srv = conn.compute.create_server(name=unique("vm"), image_id=image.id,
                                     flavor_id=flavor.id, **kw)
    return conn.compute.wait_for_server(srv, **WAIT)


def new_volume(conn, size=1):
    vol = conn.block_storage.create_volume(size=size, name=unique("data"))
    return conn.block_storage.wait_for_status(vol, "available", **WAIT)


def volume_status(conn, volume_id) -> str:
    return conn.block_storage.get_volume(volume_id).status


@pytest.fixture(scope="module")
def vm(conn):
    srv = new_server(conn)
    yield srv
    conn.compute.delete_server(srv.id)


def test_cli_server_add_and_remove_volume(cli, conn, vm):
    vol = new_volume(conn)
    shown = cli.json("demo", "server", "add", "volume", vm.name, vol.name)
    assert shown["Device"] == "/dev/vdb" and shown["Volume ID"] == vol.id
    assert shown["Server ID"] == vm.id
    attached = conn.block_storage.wait_for_status(vol, "in-use", **WAIT)
    (att,) = attached.attachments
    assert att["server_id"] == vm.id and att["device"] == "/dev/vdb"
    server = conn.compute.get_server(vm.id)
    assert [(a.id, a.delete_on_termination) for a in server.attached_volumes] == [
        (vol.id, False)]

    cli.run("demo", "server", "remove", "volume", vm.name, vol.name)
    conn.block_storage.wait_for_status(vol, "available", **WAIT)
    assert conn.compute.get_server(vm.id).attached_volumes == []
    conn.block_storage.delete_volume(vol)


def test_sdk_attach_through_the_compute_proxy(conn, vm):
    first, second = new_volume(conn), new_volume(conn)
    made = conn.compute.create_volume_attachment(vm, volume=first)
    assert made.device == "/dev/vdb" and made.volume_id == first.id
    conn.block_storage.wait_for_status(first, "in-use", **WAIT)
    # the cloud layer refuses a volume that is not available, and waits for in-use
    conn.attach_volume(vm, conn.get_volume(second.id), wait=True, timeout=60)
    listed = {a.volume_id: a.device for a in conn.compute.volume_attachments(vm)}
    assert listed == {first.id: "/dev/vdb", second.id: "/dev/vdc"}
    one = conn.compute.get_volume_attachment(vm, first.id)
    assert one.device == "/dev/vdb" and one.server_id == vm.id

    conn.compute.delete_volume_attachment(vm, first.id)
    conn.block_storage.wait_for_status(first, "available", **WAIT)
    conn.detach_volume(vm, conn.get_volume(second.id), wait=True, timeout=60)
    assert volume_status(conn, second.id) == "available"
    # the free name is taken again
    again = conn.compute.create_volume_attachment(vm, volume=second)
    assert again.device == "/dev/vdb"
    conn.block_storage.wait_for_status(second, "in-use", **WAIT)
    conn.detach_volume(vm, conn.get_volume(second.id), wait=True, timeout=60)
    for vol in (first, second):
        conn.block_storage.delete_volume(vol)


def attach(nova, server_id, body, mv=None):
    return nova("POST", f"/servers/{server_id}/os-volume_attachments",
                {"volumeAttachment": body}, mv=mv)


def test_views_by_microversion(conn, nova, vm):
    vol = new_volume(conn)
    r = attach(nova, vm.id, {"volumeId": vol.id, "device": None}, mv="2.26")
    assert r.status_code == 200, r.text
    assert r.json() == {"volumeAttachment": {"id": vol.id, "serverId": vm.id,
                                             "volumeId": vol.id, "device": "/dev/vdb"}}
    conn.block_storage.wait_for_status(vol, "in-use", **WAIT)
    shown = nova.ok("GET", f"/servers/{vm.id}", mv="2.1")["server"]
    assert shown["os-extended-volumes:volumes_attached"] == [{"id": vol.id}]
    listed = nova.ok("GET", "/servers/detail", mv="2.3")["servers"]
    mine = next(s for s in listed if s["id"] == vm.id)
    assert mine["os-extended-volumes:volumes_attached"] == [
        {"id": vol.id, "delete_on_termination": False}]
    page = nova.ok("GET", f"/servers/{vm.id}/os-volume_attachments?limit=1&offset=1")
    assert page == {"volumeAttachments": []}
    r = nova("DELETE", f"/servers/{vm.id}/os-volume_attachments/{vol.id}")
    assert r.status_code == 202
    conn.block_storage.wait_for_status(vol, "available", **WAIT)
    conn.block_storage.delete_volume(vol)


def fault(r, code: int, name: str, text: str = "") -> None:
    assert r.status_code == code, r.text
    body = r.json()[name]
    assert body["code"] == code and text in body["message"], body


def test_errors_in_novas_dialect(conn, nova, vm):
    vol = new_volume(conn)
    missing = "00000000-0000-4000-8000-000000000000"
    fault(attach(nova, vm.id, {"volumeId": missing}), 404, "itemNotFound", missing)
    fault(attach(nova, vm.id, {"volumeId": "not-a-uuid"}), 400, "badRequest")
    fault(attach(nova, vm.id, {"volumeId": vol.id, "device": "/etc/passwd"}), 400,
          "badRequest", "The supplied device path (/etc/passwd) is invalid.")
    fault(attach(nova, vm.id, {"volumeId": vol.id, "delete_on_termination": True}), 400,
          "badRequest", "delete_on_termination")
    fault(attach(nova, missing, {"volumeId": vol.id}), 404, "itemNotFound")
    fault(nova("GET", f"/servers/{vm.id}/os-volume_attachments/{vol.id}"), 404,
          "itemNotFound")
    fault(nova("DELETE", f"/servers/{vm.id}/os-volume_attachments/{vol.id}"), 404,
          "itemNotFound")
    assert attach(nova, vm.id, {"volumeId": vol.id}).status_code == 200
    # attached already (to this server, and then another one): Nova's InvalidVolume
    fault(attach(nova, vm.id, {"volumeId": vol.id}), 400, "badRequest", "Invalid volume")
    other = new_server(conn)
    fault(attach(nova, other.id, {"volumeId": vol.id}), 400, "badRequest", "Invalid volume")
    conn.block_storage.wait_for_status(vol, "in-use", **WAIT)
    # a locked server: 409 to attach and to detach
    nova.ok("POST", f"/servers/{vm.id}/action", {"lock": None})
    fault(nova("DELETE", f"/servers/{vm.id}/os-volume_attachments/{vol.id}"), 409,
          "conflictingRequest", "locked")
    spare = new_volume(conn)
    fault(attach(nova, vm.id, {"volumeId": spare.id}), 409, "conflictingRequest", "locked")
    nova.ok("POST", f"/servers/{vm.id}/action", {"unlock": None})
    # a volume with an attachment cannot be deleted
    r = nova.session.request(conn.block_storage.get_endpoint() + f"/volumes/{vol.id}",
                             "DELETE", raise_exc=False)
    assert r.status_code == 400, r.text
    conn.detach_volume(vm, conn.get_volume(vol.id), wait=True, timeout=60)
    conn.compute.delete_server(other.id)
    for v in (vol, spare):
        conn.block_storage.delete_volume(v)


def test_server_delete_detaches_its_volumes(conn):
    srv = new_server(conn)
    vol = new_volume(conn)
    conn.attach_volume(srv, conn.get_volume(vol.id), wait=True, timeout=60)
    conn.compute.delete_server(srv.id)
    conn.compute.wait_for_delete(srv, **WAIT)
    conn.block_storage.wait_for_status(vol, "available", **WAIT)
    conn.block_storage.delete_volume(vol)


def test_cli_boot_from_volume_deletes_the_root_on_termination(cli, conn):
    name = unique("bfv")
    created = cli.json("demo", "server", "create", "--flavor", "m1.tiny", "--image",
                       "nimbus-tiny", "--boot-from-volume", "1", "--delete-on-termination",
                       name)
    # --wait would sleep OSC's 5 s poll (it is checked in test_cli_servers): the sdk waits
    server = conn.compute.wait_for_server(conn.compute.get_server(created["id"]), **WAIT)
    assert server.status == "ACTIVE", server
    (root,) = server.attached_volumes
    assert root.delete_on_termination is True
    vol = conn.block_storage.get_volume(root.id)
    assert vol.status == "in-use" and vol.size == 1 and vol.is_bootable in (True, "true")
    assert vol.attachments[0]["device"] == "/dev/vda"
    assert not server.image or not server.image.get("id")  # booted from a volume: no image
    conn.compute.delete_server(server.id)
    conn.compute.wait_for_delete(server, **WAIT)
    conn.block_storage.wait_for_delete(vol, **WAIT)


def test_cli_boot_from_a_given_volume_keeps_it(cli, conn):
    image = conn.image.find_image("nimbus-tiny")
    vol = conn.block_storage.create_volume(size=1, image_id=image.id, name=unique("root"))
    vol = conn.block_storage.wait_for_status(vol, "available", **WAIT)
    name = unique("bfv")
    created = cli.json("demo", "server", "create", "--flavor", "m1.tiny", "--block-device",
                       f"uuid={vol.id},source_type=volume,destination_type=volume,"
                       "boot_index=0", name)
    # --wait would sleep OSC's 5 s poll (it is checked in test_cli_servers): the sdk waits
    server = conn.compute.wait_for_server(conn.compute.get_server(created["id"]), **WAIT)
    assert server.status == "ACTIVE", server
    vol = conn.block_storage.get_volume(vol.id)
    assert vol.status == "in-use" and vol.attachments[0]["device"] == "/dev/vda"
    fault_r = conn.compute.get(f"/servers/{created['id']}/os-volume_attachments/{vol.id}")
    assert fault_r.status_code == 200
    conn.compute.delete_server(created["id"])
    conn.block_storage.wait_for_status(vol, "available", **WAIT)
    conn.block_storage.delete_volume(vol)
