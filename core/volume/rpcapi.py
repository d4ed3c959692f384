"""Typed clients for the block storage topics, so callers never spell method
names or payload keys:

- ``volume-scheduler`` (any volume scheduler; the API casts creates and
  extends there, agents fan their pool reports out to every scheduler);
- ``volume-agent`` (one back end, by server name ``host@backend``);
- ``volume-manager`` (any volume manager: where agents report what they did).

No database code here, nor anything that imports it: the volume agent uses
this module. :func:`volume_message` shapes a volume row (duck-typed) into the
dict an agent receives.
"""

from __future__ import annotations

from typing import Any

from core.messaging.interfaces import MessageBus

SCHEDULER_TOPIC = "volume-scheduler"
AGENT_TOPIC = "volume-agent"
MANAGER_TOPIC = "volume-manager"


def backend_of(host: str | None) -> str | None:
    """The back end (``host@backend``) of a pool name ``host@backend#pool``."""
    if not host:
        return None
    return host.partition("#")[0]


def pool_of(host: str | None) -> str | None:
    """The pool part of ``host@backend#pool`` (None without one)."""
    if not host or "#" not in host:
        return None
    return host.partition("#")[2]


def volume_message(volume: Any) -> dict[str, Any]:
    """The volume as an agent receives it in ``create_volume``."""
    image_meta = getattr(volume, "image_metadata", None) or {}
    return {"id": volume.id, "size": volume.size, "pool": pool_of(volume.host),
            "snapshot_id": volume.snapshot_id, "source_volid": volume.source_volid,
            "image_id": volume.image_id,
            # what the back end copies when made from an image: the image's bytes
            "image_size": int(image_meta.get("size") or 0) if volume.image_id else 0}


class VolumeSchedulerClient:
    """Casts to any volume scheduler."""

    def __init__(self, bus: MessageBus) -> None:
        self.bus = bus

    def create_volume(self, volume_id: str) -> None:
        self.bus.cast(SCHEDULER_TOPIC, "create_volume", {"volume_id": volume_id})

    def extend_volume(self, volume_id: str, new_size: int) -> None:
        self.bus.cast(SCHEDULER_TOPIC, "extend_volume",
                      {"volume_id": volume_id, "new_size": new_size})

    def update_service_capabilities(self, backend: str, availability_zone: str,
                                    capabilities: dict, pools: list[dict],
                                    timestamp: str) -> None:
        """A back end's report, fanned out to every volume scheduler."""
        fanout = getattr(self.bus, "fanout", None)
        payload = {"backend": backend, "availability_zone": availability_zone,
                   "capabilities": capabilities, "pools": pools, "timestamp": timestamp}
        if fanout is None:  # a bus without fanout (test stand-ins): one scheduler hears it
            self.bus.cast(SCHEDULER_TOPIC, "update_service_capabilities", payload)
        else:
            fanout(SCHEDULER_TOPIC, "update_service_capabilities", payload)


class VolumeAgentClient:
    """Casts (and one call) to the agent of one back end (``host@backend``)."""

    def __init__(self, bus: MessageBus, timeout: float = 30.0) -> None:
        self.bus = bus
        self.timeout = timeout

    def _cast(self, backend: str, method: str, **payload: Any) -> None:
        self.bus.cast(AGENT_TOPIC, method, payload, server=backend)

    def create_volume(self, backend: str, volume: dict) -> None:
        """``volume``: :func:`volume_message`'s dict (id, size, pool, snapshot_id,
        source_volid, image_id)."""
        self._cast(backend, "create_volume", volume=volume)

    def delete_volume(self, backend: str, volume_id: str) -> None:
        self._cast(backend, "delete_volume", volume_id=volume_id)

    def extend_volume(self, backend: str, volume_id: str, new_size: int) -> None:
        self._cast(backend, "extend_volume", volume_id=volume_id, new_size=new_size)

    def create_snapshot(self, backend: str, snapshot_id: str, volume_id: str,
                        size: int) -> None:
        self._cast(backend, "create_snapshot", snapshot_id=snapshot_id, volume_id=volume_id,
                   size=size)

    def delete_snapshot(self, backend: str, snapshot_id: str) -> None:
        self._cast(backend, "delete_snapshot", snapshot_id=snapshot_id)

    def copy_snapshot(self, backend: str, snapshot_id: str, source_snapshot_id: str) -> None:
        """Make snapshot ``snapshot_id`` a copy of ``source_snapshot_id`` (of the
        same back end); reported as ``snapshot_created``."""
        self._cast(backend, "copy_snapshot", snapshot_id=snapshot_id,
                   source_snapshot_id=source_snapshot_id)

    def copy_volume_to_image(self, backend: str, volume_id: str, image_id: str,
                             content: dict | None = None) -> None:
        """Read the volume into image ``image_id``. ``content``: what the database
        says the volume holds (``{"image_id", "size"}`` of the image it was made
        from, or None), for a back end that no longer remembers."""
        self._cast(backend, "copy_volume_to_image", volume_id=volume_id, image_id=image_id,
                   content=content)

    def initialize_connection(self, backend: str, volume_id: str, connector: dict) -> dict:
        return self.bus.call(AGENT_TOPIC, "initialize_connection",
                             {"volume_id": volume_id, "connector": connector},
                             timeout=self.timeout, server=backend)


class VolumeManagerClient:
    """What agents report, as calls (they need to know it was recorded); every
    method is idempotent, so a report repeated after a timeout is harmless."""

    def __init__(self, bus: MessageBus, timeout: float = 60.0) -> None:
        self.bus = bus
        self.timeout = timeout

    def _call(self, method: str, **payload: Any) -> Any:
        return self.bus.call(MANAGER_TOPIC, method, payload, timeout=self.timeout)

    def volume_created(self, volume_id: str, host: str, error: str | None = None) -> Any:
        return self._call("volume_created", volume_id=volume_id, host=host, error=error)

    def volume_deleted(self, volume_id: str, error: str | None = None) -> Any:
        return self._call("volume_deleted", volume_id=volume_id, error=error)

    def volume_extended(self, volume_id: str, new_size: int, error: str | None = None) -> Any:
        return self._call("volume_extended", volume_id=volume_id, new_size=new_size,
                          error=error)

    def snapshot_created(self, snapshot_id: str, error: str | None = None) -> Any:
        return self._call("snapshot_created", snapshot_id=snapshot_id, error=error)

    def snapshot_deleted(self, snapshot_id: str, error: str | None = None) -> Any:
        return self._call("snapshot_deleted", snapshot_id=snapshot_id, error=error)

    def volume_uploaded(self, volume_id: str, image_id: str, content: dict | None,
                        error: str | None = None) -> Any:
        """The volume was read for image ``image_id``: ``content`` is what it
        holds (``{"image_id": source image or None, "size": bytes}``)."""
        return self._call("volume_uploaded", volume_id=volume_id, image_id=image_id,
                          content=content, error=error)
