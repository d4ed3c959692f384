"""``POST /os-server-external-events``: events of other services (Neutron's
network-vif-*, Cinder's volume-extended from 2.51), answered per event; 207
when some were not accepted."""

from __future__ import annotations

from typing import Any

from core import errors
from core.compute.external_events import ExternalEvent, ExternalEvents
from gateway.openstack.compute import microversions
from gateway.openstack.compute.base import ComputeDeps, Handler

# event name -> the first microversion that has it
NAMES = {"network-changed": (2, 1), "network-vif-plugged": (2, 1),
         "network-vif-unplugged": (2, 1), "network-vif-deleted": (2, 1),
         "volume-extended": (2, 51), "power-update": (2, 76),
         "accelerator-request-bound": (2, 82), "volume-reimaged": (2, 93)}
NEEDS_TAG = {"volume-extended", "power-update", "accelerator-request-bound",
             "volume-reimaged"}


def _event(raw: dict[str, Any]) -> ExternalEvent:
    name = raw["name"]
    if microversions.current() < NAMES.get(name, (99, 0)):
        raise errors.InvalidInput(f"Invalid input for field/attribute name. Value: {name}. "
                                  f"'{name}' is not one of the event names of this version",
                                  param="name")
    if name in NEEDS_TAG and not raw.get("tag"):
        raise errors.InvalidInput(f"Event {name} must have a tag.", param="tag")
    return ExternalEvent(name=name, server_uuid=raw["server_uuid"],
                         status=raw.get("status", "completed"), tag=raw.get("tag"))


def event_view(e: ExternalEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"name": e.name, "server_uuid": e.server_uuid,
                           "status": e.status, "code": e.code}
    if e.tag is not None:
        out["tag"] = e.tag
    return out


class ServerExternalEvents(Handler):
    def __init__(self, deps: ComputeDeps) -> None:
        super().__init__(deps)
        self.events: ExternalEvents = deps.external_events

    def create(self, body: dict):
        ctx = self.context()
        answered = self.events.create(ctx, [_event(e) for e in body["events"]])
        status = 200 if all(e.code == 200 for e in answered) else 207
        return {"events": [event_view(e) for e in answered]}, status
