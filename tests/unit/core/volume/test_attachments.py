"""Attachments: the attachments API's reserve → connect → complete → delete,
the legacy actions, what Nova reads for its server views, and a second
attach of one volume refused."""

from __future__ import annotations

import pytest

from core import errors
from core.volume.errors import (
    AttachmentNotFound,
    InvalidAttachment,
    InvalidInput,
    InvalidVolume,
    VolumeInUse,
)
from tests.support.core_services import ADMIN, MEMBER, OTHER, READER
from tests.unit.core.volume.conftest import place

SERVER = "11111111-0000-0000-0000-000000000001"
SERVER2 = "11111111-0000-0000-0000-000000000002"
CONNECTOR = {"host": "h1", "ip": "10.0.0.1", "initiator": "iqn.x", "mountpoint": "/dev/vdb"}


@pytest.fixture
def vol(vs, core):
    volume = vs.volumes.create(MEMBER, size=1)
    place(core, volume.id)
    return volume


def status(vs, volume_id) -> tuple[str, str]:
    v = vs.volumes.get(ADMIN, volume_id)
    return v.status, v.attach_status


def test_the_attachment_flow(vs, vol):
    att = vs.attachments.create(MEMBER, vol.id, SERVER, device="/dev/vdb",
                                delete_on_termination=True, ec2_device="/dev/sdf")
    assert att.attach_status == "reserved" and att.project_id == "p1"
    assert status(vs, vol.id) == ("reserved", "detached")
    att = vs.attachments.update(MEMBER, att.id, CONNECTOR)
    assert att.attach_status == "attaching" and att.attached_host == "h1"
    assert att.connection_info["driver_volume_type"] == "iscsi"
    assert att.connection_info["data"]["volume_id"] == vol.id
    assert status(vs, vol.id) == ("attaching", "attaching")
    att = vs.attachments.complete(MEMBER, att.id)
    assert att.attach_status == "attached" and att.attached_at is not None
    assert status(vs, vol.id) == ("in-use", "attached")
    assert vs.volumes.volumes_attached([SERVER, SERVER2]) == {SERVER: [(vol.id, True)]}
    assert [a.id for a in vs.volumes.attachments_of_instance(SERVER)] == [att.id]
    assert [a.id for a in vs.volumes.attachments_for([vol.id])[vol.id]] == [att.id]
    assert vs.attachments.delete(MEMBER, att.id) == []
    assert status(vs, vol.id) == ("available", "detached")
    assert vs.volumes.volumes_attached([SERVER]) == {}
    with pytest.raises(AttachmentNotFound):
        vs.attachments.get(MEMBER, att.id)


def test_create_with_a_connector_connects_at_once(vs, vol):
    att = vs.attachments.create(MEMBER, vol.id, SERVER, connector=CONNECTOR)
    assert att.attach_status == "attaching" and att.connection_info
    assert status(vs, vol.id) == ("attaching", "attaching")


def test_a_second_attach_is_volume_in_use(vs, vol):
    vs.attachments.create(MEMBER, vol.id, SERVER)
    with pytest.raises(VolumeInUse) as err:
        vs.attachments.create(MEMBER, vol.id, SERVER2)
    assert isinstance(err.value, errors.InvalidInput)
    assert err.value.message == f"Invalid volume: Volume {vol.id} status must be available"
    assert len(vs.attachments.list(MEMBER, filters={"volume_id": vol.id})) == 1


def test_reserving_again_for_the_same_server_gives_its_attachment(vs, vol):
    first = vs.attachments.create(MEMBER, vol.id, SERVER)
    assert vs.attachments.create(MEMBER, vol.id, SERVER).id == first.id


def test_a_volume_not_available_cannot_be_attached(vs, core):
    volume = vs.volumes.create(MEMBER, size=1)
    with pytest.raises(InvalidVolume):
        vs.attachments.create(MEMBER, volume.id, SERVER)  # creating
    place(core, volume.id, status="error")
    with pytest.raises(InvalidVolume):
        vs.attachments.create(MEMBER, volume.id, SERVER)


def test_multiattach_volumes_take_several_servers(vs, core):
    vs.types.create(ADMIN, "multi", extra_specs={"multiattach": "<is> True"})
    volume = vs.volumes.create(MEMBER, size=1, volume_type="multi")
    place(core, volume.id)
    a = vs.attachments.create(MEMBER, volume.id, SERVER, connector=CONNECTOR)
    vs.attachments.complete(MEMBER, a.id)
    b = vs.attachments.create(MEMBER, volume.id, SERVER2, connector=CONNECTOR)
    vs.attachments.complete(MEMBER, b.id)
    assert status(vs, volume.id) == ("in-use", "attached")
    assert [x.id for x in vs.attachments.delete(MEMBER, a.id)] == [b.id]
    assert status(vs, volume.id) == ("in-use", "attached")
    vs.attachments.delete(MEMBER, b.id)
    assert status(vs, volume.id) == ("available", "detached")


def test_complete_and_update_check_the_attachment_state(vs, vol):
    att = vs.attachments.create(MEMBER, vol.id, SERVER, connector=CONNECTOR)
    vs.attachments.complete(MEMBER, att.id)
    assert vs.attachments.complete(MEMBER, att.id).attach_status == "attached"  # idempotent
    with pytest.raises(InvalidAttachment):
        vs.attachments.update(MEMBER, att.id, CONNECTOR)
    with pytest.raises(InvalidInput):
        vs.attachments.update(MEMBER, att.id, "nope")  # type: ignore[arg-type]


def test_a_deleted_attachment_cannot_be_deleted_again(vs, vol):
    att = vs.attachments.create(MEMBER, vol.id, SERVER)
    vs.attachments.delete(MEMBER, att.id)
    with pytest.raises(AttachmentNotFound):
        vs.attachments.delete(MEMBER, att.id)


def test_other_projects_see_no_attachment(vs, vol):
    att = vs.attachments.create(MEMBER, vol.id, SERVER)
    with pytest.raises(AttachmentNotFound):
        vs.attachments.get(OTHER, att.id)
    with pytest.raises(AttachmentNotFound):
        vs.attachments.delete(OTHER, att.id)
    assert vs.attachments.list(OTHER) == []
    with pytest.raises(errors.Forbidden):
        vs.attachments.delete(READER, att.id)
    assert [a.id for a in vs.attachments.list(ADMIN, all_tenants=True)] == [att.id]


def test_list_filters(vs, core, vol):
    other = vs.volumes.create(MEMBER, size=1)
    place(core, other.id)
    a = vs.attachments.create(MEMBER, vol.id, SERVER)
    b = vs.attachments.create(MEMBER, other.id, SERVER2)
    assert [x.id for x in vs.attachments.list(MEMBER, filters={"instance_id": SERVER2})] == \
        [b.id]
    assert [x.id for x in vs.attachments.list(MEMBER, filters={"volume_id": vol.id})] == [a.id]
    assert len(vs.attachments.list(MEMBER, filters={"status": "reserved"})) == 2


def test_the_legacy_actions(vs, vol):
    vs.attachments.reserve(MEMBER, vol.id)
    assert status(vs, vol.id)[0] == "attaching"
    with pytest.raises(VolumeInUse):
        vs.attachments.reserve(MEMBER, vol.id)
    vs.attachments.unreserve(MEMBER, vol.id)
    assert status(vs, vol.id)[0] == "available"
    vs.attachments.reserve(MEMBER, vol.id)
    info = vs.attachments.initialize_connection(MEMBER, vol.id, CONNECTOR)
    assert info["data"]["volume_id"] == vol.id
    att = vs.attachments.attach(MEMBER, vol.id, SERVER, "/dev/vdc")
    assert status(vs, vol.id) == ("in-use", "attached") and att.mountpoint == "/dev/vdc"
    vs.attachments.begin_detaching(MEMBER, vol.id)
    assert status(vs, vol.id)[0] == "detaching"
    vs.attachments.roll_detaching(MEMBER, vol.id)
    assert status(vs, vol.id)[0] == "in-use"
    vs.attachments.begin_detaching(MEMBER, vol.id)
    vs.attachments.terminate_connection(MEMBER, vol.id, CONNECTOR)
    vs.attachments.detach(MEMBER, vol.id)
    assert status(vs, vol.id) == ("available", "detached")
    with pytest.raises(InvalidVolume):
        vs.attachments.begin_detaching(MEMBER, vol.id)


def test_readonly_volumes_attach_read_only(vs, core, vol):
    vs.volumes.update_readonly(MEMBER, vol.id, True)
    with pytest.raises(InvalidVolume):
        vs.attachments.attach(MEMBER, vol.id, SERVER, "/dev/vdb", mode="rw")
    att = vs.attachments.create(MEMBER, vol.id, SERVER, connector=CONNECTOR)
    assert att.attach_mode == "ro"


def test_force_detach_is_for_admins(vs, vol):
    att = vs.attachments.create(MEMBER, vol.id, SERVER, connector=CONNECTOR)
    vs.attachments.complete(MEMBER, att.id)
    with pytest.raises(errors.Forbidden):
        vs.attachments.force_detach(MEMBER, vol.id)
    vs.attachments.force_detach(ADMIN, vol.id)
    assert status(vs, vol.id) == ("available", "detached")


def test_reset_attach_status_detached_drops_attachments(vs, vol):
    vs.attachments.create(MEMBER, vol.id, SERVER, connector=CONNECTOR)
    vs.volumes.reset_status(ADMIN, vol.id, status="available", attach_status="detached")
    assert vs.attachments.list(MEMBER) == []
