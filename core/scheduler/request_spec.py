"""What the scheduler is asked (``RequestSpec``) and what it answers (``Selection``).

Both cross the message bus as plain JSON dicts (``to_dict`` / ``from_dict``).
``from_dict`` is lenient the way a wire format must be: missing keys take their
defaults, ``None`` counts as missing, and keys it does not know are ignored.

A RequestSpec also carries what the scheduler looked up for it before filtering
(``group``, ``instance_hosts``); those are never part of the dict form.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


def _int(value: Any) -> int:
    return int(value or 0)


def _uuid_list(value: Any) -> list[str]:
    """A hint given as one uuid or a list of them (Nova accepts both)."""
    if not value:
        return []
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]


@dataclass
class Flavor:
    vcpus: int = 0
    memory_mb: int = 0
    root_gb: int = 0
    ephemeral_gb: int = 0
    swap: int = 0
    extra_specs: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict | None) -> Flavor:
        data = data or {}
        return cls(vcpus=_int(data.get("vcpus")), memory_mb=_int(data.get("memory_mb")),
                   root_gb=_int(data.get("root_gb")), ephemeral_gb=_int(data.get("ephemeral_gb")),
                   swap=_int(data.get("swap")),
                   extra_specs={str(k): str(v) for k, v in (data.get("extra_specs") or {}).items()})

    @property
    def disk_gb(self) -> int:
        """Local disk the flavor needs: root + ephemeral + swap (MiB, rounded up to GiB)."""
        return self.root_gb + self.ephemeral_gb + -(-self.swap // 1024)


@dataclass
class Image:
    id: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    min_ram: int = 0
    min_disk: int = 0

    @classmethod
    def from_dict(cls, data: dict | None) -> Image:
        data = data or {}
        return cls(id=data.get("id"), properties=dict(data.get("properties") or {}),
                   min_ram=_int(data.get("min_ram")), min_disk=_int(data.get("min_disk")))


@dataclass
class GroupInfo:
    """A server group as the filters see it: its policy and where its members run.

    ``hosts`` counts members per host, not counting the instances being scheduled;
    the scheduler adds each instance it places so later ones in the request see it.
    """

    uuid: str
    policy: str
    rules: dict[str, Any] = field(default_factory=dict)
    hosts: Counter[str] = field(default_factory=Counter)


@dataclass
class RequestSpec:
    """One scheduling request: ``len(instance_uuids)`` instances of one flavor."""

    project_id: str | None = None
    user_id: str | None = None
    instance_uuids: list[str] = field(default_factory=list)
    flavor: Flavor = field(default_factory=Flavor)
    image: Image = field(default_factory=Image)
    availability_zone: str | None = None
    force_host: str | None = None
    # Nova's requested_destination (2.74 create with host / hypervisor_hostname):
    # only this host and/or node, but through the filters, unlike force_host.
    requested_host: str | None = None
    requested_node: str | None = None
    scheduler_hints: dict[str, Any] = field(default_factory=dict)
    ignore_hosts: list[str] = field(default_factory=list)
    # The conductor flow the claims are taken for (placement's consumer
    # generation, in spirit): a duplicate of the flow cannot take its claims.
    claim_holder: str | None = None
    # Looked up by the scheduler before filtering; not part of the wire form.
    group: GroupInfo | None = field(default=None, compare=False)
    instance_hosts: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def resources(self) -> dict[str, int]:
        """What one instance claims on a node: vcpus, memory_mb, disk_gb."""
        return {"vcpus": self.flavor.vcpus, "memory_mb": self.flavor.memory_mb,
                "disk_gb": self.flavor.disk_gb}

    @property
    def same_host(self) -> list[str]:
        return _uuid_list(self.scheduler_hints.get("same_host"))

    @property
    def different_host(self) -> list[str]:
        return _uuid_list(self.scheduler_hints.get("different_host"))

    @property
    def group_uuid(self) -> str | None:
        group = self.scheduler_hints.get("group")
        if isinstance(group, list):
            group = group[0] if group else None
        return str(group) if group else None

    def to_dict(self) -> dict[str, Any]:
        f, i = self.flavor, self.image
        return {
            "project_id": self.project_id, "user_id": self.user_id,
            "instance_uuids": list(self.instance_uuids),
            "flavor": {"vcpus": f.vcpus, "memory_mb": f.memory_mb, "root_gb": f.root_gb,
                       "ephemeral_gb": f.ephemeral_gb, "swap": f.swap,
                       "extra_specs": dict(f.extra_specs)},
            "image": {"id": i.id, "properties": dict(i.properties), "min_ram": i.min_ram,
                      "min_disk": i.min_disk},
            "availability_zone": self.availability_zone, "force_host": self.force_host,
            "requested_host": self.requested_host, "requested_node": self.requested_node,
            "scheduler_hints": dict(self.scheduler_hints),
            "ignore_hosts": list(self.ignore_hosts), "claim_holder": self.claim_holder,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequestSpec:
        return cls(project_id=data.get("project_id"), user_id=data.get("user_id"),
                   instance_uuids=[str(u) for u in data.get("instance_uuids") or []],
                   flavor=Flavor.from_dict(data.get("flavor")),
                   image=Image.from_dict(data.get("image")),
                   availability_zone=data.get("availability_zone") or None,
                   force_host=data.get("force_host") or None,
                   requested_host=data.get("requested_host") or None,
                   requested_node=data.get("requested_node") or None,
                   scheduler_hints=dict(data.get("scheduler_hints") or {}),
                   ignore_hosts=[str(h) for h in data.get("ignore_hosts") or []],
                   claim_holder=str(data["claim_holder"]) if data.get("claim_holder") else None)


@dataclass(frozen=True)
class Selection:
    """A host chosen (or offered as an alternate) for one instance."""

    host: str
    nodename: str
    node_id: int
    node_uuid: str
    availability_zone: str

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "nodename": self.nodename, "node_id": self.node_id,
                "node_uuid": self.node_uuid, "availability_zone": self.availability_zone}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Selection:
        return cls(host=data["host"], nodename=data["nodename"], node_id=int(data["node_id"]),
                   node_uuid=data["node_uuid"], availability_zone=data["availability_zone"])
