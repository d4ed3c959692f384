"""Events other services tell servers of (Nova's ``os-server-external-events``):
Neutron's network-vif-plugged and friends, Cinder's volume-extended. Each event
is answered on its own: 200 (accepted), 404 (no such server), 422 (the server
is on no host yet, so nothing could act on it); with none accepted, the whole
request is not found. The simulated hosts need no notice of them; accepted
events are logged."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from core import errors
from core.compute.instance_store import InstanceStore
from core.context import RequestContext
from core.policy import PolicyEnforcer

log = logging.getLogger(__name__)
RULE = "os_compute_api:os-server-external-events:create"


@dataclass(frozen=True)
class ExternalEvent:
    name: str
    server_uuid: str
    status: str = "completed"
    tag: str | None = None
    code: int = 200


class ExternalEvents:
    def __init__(self, policy: PolicyEnforcer, store: InstanceStore) -> None:
        self.policy = policy
        self.store = store

    def create(self, ctx: RequestContext, events: list[ExternalEvent]) -> list[ExternalEvent]:
        """Each event with its code (and status "failed" when not accepted);
        NotFound when no event names a server that exists."""
        self.policy.enforce(RULE, {}, ctx)
        out = []
        for event in events:
            try:
                inst = self.store.get(event.server_uuid)
            except errors.NotFound:
                out.append(replace(event, code=404, status="failed"))
                continue
            if not inst.host:
                out.append(replace(event, code=422, status="failed"))
                continue
            log.info("external event %s (%s) for %s on %s", event.name, event.status,
                     inst.uuid, inst.host)
            out.append(replace(event, code=200))
        if not any(e.code == 200 for e in out):
            raise errors.NotFound("No instances found for any event")
        return out
