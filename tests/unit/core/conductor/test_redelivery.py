"""The conductor handling a message a second time, as RabbitMQ redelivers the messages
of a conductor killed mid-flow: the first delivery's database work is committed,
what came after it (an address, a reply, a notification) may be missing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.compute import states
from core.compute.models import Instance, InstanceAction
from core.conductor.wiring import build_conductor
from core.db import Database
from core.db.migrate import upgrade
from core.placement import claims
from core.placement.models import Allocation, ComputeNode
from core.services import build_core
from core.settings import load_settings
from tests.support.network import ensure_networks

FLAVOR = {"flavorid": "1", "name": "m1.tiny", "vcpus": 1, "memory_mb": 512, "root_gb": 1,
          "ephemeral_gb": 0, "swap": 0}
RESOURCES = {"vcpus": 1, "memory_mb": 512, "disk_gb": 1}


class RecordingBus:
    """Casts and notifications, kept; calls are not expected."""

    def __init__(self) -> None:
        self.casts: list[tuple[str, str, dict, str | None]] = []
        self.notifications: list[tuple[str, dict]] = []

    def cast(self, topic, method, payload, server=None):
        self.casts.append((topic, method, payload, server))

    def notify(self, event_type, payload, priority="info"):
        self.notifications.append((event_type, payload))

    def call(self, *args, **kwargs):
        raise AssertionError(f"unexpected call {args}")

    def ends(self) -> list[str]:
        return [p["instance_id"] for e, p in self.notifications
                if e == "compute.instance.create.end"]


@pytest.fixture
def setup(tmp_path):
    settings = load_settings({}, data_dir=tmp_path, fixed_range="10.9.0.0/28")
    db = Database(settings.effective_database_url)
    upgrade(db)
    ensure_networks(db, fixed_range="10.9.0.0/28")
    with db.session() as s:
        for host in ("h1", "h2"):
            s.add(ComputeNode(host=host, hypervisor_hostname=host, vcpus=4, memory_mb=4096,
                              local_gb=40))
    bus = RecordingBus()
    core = build_core(settings, db=db, bus=bus)
    yield build_conductor(core), db, bus
    db.dispose()


def node_id(db, host) -> int:
    with db.session() as s:
        return s.scalar(select(ComputeNode.id).where(ComputeNode.host == host))


def make_instance(db, task_state, host=None, vm_state=states.BUILDING) -> str:
    with db.session() as s:
        inst = Instance(display_name="vm", project_id="p", user_id="u", flavor=FLAVOR,
                        flavorid="1", vcpus=1, memory_mb=512, root_gb=1, reservation_id="r-1",
                        vm_state=vm_state, task_state=task_state, host=host, node=host)
        s.add(inst)
        s.flush()
        s.add(InstanceAction(instance_uuid=inst.uuid, action="create", request_id="req-1",
                             user_id="u", project_id="p"))
        return inst.uuid


def test_build_redelivered_after_the_host_was_assigned_takes_the_address(setup):
    conductor, db, bus = setup
    # The first conductor set the host and died before taking an address.
    uuid = make_instance(db, states.NETWORKING, host="h1")
    conductor.build_instances([uuid], {"image": {"id": "img"}})
    assert [(m, server) for _, m, _, server in bus.casts] == [("build_and_run_instance", "h1")]
    assert len(conductor.deps.ipam.addresses_for([uuid])[uuid]) == 1
    conductor.build_instances([uuid], {"image": {"id": "img"}})  # and once more
    assert len(conductor.deps.ipam.addresses_for([uuid])[uuid]) == 1


def test_repeated_task_update_of_the_same_host_succeeds(setup):
    conductor, db, _ = setup
    uuid = make_instance(db, states.NETWORKING, host="h1")
    first = conductor.instance_update(uuid, {"task_state": states.SPAWNING},
                                      [states.NETWORKING], "h1")
    # Its reply was lost with the conductor; the agent's call comes again.
    again = conductor.instance_update(uuid, {"task_state": states.SPAWNING},
                                      [states.NETWORKING], "h1")
    assert first == {"ok": True} and again["ok"] is True
    other = conductor.instance_update(uuid, {"task_state": states.SPAWNING},
                                      [states.NETWORKING], "h2")
    assert other["ok"] is False  # another host's claim still loses


def test_build_success_reported_twice_announces_once(setup):
    conductor, db, bus = setup
    uuid = make_instance(db, states.SPAWNING, host="h1")
    assert conductor.build_succeeded(uuid, "h1", states.RUNNING) == {"ok": True}
    assert conductor.build_succeeded(uuid, "h1", states.RUNNING)["ok"] is False
    assert bus.ends() == [uuid]


def test_build_success_redelivered_after_the_commit_announces_it(setup):
    conductor, db, bus = setup
    # The first conductor committed ACTIVE and died before create.end went out.
    uuid = make_instance(db, states.SPAWNING, host="h1")
    conductor.deps.store.update(uuid, {"vm_state": states.ACTIVE, "task_state": None,
                                  "launched_at": Instance.created_at})
    assert conductor.build_succeeded(uuid, "h1", states.RUNNING) == {"ok": True}
    assert conductor.build_succeeded(uuid, "h1", states.RUNNING)["ok"] is False
    assert bus.ends() == [uuid]


def test_build_success_releases_claims_on_other_nodes(setup):
    conductor, db, _ = setup
    uuid = make_instance(db, states.SPAWNING, host="h1")
    # The chosen host's claim, and a stale scheduler call's claim on another node.
    for host in ("h1", "h2"):
        assert claims.claim_resources(db, uuid, node_id(db, host), RESOURCES, "p")
    conductor.build_succeeded(uuid, "h1", states.RUNNING)
    with db.session() as s:
        held = [(a.node_id, a.vcpus) for a in s.scalars(select(Allocation))]
        used = {n.host: (n.vcpus_used, n.running_vms) for n in s.scalars(select(ComputeNode))}
    assert held == [(node_id(db, "h1"), 1)]
    assert used == {"h1": (1, 1), "h2": (0, 0)}
