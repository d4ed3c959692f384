"""The core services in one process on SQLite, for unit tests that call them
directly: a bus that records what is cast instead of delivering it (so no
conductor, scheduler or agent is needed), the services built on it with
``build_core``, request contexts, and rows written straight into the database
(images, instances in any state, registered compute hosts)."""

from __future__ import annotations

import atexit
import datetime
import shutil
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Any

from core.compute import states
from core.compute.bootstrap import ensure_default_flavors
from core.compute.models import ComputeService, Instance
from core.context import RequestContext
from core.db import Database
from core.db.migrate import upgrade
from core.image.models import Image
from core.network.bootstrap import ensure_default_networks
from core.placement.changes import note_nodes_changed
from core.placement.models import ComputeNode
from core.services import CoreServices, build_core
from core.settings import Settings, load_settings

IMAGE_ID = "11111111-1111-1111-1111-111111111111"
# m1.tiny as an instance keeps it (FlavorService.to_snapshot).
TINY = {"flavorid": "1", "name": "m1.tiny", "vcpus": 1, "memory_mb": 512, "root_gb": 1,
        "ephemeral_gb": 0, "swap": 0, "rxtx_factor": 1.0, "extra_specs": {}}

MEMBER = RequestContext(user_id="u1", user_name="alice", project_id="p1",
                        roles=("member", "reader"), request_id="req-member")
OTHER = RequestContext(user_id="u2", user_name="bob", project_id="p2",
                       roles=("member", "reader"), request_id="req-other")
READER = RequestContext(user_id="u3", project_id="p1", roles=("reader",))
ADMIN = RequestContext(user_id="u-admin", user_name="admin", project_id="p-admin",
                       roles=("admin", "member", "reader"), is_admin=True,
                       request_id="req-admin")


class RecordingBus:
    """Keeps casts and notifications instead of delivering them; a ``call``
    answers from ``replies`` (by method) or fails the test."""

    def __init__(self) -> None:
        self.casts: list[tuple[str, str, dict, str | None]] = []
        self.notifications: list[tuple[str, dict]] = []
        self.replies: dict[str, Any] = {}

    def cast(self, topic: str, method: str, payload: dict, server: str | None = None) -> None:
        self.casts.append((topic, method, payload, server))

    def notify(self, event_type: str, payload: dict, priority: str = "info") -> None:
        self.notifications.append((event_type, payload))

    def call(self, topic: str, method: str, payload: dict, timeout: float = 30.0,
             server: str | None = None) -> Any:
        if method not in self.replies:
            raise AssertionError(f"unexpected call {topic}.{method}")
        reply = self.replies[method]
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def close(self) -> None:
        pass

    def methods(self) -> list[str]:
        return [method for _, method, _, _ in self.casts]

    def last(self, method: str) -> tuple[dict, str | None]:
        """The payload and server of the latest cast of ``method``."""
        for _, m, payload, server in reversed(self.casts):
            if m == method:
                return payload, server
        raise AssertionError(f"no {method} cast in {self.methods()}")

    def events(self) -> list[str]:
        return [event for event, _ in self.notifications]


_schema: list[Path] = []  # this process's migrated database, copied for each test


def migrated_database(settings: Settings) -> Database:
    """The settings' SQLite database, migrated to head: a copy of one database
    this process migrated once (the migrations take longer than most tests)."""
    if not _schema:
        folder = Path(tempfile.mkdtemp(prefix="nimbus-schema-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        template = Database(f"sqlite:///{folder / 'schema.db'}")
        upgrade(template)
        template.dispose()
        _schema.append(folder / "schema.db")
    url = settings.effective_database_url
    assert url.startswith("sqlite:///"), url
    with closing(sqlite3.connect(_schema[0])) as source, \
            closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as target:
        source.backup(target)
    return Database(url)


def make_core(tmp_path: Path, bus: RecordingBus, **overrides: Any) -> CoreServices:
    """Every core service on a new, migrated SQLite database in ``tmp_path``,
    with the default flavors (dispose ``core.db`` afterwards)."""
    settings = load_settings({}, data_dir=tmp_path, bcrypt_rounds=4, **overrides)
    db = migrated_database(settings)
    ensure_default_flavors(db)
    ensure_default_networks(db, settings, "p-admin")
    return build_core(settings, db=db, bus=bus)


def add_image(db: Database, image_id: str = IMAGE_ID, **fields: Any) -> str:
    """An image row (active, public, 1 MiB unless ``fields`` say otherwise)."""
    values: dict[str, Any] = dict(name="cirros", status="active", visibility="public",
                                  owner="p-admin", size=1 << 20, disk_format="raw",
                                  container_format="bare", tags=[], properties={})
    values.update(fields)
    with db.session() as s:
        s.add(Image(id=image_id, **values))
    return image_id


def add_instance(db: Database, *, project_id: str = "p1", user_id: str = "u1",
                 vm_state: str = states.ACTIVE, task_state: str | None = None,
                 host: str | None = "h1", flavor: dict | None = None,
                 **fields: Any) -> str:
    """An instance row in the given states, as if a build had run."""
    flavor = dict(flavor or TINY)
    values: dict[str, Any] = dict(
        display_name="vm", hostname="vm", project_id=project_id, user_id=user_id,
        image_ref=IMAGE_ID, flavor=flavor, flavorid=flavor["flavorid"],
        vcpus=flavor["vcpus"], memory_mb=flavor["memory_mb"], root_gb=flavor["root_gb"],
        vm_state=vm_state, task_state=task_state,
        power_state=states.RUNNING if vm_state == states.ACTIVE else states.SHUTDOWN,
        host=host, node=host, reservation_id="r-test0001", security_groups=["default"],
        metadata_items={})
    values.update(fields)
    with db.session() as s:
        inst = Instance(**values)
        s.add(inst)
        s.flush()
        # A column default fills in a None given at insert (task_state's is
        # "scheduling"): what was asked for None is made None now.
        for key, value in values.items():
            if value is None and getattr(inst, key) is not None:
                setattr(inst, key, None)
        s.flush()
        return inst.uuid


def add_compute_host(db: Database, host: str, *, zone: str = "nova",
                     binary: str = "nova-compute", up: bool = True, node: bool = True,
                     **node_fields: Any) -> tuple[int, int | None]:
    """A compute service (and its node) registered as an agent registers it
    (the schedulers' host changes log included); returns their ids."""
    seen = datetime.datetime.now(datetime.UTC) - datetime.timedelta(
        seconds=0 if up else 3600)
    with db.session() as s:
        svc = ComputeService(host=host, binary=binary, topic="compute",
                             availability_zone=zone, last_seen_up=seen)
        s.add(svc)
        s.flush()
        node_id = None
        if node:
            values = dict(vcpus=16, memory_mb=32768, local_gb=500, vcpus_used=2,
                          memory_mb_used=1024, local_gb_used=10, running_vms=1)
            values.update(node_fields)
            row = ComputeNode(host=host, hypervisor_hostname=f"{host}.local", **values)
            s.add(row)
            s.flush()
            node_id = row.id
            note_nodes_changed(s, [node_id])
        return svc.id, node_id
