"""``POST /os-server-external-events``: events of other services, each answered
with Nova's per-event code; 207 when some were not accepted. Event names come
with microversions: ``volume-extended`` 2.51, ``power-update`` 2.76,
``accelerator-request-bound`` 2.82, ``volume-reimaged`` 2.93 (a name the
request's version does not have is a 400, as Nova's per-version schemas)."""

from __future__ import annotations

from typing import Any

from core import errors
from core.compute.external_events import ExternalEvent, ExternalEvents, Outcome
from gateway.openstack.compute import microversions
from gateway.openstack.compute.base import ComputeDeps, Handler

# event name -> the first microversion that has it
NAMES = {"network-changed": (2, 1), "network-vif-plugged": (2, 1),
         "network-vif-unplugged": (2, 1), "network-vif-deleted": (2, 1),
         "volume-extended": (2, 51), "power-update": (2, 76),
         "accelerator-request-bound": (2, 82), "volume-reimaged": (2, 93)}
# each outcome as Nova's code for the event
CODES = {Outcome.ACCEPTED: 200, Outcome.NO_SERVER: 404, Outcome.TAG_MISSING: 400,
         Outcome.NO_HOST: 422}


def _event(raw: dict[str, Any]) -> ExternalEvent:
    name = raw["name"]
    mv = microversions.current()
    if mv < NAMES.get(name, (99, 0)):
        known = [n for n, since in NAMES.items() if mv >= since]
        raise errors.InvalidInput(f"Invalid input for field/attribute name. Value: {name}. "
                                  f"'{name}' is not one of {known}", param="name")
    return ExternalEvent(name=name, server_uuid=raw["server_uuid"],
                         status=raw.get("status", "completed"), tag=raw.get("tag"))


def event_view(e: ExternalEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"name": e.name, "server_uuid": e.server_uuid,
                           "status": e.status, "code": CODES[e.outcome]}
    if e.tag is not None:
        out["tag"] = e.tag
    return out


class ServerExternalEvents(Handler):
    def __init__(self, deps: ComputeDeps) -> None:
        super().__init__(deps)
        self.events: ExternalEvents = deps.external_events

    def create(self, body: dict):
        answered = self.events.create(self.context(), [_event(e) for e in body["events"]])
        accepted = all(e.outcome is Outcome.ACCEPTED for e in answered)
        return {"events": [event_view(e) for e in answered]}, 200 if accepted else 207
