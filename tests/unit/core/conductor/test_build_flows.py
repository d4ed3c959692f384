"""The control plane in one process (SQLite, in-memory bus): builds, rescheduling,
No valid host, dead hosts, deletes, power actions and their notifications."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from core.compute import states
from core.compute.bootstrap import ensure_default_flavors
from core.compute.models import (
    ComputeService,
    Instance,
    InstanceAction,
    InstanceActionEvent,
    InstanceFault,
)
from core.compute.servers import BootRequest
from core.context import RequestContext
from core.control_plane import ControlPlane
from core.db import Database
from core.db.migrate import upgrade
from core.image.models import Image
from core.messaging import Bus
from core.network.bootstrap import ensure_default_networks
from core.placement.changes import note_hosts_changed
from core.placement.models import Allocation, ComputeNode
from core.quota.models import QuotaLimit
from core.services import build_core
from core.settings import load_settings

CTX = RequestContext(user_id="u1", project_id="p1", roles=("member", "reader"))


class Plane:
    def __init__(self, tmp_path, **overrides):
        self.settings = load_settings({}, data_dir=tmp_path, compute_hosts=3,
                                      report_interval=0.2, **overrides)
        self.db = Database(self.settings.effective_database_url)
        upgrade(self.db)
        ensure_default_flavors(self.db)
        ensure_default_networks(self.db, self.settings, "p-admin")
        self.bus = Bus("memory://", namespace=f"t{uuid.uuid4().hex[:8]}")
        self.core = build_core(self.settings, db=self.db, bus=self.bus)
        self.images = self.core.images
        with self.db.session() as s:
            s.add(Image(id="11111111-1111-1111-1111-111111111111", name="cirros",
                        status="active", visibility="public", owner="admin", size=1 << 20,
                        disk_format="raw", container_format="bare", tags=[], properties={}))
        self.servers = self.core.servers
        self.actions = self.core.server_actions
        self.plane = ControlPlane(self.core, conductors=2, schedulers=1)
        self.events: list[tuple[str, dict]] = []
        self.listener = self.bus.listen_notifications(
            lambda event, payload: self.events.append((event, payload)))

    def start(self):
        self.listener.start()
        self.plane.start()
        return self

    def stop(self):
        self.plane.stop()
        self.listener.stop()
        self.bus.close()
        self.db.dispose()

    def boot(self, count=1, flavor="1", **kw) -> list[str]:
        req = BootRequest(name="vm", image_ref="11111111-1111-1111-1111-111111111111",
                          flavor_ref=flavor, min_count=count, max_count=count, **kw)
        return [i.uuid for i in self.servers.create(CTX, req)[1]]

    def wait(self, uuids, predicate, timeout=20.0) -> list[Instance]:
        deadline = time.monotonic() + timeout
        while True:
            with self.db.session() as s:
                rows = list(s.scalars(select(Instance).where(Instance.uuid.in_(uuids))))
            if len(rows) == len(uuids) and all(predicate(r) for r in rows):
                return rows
            if time.monotonic() > deadline:
                raise AssertionError([(r.uuid, r.vm_state, r.task_state) for r in rows])
            time.sleep(0.05)

    def agent(self, host):
        return next(a for a in self.plane.agents if a.host == host)


def active(i):
    return i.vm_state == states.ACTIVE and i.task_state is None


def metric(plane: Plane, name: str, **labels: str) -> float | None:
    """A sample of the process's Prometheus registry (core/metrics.py)."""
    return plane.core.metrics.registry.get_sample_value(name, labels)


@pytest.fixture
def plane(tmp_path):
    p = Plane(tmp_path).start()
    yield p
    p.stop()


def test_build_spreads_and_notifies(plane):
    uuids = plane.boot(count=3)
    rows = plane.wait(uuids, active)
    assert all(r.host and r.host.startswith("compute-") for r in rows)
    assert all(r.power_state == states.RUNNING and r.launched_at for r in rows)
    assert len({r.host for r in rows}) == 3  # RAM weigher spreads
    addresses = plane.servers.addresses(uuids)
    assert len({a[0].address for a in addresses.values()}) == 3
    time.sleep(0.3)
    ends = [p for e, p in plane.events if e == "compute.instance.create.end"]
    assert sorted(p["instance_id"] for p in ends) == sorted(uuids)
    assert {"tenant_id", "user_id", "instance_type", "memory_mb", "host", "state",
            "fixed_ips", "launched_at"} <= set(ends[0])
    assert any(e == "compute.instance.create.start" for e, _ in plane.events)
    with plane.db.session() as s:
        used = {n.host: n.memory_mb_used for n in s.scalars(select(ComputeNode))}
        assert sum(used.values()) == 3 * 512
        assert s.scalar(select(Allocation).where(Allocation.consumer_uuid == uuids[0]))
    assert metric(plane, "nimbus_instance_builds_total", outcome="ACTIVE") == 3
    assert metric(plane, "nimbus_instance_builds_total", outcome="ERROR") == 0
    assert metric(plane, "nimbus_scheduling_duration_seconds_count", outcome="selected") == 1


def test_failed_spawn_reschedules_to_an_alternate(plane):
    plane.agent("compute-1").driver.fail_next = 1
    with plane.db.session() as s:  # the RAM weigher now prefers compute-1 (as reported)
        s.execute(update(ComputeNode).where(ComputeNode.host == "compute-1")
                  .values(memory_mb=ComputeNode.memory_mb * 2))
        note_hosts_changed(s, ["compute-1"])
    uuids = plane.boot()
    rows = plane.wait(uuids, active)
    assert rows[0].host != "compute-1"
    with plane.db.session() as s:
        node = s.scalar(select(ComputeNode).where(ComputeNode.host == "compute-1"))
        assert node.failed_builds == 1 and node.memory_mb_used == 0
    # the create action has each host's attempt, as Nova's build event (recorded
    # just after the state, as Nova finishes an event after the method)
    def events() -> list:
        with plane.db.session() as s:
            return list(s.execute(select(InstanceActionEvent.host, InstanceActionEvent.result)
                                  .join(InstanceAction)
                                  .where(InstanceAction.instance_uuid == uuids[0],
                                         InstanceAction.action == "create")
                                  .order_by(InstanceActionEvent.id)))
    deadline = time.monotonic() + 30
    while len(events()) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert events() == [("compute-1", "Error"), (rows[0].host, "Success")]


def test_all_hosts_fail_gives_error_and_releases(plane):
    for agent in plane.plane.agents:
        agent.driver.failure_rate = 1.0
    uuids = plane.boot()
    rows = plane.wait(uuids, lambda i: i.vm_state == states.ERROR)
    assert rows[0].host is None
    with plane.db.session() as s:
        fault = s.scalar(select(InstanceFault).where(InstanceFault.instance_uuid == uuids[0]))
        assert fault.message.startswith("Exhausted all hosts available for retrying build")
        assert not s.scalars(select(Allocation)).all()
        nodes = list(s.scalars(select(ComputeNode)))
        assert all(n.memory_mb_used == 0 for n in nodes)
        assert sum(n.failed_builds for n in nodes) == 3  # max_attempts hosts tried
    assert plane.servers.quotas.usage("p1").get("instances", 0) == 0
    assert plane.servers.addresses(uuids).get(uuids[0], []) == []


def test_no_valid_host(plane):
    plane.wait(plane.boot(), active)
    with plane.db.session() as s:  # as the agents would report it
        s.execute(update(ComputeNode).values(memory_mb=1024))
        note_hosts_changed(s, [agent.host for agent in plane.plane.agents])
    uuids = plane.boot(flavor="2")  # 2 GiB no longer fits anywhere
    rows = plane.wait(uuids, lambda i: i.vm_state == states.ERROR)
    with plane.db.session() as s:
        fault = s.scalar(select(InstanceFault).where(InstanceFault.instance_uuid == rows[0].uuid))
    assert fault.message == "No valid host was found. There are not enough hosts available."
    assert plane.servers.quotas.usage("p1")["instances"] == 1
    assert metric(plane, "nimbus_instance_builds_total", outcome="ACTIVE") == 1
    assert metric(plane, "nimbus_instance_builds_total", outcome="ERROR") == 1
    assert metric(plane, "nimbus_scheduling_duration_seconds_count",
                  outcome="no_valid_host") == 1


def test_dead_host_is_skipped(plane):
    plane.agent("compute-2").stop()
    with plane.db.session() as s:
        s.execute(update(ComputeService).where(ComputeService.host == "compute-2")
                  .values(last_seen_up=datetime.now(UTC) - timedelta(hours=1)))
    uuids = plane.boot(count=4)
    rows = plane.wait(uuids, active)
    assert "compute-2" not in {r.host for r in rows}


def test_disabled_host_gets_nothing(plane):
    with plane.db.session() as s:
        s.execute(update(ComputeService).where(ComputeService.host == "compute-3")
                  .values(disabled=True))
    rows = plane.wait(plane.boot(count=4), active)
    assert "compute-3" not in {r.host for r in rows}


def test_power_actions_delete_and_notifications(plane):
    uuid_ = plane.boot()[0]
    plane.wait([uuid_], active)
    plane.actions.stop(CTX, uuid_)
    plane.wait([uuid_], lambda i: i.vm_state == states.STOPPED and i.task_state is None
               and i.power_state == states.SHUTDOWN)
    plane.actions.start(CTX, uuid_)
    plane.wait([uuid_], active)
    plane.actions.reboot(CTX, uuid_, hard=False)
    plane.wait([uuid_], active)
    out = plane.actions.console_output(CTX, uuid_, None)
    assert "reboot: Restarting system" in out
    plane.servers.delete(CTX, uuid_)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with plane.db.session() as s:
            inst = s.scalar(select(Instance).where(Instance.uuid == uuid_))
        if inst.deleted:
            break
        time.sleep(0.05)
    assert inst.deleted and inst.vm_state == states.DELETED
    time.sleep(0.3)
    names = [e for e, _ in plane.events]
    for event in ("compute.instance.power_off.start", "compute.instance.power_off.end",
                  "compute.instance.power_on.end", "compute.instance.reboot.end",
                  "compute.instance.delete.start", "compute.instance.delete.end"):
        assert event in names, event
    assert plane.servers.quotas.usage("p1").get("instances", 0) == 0
    with plane.db.session() as s:
        assert not s.scalars(select(Allocation)).all()


def test_concurrent_boots_respect_quota(plane):
    with plane.db.session() as s:
        s.add(QuotaLimit(project_id="p1", user_id="", resource="instances", hard_limit=10))
    results: list[object] = []

    def boot():
        try:
            results.append(plane.boot()[0])
        except Exception as exc:  # noqa: BLE001
            results.append(exc)

    threads = [threading.Thread(target=boot) for _ in range(25)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    booted = [r for r in results if isinstance(r, str)]
    assert len(booted) == 10
    assert all("Quota exceeded for instances" in str(r) for r in results
               if not isinstance(r, str))


def test_snapshot_of_a_server_deleted_meanwhile_leaves_no_image(plane):
    uuid_ = plane.boot()[0]
    plane.wait([uuid_], active)
    agent = plane.agent(plane.wait([uuid_], active)[0].host)
    agent.driver.operation_time = 0.3  # the delete overtakes the snapshot
    image_id = plane.actions.create_image(CTX, uuid_, "snap", {})
    plane.servers.delete(CTX, uuid_)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with plane.db.session() as s:
            image = s.get(Image, image_id)
        if image is None:
            break
        time.sleep(0.05)
    assert image is None


def test_snapshot_is_stored_and_active(plane):
    uuid_ = plane.boot()[0]
    plane.wait([uuid_], active)
    image_id = plane.actions.create_image(CTX, uuid_, "snap", {"purpose": "test"})
    plane.wait([uuid_], active)
    with plane.db.session() as s:
        image = s.get(Image, image_id)
    assert image.status == "active" and image.size > 0
    assert image.properties["image_type"] == "snapshot"
    assert image.properties["instance_uuid"] == uuid_
    assert image.properties["purpose"] == "test"
