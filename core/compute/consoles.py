"""Remote consoles (Nova's ``os-remote-consoles`` and the legacy get*Console
actions): a short-lived access token for one server's console, kept as a hash
(console_auth_tokens), and the check the console endpoint makes with it.

The simulated hypervisor offers VNC (noVNC), SPICE (spice-html5) and a serial
console; other protocols are Nova's "unavailable console type"."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select

from core import errors
from core.clock import utcnow
from core.compute import states
from core.compute.models import ConsoleAuthToken
from core.compute.servers import ServerService
from core.context import RequestContext
from core.db import Database

RULE = "os_compute_api:os-remote-consoles"
# protocol -> the console types Nova knows for it
PROTOCOL_TYPES = {"vnc": ("novnc", "xvpvnc"), "spice": ("spice-html5",),
                  "rdp": ("rdp-html5",), "serial": ("serial",), "mks": ("webmks",)}
# what the simulated driver serves
AVAILABLE = frozenset({"novnc", "spice-html5", "serial"})


@dataclass(frozen=True)
class Console:
    protocol: str
    type: str
    token: str  # the secret itself: shown once, in the console's URL


@dataclass(frozen=True)
class ConsoleTarget:
    instance_uuid: str
    console_type: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ConsoleService:
    def __init__(self, db: Database, servers: ServerService, token_ttl: int) -> None:
        self.db = db
        self.servers = servers
        self.token_ttl = token_ttl

    def open(self, ctx: RequestContext, server_id: str, protocol: str,
             console_type: str) -> Console:
        """A new access token to ``server_id``'s console of ``console_type``."""
        inst = self.servers.get(ctx, server_id, RULE)
        if console_type not in PROTOCOL_TYPES.get(protocol, ()):
            raise errors.InvalidInput(f"Invalid console type {console_type}",
                                      param="type")
        if console_type not in AVAILABLE:
            raise errors.InvalidInput(f"Unavailable console type {console_type}.",
                                      param="type")
        if inst.vm_state != states.ACTIVE or not inst.host:
            raise errors.Conflict(f"Instance {inst.uuid} is not ready",
                                  kind="instance", id=inst.uuid, state=inst.vm_state)
        token = secrets.token_urlsafe(24)
        now = utcnow()
        with self.db.session() as s:
            s.execute(delete(ConsoleAuthToken).where(ConsoleAuthToken.expires < now))
            s.add(ConsoleAuthToken(token_hash=_hash(token), console_type=console_type,
                                   instance_uuid=inst.uuid,
                                   expires=now + timedelta(seconds=self.token_ttl)))
        return Console(protocol, console_type, token)

    def connect(self, token: str) -> ConsoleTarget:
        """The console ``token`` opens: NotFound for a token never issued (or gone
        with its server), Unauthorized for an expired one."""
        with self.db.session() as s:
            row = s.scalar(select(ConsoleAuthToken).where(
                ConsoleAuthToken.token_hash == _hash(token)))
            if row is None:
                raise errors.NotFound("The console token is not valid.", kind="console")
            if row.expires <= utcnow():
                raise errors.Unauthorized("The console token has expired.")
            target = ConsoleTarget(row.instance_uuid, row.console_type)
        try:
            self.servers.store.get(target.instance_uuid)
        except errors.NotFound:
            raise errors.NotFound("The console token is not valid.", kind="console") from None
        return target
