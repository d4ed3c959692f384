"""Remote consoles: ``POST /servers/{id}/remote-consoles`` (2.6+; the
``spice-direct`` type from 2.99), the legacy ``os-getVNCConsole`` /
``os-getSPICEConsole`` / ``os-getSerialConsole`` actions (2.1 to 2.5), the
simulated console endpoint their URLs point to (``GET /compute/console?token=...``:
a small page for a valid token), and ``GET /os-console-auth-tokens/{token}``
(admins: what a token connects to; below 2.31 only RDP tokens, which this
cloud never issues; ``tls_port`` from 2.99)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from core import errors
from core.compute.consoles import Console, ConsoleService
from core.context import RequestContext
from gateway.openstack.compute import microversions
from gateway.openstack.compute.base import ComputeDeps, Handler
from gateway.openstack.compute.server_actions import action

if TYPE_CHECKING:
    from gateway.openstack.compute.servers import Servers

LEGACY_END = (2, 5)
SPICE_DIRECT = (2, 99)
ALL_TOKEN_TYPES = (2, 31)
PAGE = """<!DOCTYPE html>
<html><head><title>{title}</title></head>
<body><h1>{title}</h1>
<p>Simulated {kind} console of server <code>{server}</code>.</p>
<pre>login: </pre></body></html>
"""


def console_url(base: str, console: Console) -> str:
    return f"{base}/console?token={quote(console.token)}"


class RemoteConsoles(Handler):
    def __init__(self, deps: ComputeDeps) -> None:
        super().__init__(deps)
        self.consoles: ConsoleService = deps.consoles

    def create(self, server_id: str, body: dict):
        microversions.require((2, 6))
        asked = body["remote_console"]
        if asked["type"] == "spice-direct" and microversions.current() < SPICE_DIRECT:
            raise errors.InvalidInput(
                "Invalid input for field/attribute type. Value: spice-direct. "
                "'spice-direct' is not one of ['novnc', 'xvpvnc', 'rdp-html5', "
                "'spice-html5', 'serial', 'webmks']", param="type")
        console = self.consoles.open(self.context(), server_id, asked["protocol"],
                                     asked["type"])
        return {"remote_console": {"protocol": console.protocol, "type": console.type,
                                   "url": console_url(self.deps.base, console)}}


class ConsoleAuthTokens(Handler):
    def __init__(self, deps: ComputeDeps) -> None:
        super().__init__(deps)
        self.consoles: ConsoleService = deps.consoles

    def show(self, console_token: str):
        mv = microversions.current()
        found = self.consoles.connection(self.context(), console_token)
        if mv < ALL_TOKEN_TYPES and found.console_type != "rdp-html5":
            raise errors.Unauthorized("The requested console type details are not "
                                      "accessible")
        out: dict[str, Any] = {"instance_uuid": found.instance_uuid, "host": found.host,
                               "port": found.port,
                               "internal_access_path": found.internal_access_path}
        if mv >= SPICE_DIRECT:
            out["tls_port"] = found.tls_port
        return {"console": out}


class ConsoleProxy(Handler):
    """The console endpoint a console URL opens (no token of Keystone's: the
    console token is the credential)."""

    def __init__(self, deps: ComputeDeps) -> None:
        super().__init__(deps)
        self.consoles: ConsoleService = deps.consoles

    def connect(self, token: str):
        target = self.consoles.connect(token)
        title = f"nimbus console {target.console_type}"
        page = PAGE.format(title=html.escape(title), kind=html.escape(target.console_type),
                           server=html.escape(target.instance_uuid))
        return page, 200, {"Content-Type": "text/html",
                           "Cache-Control": "no-store"}


def _legacy(h: Servers, ctx: RequestContext, server_id: str, arg: Any,
            protocol: str) -> dict[str, Any]:
    kind = (arg or {}).get("type") if isinstance(arg, dict) else None
    if not isinstance(kind, str):
        raise errors.InvalidInput("Invalid input for field/attribute type.", param="type")
    console = h.deps.consoles.open(ctx, server_id, protocol, kind)
    return {"console": {"type": console.type, "url": console_url(h.deps.base, console)}}


@action("os-getVNCConsole", until=LEGACY_END)
def _vnc(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> Any:
    return _legacy(h, ctx, server_id, arg, "vnc")


@action("os-getSPICEConsole", until=LEGACY_END)
def _spice(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> Any:
    return _legacy(h, ctx, server_id, arg, "spice")


@action("os-getSerialConsole", until=LEGACY_END)
def _serial(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> Any:
    return _legacy(h, ctx, server_id, arg, "serial")
