"""The conductor's side of attaching volumes to servers: the reservation with
the server's next device name, the agent's report that completes it, detach,
the volumes of a deleted server; every message delivered twice changes
nothing twice."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.compute.server_volumes import context_message
from core.conductor.wiring import build_conductor
from core.volume.models import DEFAULT_TYPE, Volume, VolumeAttachment, VolumeType
from tests.support.core_services import (
    MEMBER,
    OTHER,
    RecordingBus,
    add_compute_host,
    add_instance,
    make_core,
)

CONNECTOR = {"host": "h1", "ip": "127.0.0.1", "initiator": "iqn.test:h1", "mountpoint": None}


@pytest.fixture
def setup(tmp_path):
    bus = RecordingBus()
    core = make_core(tmp_path, bus, fixed_range="10.9.0.0/28")
    yield core, build_conductor(core), bus
    core.db.dispose()


def add_volume(db, project_id="p1", status="available", size=1) -> str:
    with db.session() as s:
        type_id = s.scalar(select(VolumeType.id).where(VolumeType.name == DEFAULT_TYPE))
        vol = Volume(project_id=project_id, user_id="u1", size=size, status=status,
                     volume_type_id=type_id, host="h@lvm#pool1", availability_zone="nova")
        s.add(vol)
        s.flush()
        return vol.id


def volume(db, volume_id) -> Volume | None:
    with db.session() as s:
        return s.get(Volume, volume_id)


def attachments(db, volume_id) -> list[VolumeAttachment]:
    with db.session() as s:
        return list(s.scalars(select(VolumeAttachment).where(
            VolumeAttachment.volume_id == volume_id)))


def attach(conductor, uuid, vol, ctx=MEMBER, **kw) -> dict:
    return conductor.attach_volume(uuid, vol, context_message(ctx), **kw)


def test_attach_reserves_with_the_next_device_and_casts_the_agent(setup):
    core, conductor, bus = setup
    uuid = add_instance(core.db)
    vol = add_volume(core.db)
    answer = attach(conductor, uuid, vol, device="/dev/sdf")
    assert answer["ok"], answer
    att = answer["attachment"]
    assert att["mountpoint"] == "/dev/vdb"  # the name asked for is ignored, as libvirt does
    assert volume(core.db, vol).status == "reserved"
    payload, host = bus.last("attach_volume")
    assert host == "h1" and payload["attachment"]["id"] == att["id"]
    second = attach(conductor, uuid, add_volume(core.db))
    assert second["attachment"]["mountpoint"] == "/dev/vdc"


def test_a_redelivered_attach_changes_nothing_twice(setup):
    core, conductor, bus = setup
    uuid = add_instance(core.db)
    vol = add_volume(core.db)
    first = attach(conductor, uuid, vol)
    again = attach(conductor, uuid, vol)
    assert again["ok"] and again["attachment"]["id"] == first["attachment"]["id"]
    assert again["attachment"]["mountpoint"] == "/dev/vdb"
    assert len(attachments(core.db, vol)) == 1
    # the agent's report, twice: completed once, in-use
    report = (uuid, first["attachment"]["id"], "h1", dict(CONNECTOR, mountpoint="/dev/vdb"))
    assert conductor.volume_attached(*report) == {"ok": True}
    assert conductor.volume_attached(*report)["repeated"]
    assert volume(core.db, vol).status == "in-use"
    (row,) = attachments(core.db, vol)
    assert row.attach_status == "attached" and row.attached_host == "h1"
    # and an attach redelivered after that finds the attachment done: no new cast
    casts = bus.methods().count("attach_volume")
    assert attach(conductor, uuid, vol)["attachment"]["attach_status"] == "attached"
    assert bus.methods().count("attach_volume") == casts
    assert len(attachments(core.db, vol)) == 1


def test_a_volume_in_use_elsewhere_is_refused(setup):
    core, conductor, _ = setup
    vol = add_volume(core.db)
    assert attach(conductor, add_instance(core.db), vol)["ok"]
    refused = attach(conductor, add_instance(core.db), vol)
    assert refused["ok"] is False and refused["category"] == "invalid"
    assert "Invalid volume" in refused["message"]


def test_another_projects_volume_is_not_found(setup):
    core, conductor, _ = setup
    vol = add_volume(core.db, project_id="p2")
    answer = attach(conductor, add_instance(core.db), vol)
    assert answer["ok"] is False and answer["category"] == "not_found"
    assert attach(conductor, add_instance(core.db, project_id="p2"), vol, ctx=OTHER)["ok"]


def test_a_failed_connection_gives_the_volume_back(setup):
    core, conductor, _ = setup
    uuid = add_instance(core.db)
    vol = add_volume(core.db)
    att = attach(conductor, uuid, vol)["attachment"]
    result = conductor.volume_attached(uuid, att["id"], "h1", CONNECTOR, error="boom")
    assert result["ok"] is False
    assert volume(core.db, vol).status == "available" and attachments(core.db, vol) == []


def attached(core, conductor, uuid, **kw) -> tuple[str, str]:
    vol = add_volume(core.db)
    att = attach(conductor, uuid, vol, **kw)["attachment"]
    assert conductor.volume_attached(uuid, att["id"], "h1", CONNECTOR)["ok"]
    return vol, att["id"]


def test_detach_through_the_agent_twice_delivered(setup):
    core, conductor, bus = setup
    uuid = add_instance(core.db)
    vol, att = attached(core, conductor, uuid)
    core.volumes.attachments.begin_detaching(MEMBER, vol)
    conductor.detach_volume(uuid, att)
    payload, host = bus.last("detach_volume")
    assert host == "h1" and payload["attachment"]["id"] == att
    assert conductor.volume_detached(uuid, att, "h1") == {"ok": True}
    assert conductor.volume_detached(uuid, att, "h1")["repeated"]
    conductor.detach_volume(uuid, att)  # redelivered: nothing left to detach
    assert volume(core.db, vol).status == "available" and attachments(core.db, vol) == []


def test_a_failed_detach_leaves_the_volume_in_use(setup):
    core, conductor, _ = setup
    uuid = add_instance(core.db)
    vol, att = attached(core, conductor, uuid)
    core.volumes.attachments.begin_detaching(MEMBER, vol)
    assert conductor.volume_detached(uuid, att, "h1", error="busy")["ok"] is False
    assert volume(core.db, vol).status == "in-use"


def test_server_delete_detaches_and_deletes_on_termination(setup):
    core, conductor, _ = setup
    uuid = add_instance(core.db, host=None)
    kept, _ = attached(core, conductor, uuid)
    dropped, _ = attached(core, conductor, uuid, delete_on_termination=True)
    conductor.delete_instance(uuid)  # no host: deleted in the database at once
    conductor.delete_instance(uuid)
    assert volume(core.db, kept).status == "available"
    gone = volume(core.db, dropped)
    assert gone is None or gone.status == "deleting"
    with core.db.session() as s:
        assert s.scalar(select(func.count()).select_from(VolumeAttachment)) == 0


def test_a_moved_server_has_its_volumes_connected_on_the_new_host(setup):
    """A live migration (or resize, evacuation) ends on h2: each attached volume's
    attachment has h2's connector, the volume stays in-use throughout; again, no
    change."""
    core, conductor, bus = setup
    add_compute_host(core.db, "h2", host_ip="10.0.0.2")
    uuid = add_instance(core.db)
    vol = add_volume(core.db)
    att = attach(conductor, uuid, vol)["attachment"]
    conductor.volume_attached(uuid, att["id"], "h1", dict(CONNECTOR, mountpoint="/dev/vdb"))
    core.instances.update(uuid, {"task_state": "migrating"})
    assert conductor.live_migration_finished(uuid, "h2")["ok"]
    (row,) = attachments(core.db, vol)
    assert (row.attach_status, row.attached_host) == ("attached", "h2")
    assert row.connector["host"] == "h2" and row.connector["ip"] == "10.0.0.2"
    assert row.connector["mountpoint"] == "/dev/vdb"
    assert volume(core.db, vol).status == "in-use"
    assert conductor.live_migration_finished(uuid, "h2") == {"ok": False}  # again
    assert attachments(core.db, vol)[0].connector == row.connector
