"""Attaches and detaches stuck half-way (an agent or conductor killed, a message
lost): a conductor's periodic check sends them to a live host again, or rolls
them back when the server or its host is gone; conductors checking at once act
on each once; what is not Nova's, or still building, is left alone."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from core.clock import utcnow
from core.compute import states
from core.compute.models import ComputeService, Instance
from core.conductor.recovery import BuildWatch
from core.conductor.volume_recovery import AttachmentRecovery, Recovered
from core.conductor.wiring import build_conductor
from core.volume.models import VolumeAttachment
from tests.support.core_services import MEMBER, RecordingBus, add_instance, make_core
from tests.unit.core.conductor.test_volume_attach import (
    CONNECTOR,
    add_volume,
    attach,
    attached,
    attachments,
    volume,
)


@pytest.fixture
def setup(tmp_path):
    bus = RecordingBus()
    core = make_core(tmp_path, bus, fixed_range="10.9.0.0/28")
    conductor = build_conductor(core)
    yield core, conductor, bus, AttachmentRecovery(conductor.deps)
    core.db.dispose()


def host_up(db, host="h1", seen_ago: float = 0.0) -> None:
    with db.session() as s:
        s.add(ComputeService(host=host, binary="nova-compute", topic="compute",
                             last_seen_up=utcnow() - timedelta(seconds=seen_ago)))


def reserved(core, conductor, uuid) -> tuple[str, str]:
    vol = add_volume(core.db)
    answer = attach(conductor, uuid, vol)
    assert answer["ok"], answer
    return vol, answer["attachment"]["id"]


def test_nothing_is_touched_before_the_timeout(setup):
    core, conductor, bus, recovery = setup
    host_up(core.db)
    vol, _ = reserved(core, conductor, add_instance(core.db))
    casts = len(bus.casts)
    assert not recovery.recover(3600)
    assert len(bus.casts) == casts and volume(core.db, vol).status == "reserved"


def test_a_stuck_attach_on_a_live_host_is_sent_again_and_completes(setup):
    core, conductor, bus, recovery = setup
    host_up(core.db)
    uuid = add_instance(core.db)
    vol, att = reserved(core, conductor, uuid)
    bus.casts.clear()  # the first cast was lost with the agent
    done = recovery.recover(0)
    assert done.attach_resent == [att] and not done.attach_rolled_back
    payload, host = bus.last("attach_volume")
    assert host == "h1" and payload["attachment"]["id"] == att
    assert payload["instance"]["uuid"] == uuid
    # touched: the next check within the timeout leaves it to the agent
    assert not recovery.recover(60)
    # the agent's report (twice, as an agent that had connected it reports again)
    assert conductor.volume_attached(uuid, att, "h1", dict(CONNECTOR, host="h1"))["ok"]
    assert conductor.volume_attached(uuid, att, "h1", CONNECTOR)["repeated"]
    assert volume(core.db, vol).status == "in-use"
    assert not recovery.recover(0)


def test_an_attach_stuck_attaching_is_sent_again(setup):
    core, conductor, bus, recovery = setup
    host_up(core.db)
    uuid = add_instance(core.db)
    vol, att = reserved(core, conductor, uuid)
    core.volumes.attachments.update(MEMBER, att, CONNECTOR)  # a conductor died here
    assert volume(core.db, vol).status == "attaching"
    assert recovery.recover(0).attach_resent == [att]
    assert conductor.volume_attached(uuid, att, "h1", CONNECTOR)["ok"]
    assert volume(core.db, vol).status == "in-use"


@pytest.mark.parametrize("case", ["host down", "no service", "no host", "deleted",
                                  "deleting"])
def test_a_stuck_attach_with_no_live_host_is_rolled_back(setup, case):
    core, conductor, bus, recovery = setup
    if case == "host down":
        host_up(core.db, seen_ago=3600)
    elif case != "no service":
        host_up(core.db)
    uuid = add_instance(core.db)
    vol, att = reserved(core, conductor, uuid)
    values = {"no host": {"host": None}, "deleted": {"deleted": True},
              "deleting": {"task_state": "deleting"}}.get(case)
    if values:
        with core.db.session() as s:
            s.execute(update(Instance).where(Instance.uuid == uuid).values(**values))
    bus.casts.clear()
    done = recovery.recover(0)
    assert done.attach_rolled_back == [att] and not done.attach_resent
    assert "attach_volume" not in bus.methods()
    assert volume(core.db, vol).status == "available" and attachments(core.db, vol) == []


def test_attachments_not_novas_or_of_a_building_server_are_left_alone(setup):
    core, conductor, bus, recovery = setup
    host_up(core.db)
    plain = add_volume(core.db)
    core.volumes.attachments.create(MEMBER, plain, None)  # the Cinder API alone
    foreign = add_volume(core.db)
    core.volumes.attachments.create(MEMBER, foreign, "7c6b1a6e-0000-4000-8000-000000000000")
    building = add_instance(core.db, vm_state=states.BUILDING, task_state="spawning")
    vol, _ = reserved(core, conductor, building)
    shelved = add_instance(core.db, vm_state="shelved_offloaded", host=None)
    kept, _ = reserved(core, conductor, shelved)
    assert not recovery.recover(0)
    assert {volume(core.db, v).status
            for v in (plain, foreign, vol, kept)} == {"reserved"}


def test_two_conductors_checking_at_once_act_once(setup):
    core, conductor, bus, recovery = setup
    host_up(core.db)
    vol, att = reserved(core, conductor, add_instance(core.db))
    other = AttachmentRecovery(build_conductor(core, "other").deps)
    cutoff = utcnow()
    bus.casts.clear()
    first, second = Recovered(), Recovered()
    recovery._attach(att, cutoff, first)
    other._attach(att, cutoff, second)
    assert first.attach_resent == [att] and not second
    assert bus.methods().count("attach_volume") == 1


def detaching(core, conductor, uuid) -> tuple[str, str]:
    vol, att = attached(core, conductor, uuid)
    core.volumes.attachments.begin_detaching(MEMBER, vol)
    return vol, att


def test_a_stuck_detach_on_a_live_host_is_sent_again(setup):
    core, conductor, bus, recovery = setup
    host_up(core.db)
    uuid = add_instance(core.db)
    vol, att = detaching(core, conductor, uuid)
    done = recovery.recover(0)
    assert done.detach_resent == [vol]
    payload, host = bus.last("detach_volume")
    assert host == "h1" and payload["attachment"]["id"] == att
    assert not recovery.recover(60)
    assert conductor.volume_detached(uuid, att, "h1")["ok"]
    assert volume(core.db, vol).status == "available" and attachments(core.db, vol) == []


def test_a_stuck_detach_on_a_down_host_goes_back_in_use(setup):
    core, conductor, bus, recovery = setup
    host_up(core.db, seen_ago=3600)
    vol, att = detaching(core, conductor, add_instance(core.db))
    assert recovery.recover(0).detach_rolled_back == [vol]
    assert volume(core.db, vol).status == "in-use"
    assert [a.attach_status for a in attachments(core.db, vol)] == ["attached"]


@pytest.mark.parametrize("values", [{"deleted": True}, {"host": None}])
def test_a_stuck_detach_of_a_server_gone_or_hostless_finishes(setup, values):
    core, conductor, bus, recovery = setup
    host_up(core.db)
    uuid = add_instance(core.db)
    vol, _ = detaching(core, conductor, uuid)
    with core.db.session() as s:
        s.execute(update(Instance).where(Instance.uuid == uuid).values(**values))
    assert recovery.recover(0).detach_finished == [vol]
    assert volume(core.db, vol).status == "available" and attachments(core.db, vol) == []


def test_a_detaching_volume_with_no_attachment_left_is_available(setup):
    core, conductor, bus, recovery = setup
    vol, att = detaching(core, conductor, add_instance(core.db))
    with core.db.session() as s:  # as if its attachment went by another way
        s.execute(update(VolumeAttachment).where(VolumeAttachment.id == att)
                  .values(attach_status="detached"))
    assert recovery.recover(0).detach_finished == [vol]
    assert volume(core.db, vol).status == "available"


def test_the_watch_runs_the_attachment_check(setup):
    core, conductor, bus, recovery = setup
    host_up(core.db, seen_ago=3600)
    vol, _ = reserved(core, conductor, add_instance(core.db))
    watch = BuildWatch(conductor.recovery, 0, 60, recovery, attach_timeout=0.01)
    time.sleep(0.05)
    watch.check()
    assert volume(core.db, vol).status == "available"
    off = BuildWatch(conductor.recovery, 0, 60, recovery, attach_timeout=0)
    vol2, _ = reserved(core, conductor, add_instance(core.db))
    off.check()
    assert volume(core.db, vol2).status == "reserved"
