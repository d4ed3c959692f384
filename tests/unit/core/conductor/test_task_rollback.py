"""core/conductor/tasks.py: a build or a resize whose step fails rolls back what
its own run took (claims, addresses, quota, the parked allocation) and ends
where the user can see it, instead of holding resources in a state no one will
move it out of."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core.compute import states
from core.compute.models import Instance, InstanceFault
from core.compute.usage import migration_consumer, quota_deltas
from core.conductor.wiring import build_conductor
from core.db import Database
from core.db.migrate import upgrade
from core.placement import claims
from core.placement.models import Allocation, ComputeNode
from core.services import build_core
from core.settings import load_settings

FLAVOR = {"flavorid": "1", "name": "m1.tiny", "vcpus": 1, "memory_mb": 512, "root_gb": 1,
          "ephemeral_gb": 0, "swap": 0}
BIGGER = {**FLAVOR, "flavorid": "2", "name": "m1.small", "vcpus": 2, "memory_mb": 1024}
RESOURCES = {"vcpus": 1, "memory_mb": 512, "disk_gb": 1}


class BrokenBus:
    """A bus whose casts to compute agents fail (the broker went away mid-flow)."""

    def __init__(self) -> None:
        self.casts: list[str] = []

    def cast(self, topic: str, method: str, payload: dict, server: str | None = None) -> None:
        self.casts.append(method)
        if topic == "compute":
            raise ConnectionError("the broker is gone")

    def notify(self, *args: Any, **kwargs: Any) -> None:
        pass

    def call(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the scheduler runs in-process here")

    def close(self) -> None:
        pass


class OneHostScheduler:
    """Chooses ``host`` and claims on it, as the scheduler does."""

    def __init__(self, db: Database, host: str) -> None:
        self.db, self.host = db, host

    def select_destinations(self, spec: dict) -> list[list[dict]]:
        node = node_id(self.db, self.host)
        out = []
        for uuid in spec["instance_uuids"]:
            resources = {"vcpus": spec["flavor"]["vcpus"],
                         "memory_mb": spec["flavor"]["memory_mb"], "disk_gb": 1}
            assert claims.claim_resources(self.db, uuid, node, resources, "p")
            out.append([{"host": self.host, "nodename": self.host, "node_id": node}])
        return out


def node_id(db: Database, host: str) -> int:
    with db.session() as s:
        return s.scalar(select(ComputeNode.id).where(ComputeNode.host == host))


@pytest.fixture
def plane(tmp_path):
    settings = load_settings({}, data_dir=tmp_path, fixed_range="10.9.0.0/28")
    db = Database(settings.effective_database_url)
    upgrade(db)
    with db.session() as s:
        for host in ("h1", "h2"):
            s.add(ComputeNode(host=host, hypervisor_hostname=host, vcpus=4, memory_mb=4096,
                              local_gb=40))
    core = build_core(settings, db=db, bus=BrokenBus())
    yield core
    db.dispose()


def make_instance(core, **values) -> str:
    with core.db.session() as s:
        core.quotas.reserve(s, "p", quota_deltas(values.get("flavor", FLAVOR)))
        inst = Instance(display_name="vm", project_id="p", user_id="u", flavor=FLAVOR,
                        flavorid="1", vcpus=1, memory_mb=512, root_gb=1, reservation_id="r-1",
                        quota_held=True, **values)
        s.add(inst)
        s.flush()
        return inst.uuid


def allocations(db: Database) -> list[tuple[str, str]]:
    with db.session() as s:
        return sorted(s.execute(select(Allocation.consumer_uuid, ComputeNode.host).join(
            ComputeNode, ComputeNode.id == Allocation.node_id)).tuples().all())


def test_a_build_that_cannot_reach_its_host_gives_everything_back(plane):
    uuid = make_instance(plane, vm_state=states.BUILDING, task_state=states.SCHEDULING)
    conductor = build_conductor(plane, scheduler=OneHostScheduler(plane.db, "h1"))
    with pytest.raises(ConnectionError):
        conductor.build_instances([uuid], {"flavor": FLAVOR, "image": {"id": "img"}})
    inst = plane.instances.get(uuid)
    assert (inst.vm_state, inst.task_state, inst.host) == (states.ERROR, None, None)
    assert allocations(plane.db) == []  # the claim this run took is given back
    with plane.db.session() as s:
        assert s.scalar(select(ComputeNode.vcpus_used).where(ComputeNode.host == "h1")) == 0
        fault = s.scalar(select(InstanceFault).where(InstanceFault.instance_uuid == uuid))
    assert fault is not None and "aborted" in fault.message
    assert plane.ipam.addresses_for([uuid]).get(uuid, []) == []
    assert plane.quotas.usage("p")["instances"] == 0


def test_a_build_whose_scheduler_fails_does_not_stay_in_build(plane):
    uuid = make_instance(plane, vm_state=states.BUILDING, task_state=states.SCHEDULING)

    class Failing:
        def select_destinations(self, spec: dict) -> list[list[dict]]:
            raise RuntimeError("the scheduler's database is gone")

    with pytest.raises(RuntimeError):
        build_conductor(plane, scheduler=Failing()).build_instances(
            [uuid], {"flavor": FLAVOR, "image": {}})
    assert plane.instances.get(uuid).vm_state == states.ERROR
    assert plane.quotas.usage("p")["instances"] == 0


def test_a_resize_that_cannot_reach_its_destination_puts_the_instance_back(plane):
    uuid = make_instance(plane, vm_state=states.ACTIVE, task_state=states.RESIZE_PREP,
                         host="h1", node="h1", power_state=states.RUNNING,
                         new_flavor=BIGGER)
    assert claims.claim_resources(plane.db, uuid, node_id(plane.db, "h1"), RESOURCES, "p")
    with plane.db.session() as s:
        plane.quotas.reserve(s, "p", {"cores": 1, "ram": 512})  # what the API took for it
    conductor = build_conductor(plane, scheduler=OneHostScheduler(plane.db, "h2"))
    with pytest.raises(ConnectionError):
        conductor.resize_instance(uuid, {"flavor": BIGGER, "image": {}})
    inst = plane.instances.get(uuid)
    assert (inst.vm_state, inst.task_state, inst.new_flavor) == (states.ACTIVE, None, None)
    # The destination's claim is gone and the parked source allocation is back.
    assert allocations(plane.db) == [(uuid, "h1")]
    assert migration_consumer(uuid) not in {c for c, _ in allocations(plane.db)}
    used = plane.quotas.usage("p")
    assert (used["cores"], used["ram"]) == (1, 512)


def test_a_resize_handed_over_is_not_rolled_back(plane):
    uuid = make_instance(plane, vm_state=states.ACTIVE, task_state=states.RESIZE_PREP,
                         host="h1", node="h1", new_flavor=BIGGER)
    assert claims.claim_resources(plane.db, uuid, node_id(plane.db, "h1"), RESOURCES, "p")
    plane.bus.cast = lambda *a, **k: None  # type: ignore[method-assign]
    build_conductor(plane, scheduler=OneHostScheduler(plane.db, "h2")).resize_instance(
        uuid, {"flavor": BIGGER, "image": {}})
    assert plane.instances.get(uuid).task_state == states.RESIZE_MIGRATING
    assert allocations(plane.db) == sorted([(uuid, "h2"), (migration_consumer(uuid), "h1")])
