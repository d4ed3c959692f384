"""Remote consoles (Nova's ``os-remote-consoles`` and the legacy get*Console
actions): a short-lived access token for one server's console, kept as a hash
(console_auth_tokens), and the check the console endpoint makes with it.

The simulated hypervisor offers VNC (noVNC), SPICE (spice-html5 and, for
clients that speak SPICE themselves, spice-direct) and a serial console; other
protocols are Nova's "unavailable console type". Admins may look a token up
(``os-console-auth-tokens``): the instance, host and port it connects to."""

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
from core.policy import PolicyEnforcer

RULE = "os_compute_api:os-remote-consoles"
# protocol -> the console types Nova knows for it
PROTOCOL_TYPES = {"vnc": ("novnc", "xvpvnc"), "spice": ("spice-html5", "spice-direct"),
                  "rdp": ("rdp-html5",), "serial": ("serial",), "mks": ("webmks",)}
# what the simulated driver serves
AVAILABLE = frozenset({"novnc", "spice-html5", "spice-direct", "serial"})
TOKEN_RULE = "os_compute_api:os-console-auth-tokens"
# the port each console listens on at the simulated host (libvirt's usual ones)
PORTS = {"novnc": 5900, "xvpvnc": 5900, "spice-html5": 5900, "spice-direct": 5900,
         "serial": 10000, "rdp-html5": 3389, "webmks": 443}
TLS_PORTS = {"spice-direct": 5901}

@dataclass(frozen=True)
class Console:
    protocol: str
    type: str
    token: str  # the secret itself: shown once, in the console's URL


@dataclass(frozen=True)
class ConsoleTarget:
    instance_uuid: str
    console_type: str


@dataclass(frozen=True)
class ConsoleConnection:
    """What a console token connects to (Nova's ConsoleAuthToken connect info)."""

    instance_uuid: str
    console_type: str
    host: str
    port: int | None
    tls_port: int | None
    internal_access_path: str | None = None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ConsoleService:
    def __init__(self, db: Database, servers: ServerService, token_ttl: int,
                 policy: PolicyEnforcer | None = None) -> None:
        self.policy = policy
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

    def connection(self, ctx: RequestContext, token: str) -> ConsoleConnection:
        """What ``token`` connects to (admins): NotFound for a token not issued,
        expired or whose server is gone ("Token not found", as Nova)."""
        if self.policy is not None:
            self.policy.enforce(TOKEN_RULE, {}, ctx)
        try:
            target = self.connect(token)
        except (errors.NotFound, errors.Unauthorized):
            raise errors.NotFound("Token not found", kind="console") from None
        inst = self.servers.store.get(target.instance_uuid)
        kind = target.console_type
        return ConsoleConnection(target.instance_uuid, kind, inst.host or "",
                                 PORTS.get(kind), TLS_PORTS.get(kind))
