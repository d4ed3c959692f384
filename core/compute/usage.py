"""What an instance's flavor counts: against its project's quota (instances,
cores, RAM), and, during a resize, on the host it leaves.

Shared by the API side (resize, confirm) and the conductor (build, delete,
revert), so that both give back exactly what the other took.
"""

from __future__ import annotations

import uuid

MIGRATION_NS = uuid.UUID("6f1b9d1e-63c5-4a4b-9c44-7d0b2f3f5a10")


def quota_deltas(flavor: dict, count: int = 1) -> dict[str, int]:
    """The quota ``count`` instances of ``flavor`` hold."""
    return {"instances": count, "cores": count * int(flavor["vcpus"]),
            "ram": count * int(flavor["memory_mb"])}


def grown(old: dict, new: dict) -> dict[str, int]:
    """The quota a resize from ``old`` to ``new`` adds (never negative)."""
    return {"cores": max(0, int(new["vcpus"]) - int(old["vcpus"])),
            "ram": max(0, int(new["memory_mb"]) - int(old["memory_mb"]))}


def shrunk(old: dict, new: dict) -> dict[str, int]:
    """The quota a confirmed downsize from ``old`` to ``new`` frees."""
    return {"cores": max(0, int(old["vcpus"]) - int(new["vcpus"])),
            "ram": max(0, int(old["memory_mb"]) - int(new["memory_mb"]))}


def migration_consumer(instance_uuid: str) -> str:
    """The placement consumer holding a resize's source-side allocation."""
    return str(uuid.uuid5(MIGRATION_NS, instance_uuid))
