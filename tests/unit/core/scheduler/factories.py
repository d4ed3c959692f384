"""Plain HostState / RequestSpec / Settings builders for the scheduler's unit tests."""

from __future__ import annotations

from collections import Counter
from typing import Any

from core.scheduler.host_state import HostState
from core.scheduler.request_spec import GroupInfo, RequestSpec
from core.settings import Settings


def make_host(name: str = "node1", node_id: int = 1, **fields: Any) -> HostState:
    """An enabled, up host with 8 vCPUs (ratio 4), 16 GiB RAM, 100 GiB disk, nothing used."""
    values: dict[str, Any] = {
        "host": name, "nodename": name, "node_id": node_id, "node_uuid": f"uuid-{name}",
        "availability_zone": "nova", "vcpus_total": 8, "memory_mb": 16384, "local_gb": 100,
        "cpu_allocation_ratio": 4.0, "ram_allocation_ratio": 1.0,
        "disk_allocation_ratio": 1.0}
    values.update(fields)
    return HostState(**values)


def make_hosts(count: int, **fields: Any) -> list[HostState]:
    return [make_host(f"node{i}", i, **fields) for i in range(1, count + 1)]


def make_spec(vcpus: int = 1, memory_mb: int = 512, root_gb: int = 1, count: int = 1,
              group: GroupInfo | None = None, **data: Any) -> RequestSpec:
    """A request for ``count`` instances (uuids inst-0, inst-1, ...) of a small flavor;
    ``data`` overrides keys of the wire form (``flavor`` merges into the default)."""
    flavor = {"vcpus": vcpus, "memory_mb": memory_mb, "root_gb": root_gb,
              "ephemeral_gb": 0, "swap": 0, "extra_specs": {}}
    flavor.update(data.pop("flavor", {}))
    wire = {"project_id": "project-a", "user_id": "user-a",
            "instance_uuids": [f"inst-{i}" for i in range(count)], "flavor": flavor}
    wire.update(data)
    spec = RequestSpec.from_dict(wire)
    spec.group = group
    return spec


def make_group(policy: str, hosts: dict[str, int] | None = None,
               **rules: Any) -> GroupInfo:
    return GroupInfo(uuid="group-1", policy=policy, rules=rules, hosts=Counter(hosts or {}))


def make_settings(**changes: Any) -> Settings:
    return Settings(**changes)
