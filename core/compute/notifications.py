"""Nova's legacy instance notifications (``compute.instance.<action>.<phase>``) with
the payload fields of nova.notifications.info_from_instance.

No database code: the API, the conductor and the compute agents all publish
through :class:`Notifier`; an instance is any object with Nova's instance
attributes (the ORM row on the API side and in the conductor)."""

from __future__ import annotations

import logging
from typing import Any

from core.messaging.interfaces import MessageBus

log = logging.getLogger(__name__)


def _iso(value: Any) -> str:
    return value.isoformat() if value is not None else ""


def instance_payload(inst: Any, fixed_ips: list[dict] | None = None,
                     **extra: Any) -> dict[str, Any]:
    flavor = inst.flavor or {}
    payload = {
        "tenant_id": inst.project_id, "user_id": inst.user_id, "instance_id": inst.uuid,
        "display_name": inst.display_name, "reservation_id": inst.reservation_id,
        "hostname": inst.hostname, "host": inst.host, "node": inst.node,
        "availability_zone": inst.availability_zone,
        "instance_type": flavor.get("name"), "instance_flavor_id": flavor.get("flavorid"),
        "memory_mb": flavor.get("memory_mb"), "vcpus": flavor.get("vcpus"),
        "root_gb": flavor.get("root_gb"), "ephemeral_gb": flavor.get("ephemeral_gb", 0),
        "disk_gb": (flavor.get("root_gb") or 0) + (flavor.get("ephemeral_gb") or 0),
        "image_ref_url": inst.image_ref or "", "state": inst.vm_state,
        "state_description": inst.task_state or "", "progress": inst.progress or "",
        "created_at": _iso(inst.created_at), "launched_at": _iso(inst.launched_at),
        "terminated_at": _iso(inst.terminated_at), "deleted_at": _iso(inst.deleted_at),
        "metadata": dict(inst.metadata_items or {}), "fixed_ips": fixed_ips or [],
        "access_ip_v4": inst.access_ip_v4, "access_ip_v6": inst.access_ip_v6,
    }
    payload.update(extra)
    return payload


class Notifier:
    """Publishes on the bus's notifications exchange; a bus failure is logged, never
    raised (notifications must not break the operation they describe)."""

    def __init__(self, bus: MessageBus | None, publisher_id: str) -> None:
        self.bus = bus
        self.publisher_id = publisher_id

    def instance(self, inst: Any, event: str, fixed_ips: list[dict] | None = None,
                 priority: str = "info", **extra: Any) -> None:
        payload = instance_payload(inst, fixed_ips, **extra)
        self.send(f"compute.instance.{event}", payload, priority)

    def send(self, event_type: str, payload: dict, priority: str = "info") -> None:
        if self.bus is None:
            return
        try:
            self.bus.notify(event_type, dict(payload, publisher_id=self.publisher_id),
                            priority=priority)
        except Exception:  # noqa: BLE001 - see the class docstring
            log.warning("could not publish notification %s", event_type, exc_info=True)
