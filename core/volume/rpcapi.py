"""Typed clients for the block storage topics, so callers never spell method names
or payload keys: the volume scheduler, the volume agents (one per back end
``host@backend``) and the volume manager that records the agents' results.

No database code here: the agents use it.
"""

from __future__ import annotations

from typing import Any, Protocol

from core.messaging.interfaces import MessageBus

SCHEDULER_TOPIC = "volume-scheduler"
AGENT_TOPIC = "volume-agent"
MANAGER_TOPIC = "volume-manager"


class FanoutBus(MessageBus, Protocol):
    def fanout(self, topic: str, method: str, payload: dict) -> None:
        """Deliver ``method`` to every server currently serving ``topic``."""


class VolumeSchedulerClient:
    def __init__(self, bus: MessageBus) -> None:
        self.bus = bus

    def create_volume(self, volume_id: str) -> None:
        self.bus.cast(SCHEDULER_TOPIC, "create_volume", {"volume_id": volume_id})

    def extend_volume(self, volume_id: str, new_size: int) -> None:
        self.bus.cast(SCHEDULER_TOPIC, "extend_volume",
                      {"volume_id": volume_id, "new_size": new_size})

    def update_service_capabilities(self, backend: str, availability_zone: str,
                                    capabilities: dict, pools: list[dict],
                                    timestamp: float) -> None:
        """A back end's report, to every scheduler (``bus`` must fan out)."""
        bus: Any = self.bus
        bus.fanout(SCHEDULER_TOPIC, "update_service_capabilities",
                   {"backend": backend, "availability_zone": availability_zone,
                    "capabilities": capabilities, "pools": pools, "timestamp": timestamp})


class VolumeAgentClient:
    """Casts to the agent of one back end (its server name is the back end)."""

    def __init__(self, bus: MessageBus, timeout: float = 60.0) -> None:
        self.bus = bus
        self.timeout = timeout

    def create_volume(self, backend: str, volume: dict) -> None:
        """``volume``: id, size, pool, snapshot_id, source_volid, image_id."""
        self.bus.cast(AGENT_TOPIC, "create_volume", {"volume": volume}, server=backend)

    def delete_volume(self, backend: str, volume_id: str) -> None:
        self.bus.cast(AGENT_TOPIC, "delete_volume", {"volume_id": volume_id}, server=backend)

    def extend_volume(self, backend: str, volume_id: str, new_size: int) -> None:
        self.bus.cast(AGENT_TOPIC, "extend_volume",
                      {"volume_id": volume_id, "new_size": new_size}, server=backend)

    def create_snapshot(self, backend: str, snapshot_id: str, volume_id: str,
                        size: int) -> None:
        self.bus.cast(AGENT_TOPIC, "create_snapshot",
                      {"snapshot_id": snapshot_id, "volume_id": volume_id, "size": size},
                      server=backend)

    def delete_snapshot(self, backend: str, snapshot_id: str) -> None:
        self.bus.cast(AGENT_TOPIC, "delete_snapshot", {"snapshot_id": snapshot_id},
                      server=backend)

    def initialize_connection(self, backend: str, volume_id: str, connector: dict) -> dict:
        return self.bus.call(AGENT_TOPIC, "initialize_connection",
                             {"volume_id": volume_id, "connector": connector},
                             timeout=self.timeout, server=backend)


class VolumeManagerClient:
    """What agents call to record their results; every method is idempotent."""

    def __init__(self, bus: MessageBus, timeout: float = 60.0) -> None:
        self.bus = bus
        self.timeout = timeout

    def _call(self, method: str, payload: dict) -> Any:
        return self.bus.call(MANAGER_TOPIC, method, payload, timeout=self.timeout)

    def volume_created(self, volume_id: str, host: str, error: str | None = None) -> Any:
        return self._call("volume_created", {"volume_id": volume_id, "host": host,
                                             "error": error})

    def volume_deleted(self, volume_id: str, error: str | None = None) -> Any:
        return self._call("volume_deleted", {"volume_id": volume_id, "error": error})

    def volume_extended(self, volume_id: str, new_size: int, error: str | None = None) -> Any:
        return self._call("volume_extended", {"volume_id": volume_id, "new_size": new_size,
                                              "error": error})

    def snapshot_created(self, snapshot_id: str, error: str | None = None) -> Any:
        return self._call("snapshot_created", {"snapshot_id": snapshot_id, "error": error})

    def snapshot_deleted(self, snapshot_id: str, error: str | None = None) -> Any:
        return self._call("snapshot_deleted", {"snapshot_id": snapshot_id, "error": error})
