"""Compute hosts for tests that need hosts but no agents: a compute service (and
node) registered straight into a test server's database."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from core.compute.models import ComputeService
from core.db import Database
from core.placement.changes import note_nodes_changed
from core.placement.models import ComputeNode
from tests.conftest import unique
from tests.support.server import Server


@dataclass(frozen=True)
class FakeHost:
    host: str
    service_id: int
    node_id: int
    service_uuid: str = ""  # the ids microversion 2.53 and later show
    node_uuid: str = ""


def add_host(server: Server, zone: str = "nova", binary: str = "nova-compute", up: bool = True,
             node: bool = True, allocatable: bool = False, disabled: bool = False,
             **node_fields) -> FakeHost:
    """Register a compute service (and node) as an agent would, straight into the
    test server's database: agents are not needed for these APIs. Names are
    unique, so hosts the server runs itself never get in the way. An
    ``allocatable`` host has room for a forced move (keep it ``disabled`` so the
    scheduler sends nothing else there: no agent answers for it)."""
    db = Database(f"sqlite:///{server.data_dir / 'nimbus.db'}")
    host = unique("cmp")
    seen = datetime.datetime.now(datetime.UTC) - datetime.timedelta(
        seconds=0 if up else 3600)
    try:
        with db.session() as s:
            svc = ComputeService(host=host, binary=binary, topic="compute",
                                 availability_zone=zone, last_seen_up=seen,
                                 disabled=disabled)
            s.add(svc)
            s.flush()
            node_id, node_uuid = 0, ""
            if node:
                n = ComputeNode(host=host, hypervisor_hostname=f"{host}.local",
                                vcpus=node_fields.get("vcpus", 16),
                                memory_mb=node_fields.get("memory_mb", 32768),
                                local_gb=node_fields.get("local_gb", 500),
                                vcpus_used=node_fields.get("vcpus_used", 2),
                                memory_mb_used=node_fields.get("memory_mb_used", 1024),
                                local_gb_used=node_fields.get("local_gb_used", 10),
                                running_vms=node_fields.get("running_vms", 1),
                                # No agent serves this host: with no allocatable room
                                # the scheduler never sends a build to it.
                                cpu_allocation_ratio=1.0 if allocatable else 0.0,
                                ram_allocation_ratio=1.0 if allocatable else 0.0,
                                disk_allocation_ratio=1.0 if allocatable else 0.0)
                s.add(n)
                s.flush()
                node_id, node_uuid = n.id, n.uuid
                note_nodes_changed(s, [node_id])  # as a registration: schedulers see it
            return FakeHost(host, svc.id, node_id, svc.uuid, node_uuid)
    finally:
        db.dispose()
