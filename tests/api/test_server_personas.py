"""Every server operation of the compute spec (servers, their actions, metadata,
tags, addresses, instance actions and interfaces) and Nova's floating IP proxies
(``/os-floating-ips``, ``/os-floating-ip-pools``, addFloatingIp and
removeFloatingIp), tried by five personas on a live server whose conductor,
scheduler and simulated hosts really boot the servers.

Expectations come from Nova's default rules in ``core/policy/defaults/compute.py``
and Nova's visibility rule -- never from what the server happens to answer:

``admin``      the bootstrap admin, admin on project ``admin``
``member``     a new user, member of the project that owns the servers
``reader``     a new user with only the reader role on that project
``other``      a new user, member on a new project of its own
``anonymous``  no token at all

"Allowed" is the operation's success status (the spec's, or the action's own:
202 for most actions, 204 for confirmResize, 200 for the console). A refusal is
401 without a token; for a valid token it is 404 when the server belongs to
another project (Nova hides it) and 403 when policy refuses the caller.

Floating IPs belong to projects: every token holder lists and allocates its
own project's, a reader of the project sees them and is refused changing them,
and another project does not learn they exist (404). The admin reaches any
project's floating IP by id or address, as Nova's proxy does through Neutron
with the admin's token.

Cases that change a server's state act on a server of their own, taken from a
pool booted once for the module; read-only cases and refusals use one shared
server, put back to ACTIVE (and unlocked) before every case, so no case depends
on another having run. Interfaces are attached to (and detached from) the
shared server: ports the member makes through the Network API, or new ones on
the ``private`` network; floating IPs are the member project's, fresh where a
case may release or move one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from core.policy.defaults import all_defaults
from tests.conftest import unique
from tests.support.identity import setup_call
from tests.support.personas import (
    ADMIN,
    AUTHENTICATED,
    Persona,
    admin_identity,
    assert_rows_cover,
    expected_status,
    make_personas,
    persona_cases,
    request_path,
)
from tests.support.spec_operations import load_spec_operations

pytestmark = pytest.mark.usefixtures("no_server_errors")

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "compute-v2.1.yaml"
GROUPS = {"servers", "server_metadata", "server_tags", "server_interfaces",
          "floating_ips", "server_migrations", "remote_consoles", "server_password",
          "server_diagnostics", "instance_actions", "server_topology", "console_auth_tokens"}
SPEC = {op_id: op for op_id, op in load_spec_operations(SPEC_PATH).items()
        if op_id.split(".")[0] in GROUPS}
POOL_SIZE = 49  # the state-changing cases that are allowed need a server each
WAIT = 60.0


# How the shared server goes back to ACTIVE from the states an action leaves.
SETTLE = {"PAUSED": {"unpause": None}, "SUSPENDED": {"resume": None},
          "RESCUE": {"unrescue": None}, "ERROR": {"os-resetState": {"state": "active"}}}


@dataclass
class World:
    base: str  # .../compute
    server: Any
    personas: dict[str, Persona]
    prefix: str  # every server this module boots is named <prefix>-...
    ids: dict[str, Any] = field(default_factory=dict)
    pool: list[str] = field(default_factory=list)
    snapshots: list[str] = field(default_factory=list)
    ports: list[str] = field(default_factory=list)  # made through the Network API
    floating: list[tuple[str, str]] = field(default_factory=list)  # (persona, id) made

    def persona(self, name: str) -> Persona:
        return self.personas[name]

    def call(self, who: str, method: str, path: str, body: Any = None,
             mv: str | None = None, ok: tuple[int, ...] = ()) -> Any:
        """A setup request that must succeed; its JSON body, if any."""
        headers = {"OpenStack-API-Version": f"compute {mv}"} if mv else {}
        return setup_call(self.persona(who).session, f"{self.base}/v2.1", method, path,
                          ok=ok, json=body, headers=headers)

    def network_call(self, who: str, method: str, path: str, body: Any = None,
                     ok: tuple[int, ...] = ()) -> Any:
        """A setup request to the Network API that must succeed."""
        return setup_call(self.persona(who).session, f"{self.server.url}/networking/v2.0",
                          method, path, ok=ok, json=body)

    # ---- servers ---------------------------------------------------------
    def boot(self, count: int = 1) -> list[str]:
        """``count`` new ACTIVE servers of the member's project (one request)."""
        name = unique(self.prefix)
        self.call("member", "POST", "/servers", {"server": {
            "name": name, "imageRef": self.ids["image"], "flavorRef": "1",
            "min_count": count, "max_count": count}})
        listed = self.call("member", "GET", f"/servers?name=^{name}")["servers"]
        assert len(listed) == count
        ids = [s["id"] for s in listed]
        for sid in ids:
            self.wait(sid, "ACTIVE")
        return ids

    def show(self, sid: str) -> dict | None:
        r = self.persona("admin").session.get(f"{self.base}/v2.1/servers/{sid}",
                                              headers={"OpenStack-API-Version":
                                                       "compute 2.9"},
                                              raise_exc=False)
        if r.status_code == 404:
            return None
        assert r.status_code == 200, r.text
        return r.json()["server"]

    def wait(self, sid: str, status: str) -> dict:
        deadline = time.monotonic() + WAIT
        shown = None
        while time.monotonic() < deadline:
            shown = self.show(sid)
            assert shown is not None, f"{sid} vanished waiting for {status}"
            if shown["status"] == status and shown["OS-EXT-STS:task_state"] is None:
                return shown
            assert shown["status"] != "ERROR" or status == "ERROR", shown.get("fault")
            time.sleep(0.1)
        raise AssertionError(f"{sid} did not reach {status}: {shown}")

    def take(self) -> str:
        """An ACTIVE server of the member's project no other case uses."""
        return self.pool.pop() if self.pool else self.boot()[0]

    def stopped(self) -> str:
        sid = self.take()
        self.call("member", "POST", f"/servers/{sid}/action", {"os-stop": None})
        self.wait(sid, "SHUTOFF")
        return sid

    def resized(self) -> str:
        sid = self.take()
        self.call("member", "POST", f"/servers/{sid}/action", {"resize": {"flavorRef": "2"}})
        self.wait(sid, "VERIFY_RESIZE")
        return sid

    def paused(self) -> str:
        return self._moved({"pause": None}, "PAUSED")

    def suspended(self) -> str:
        return self._moved({"suspend": None}, "SUSPENDED")

    def rescued(self) -> str:
        return self._moved({"rescue": None}, "RESCUE", ok=(200,))

    def _moved(self, body: dict, status: str, ok: tuple[int, ...] = ()) -> str:
        sid = self.take()
        self.call("member", "POST", f"/servers/{sid}/action", body, ok=ok)
        self.wait(sid, status)
        return sid

    def shelved(self) -> str:
        """A server of its own, shelved (and offloaded at once, as the server is set)."""
        sid = self.take()
        self.call("member", "POST", f"/servers/{sid}/action", {"shelve": None})
        self.wait(sid, "SHELVED_OFFLOADED")
        return sid

    def fixed_ip(self) -> str:
        """An address the shared server was given by addFixedIp (its newest port)."""
        sid = self.shared()
        self.call("admin", "POST", f"/servers/{sid}/action",
                  {"addFixedIp": {"networkId": self.ids["private"]}})
        listed = self.call("member", "GET", f"/servers/{sid}/os-interface")
        return listed["interfaceAttachments"][-1]["fixed_ips"][0]["ip_address"]

    def shared(self) -> str:
        """The shared server, back to ACTIVE, unlocked and idle."""
        sid = self.ids["shared"]
        shown = self.show(sid)
        if shown is None:  # a refusal that wrongly went through deleted it
            sid = self.ids["shared"] = self.boot()[0]
            return sid
        deadline = time.monotonic() + WAIT
        while shown["OS-EXT-STS:task_state"] is not None and time.monotonic() < deadline:
            time.sleep(0.1)
            shown = self.show(sid) or shown
        if shown["locked"]:
            self.call("admin", "POST", f"/servers/{sid}/action", {"unlock": None})
        if shown["status"] == "SHUTOFF":
            self.call("admin", "POST", f"/servers/{sid}/action", {"os-start": None})
        elif shown["status"] == "VERIFY_RESIZE":
            self.call("admin", "POST", f"/servers/{sid}/action", {"confirmResize": None})
        elif shown["status"] in SETTLE:  # a refusal that wrongly went through
            self.call("admin", "POST", f"/servers/{sid}/action", SETTLE[shown["status"]])
        self.wait(sid, "ACTIVE")
        return sid

    def own_or_shared(self, p: Persona, make: Callable[[], str]) -> str:
        """A server of its own for a persona that may change it (the admin and the
        member); the shared one for the rest, who are refused before any change."""
        return make() if p.name in ("admin", "member") else self.shared()

    # ---- interfaces and floating IPs -----------------------------------------------------
    def port(self) -> str:
        """A new port of the member's project on ``private``, attached to nothing."""
        port = self.network_call("member", "POST", "/ports", {"port": {
            "network_id": self.ids["private"], "name": unique(self.prefix)}})["port"]["id"]
        self.ports.append(port)
        return port

    def interface(self, sid: str, fresh: bool = False) -> str:
        """A port of server ``sid``: its first, or (``fresh``) a new one attached now."""
        if fresh:
            return self.call("member", "POST", f"/servers/{sid}/os-interface", {
                "interfaceAttachment": {"port_id": self.port()}})[
                "interfaceAttachment"]["port_id"]
        listed = self.call("member", "GET", f"/servers/{sid}/os-interface")
        return listed["interfaceAttachments"][0]["port_id"]

    def floating_ip(self, on: str | None = None) -> dict:
        """A floating IP of the member's project: a new one, free; or (``on``)
        one associated with server ``on`` -- the one it has, else a new one."""
        if on is not None:
            for fip in self.call("member", "GET", "/os-floating-ips")["floating_ips"]:
                if fip["instance_id"] == on:
                    return fip
        fip = self.call("member", "POST", "/os-floating-ips", {"pool": "public"})[
            "floating_ip"]
        self.floating.append(("member", fip["id"]))
        if on is not None:
            self.call("member", "POST", f"/servers/{on}/action",
                      {"addFloatingIp": {"address": fip["ip"]}})
        return fip

    def lockable(self, locked_by: str | None) -> str:
        """The server the lock cases use, unlocked, then locked by ``locked_by``."""
        sid = self.ids["lockable"]
        self.call("admin", "POST", f"/servers/{sid}/action", {"unlock": None})
        if locked_by:
            self.call(locked_by, "POST", f"/servers/{sid}/action", {"lock": None})
        return sid


@pytest.fixture(scope="module")
def world(server) -> World:
    # The servers belong to a project of their own (its quota lifted below), so
    # project demo's quota and servers are left alone.
    identity = admin_identity(server, prefix="srv-persona")
    w = World(base=f"{server.url}/compute", server=server, prefix=unique("persona-srv"),
              personas=make_personas(identity, member="new"))
    owner = w.persona("member").project_id
    w.call("admin", "PUT", f"/os-quota-sets/{owner}", {"quota_set": {
        "instances": -1, "cores": -1, "ram": -1, "floating_ips": -1}})
    admin = w.persona("admin").session
    images = admin.get(f"{server.url}/image/v2/images?name=nimbus-tiny").json()
    w.ids["image"] = images["images"][0]["id"]
    booted = w.boot(POOL_SIZE + 2)
    w.ids["shared"], w.ids["lockable"] = booted[:2]
    w.pool = booted[2:]
    private = w.network_call("member", "GET", "/networks?name=private")["networks"]
    w.ids["private"] = private[0]["id"]
    w.ids["fip"] = w.floating_ip()["id"]  # the one the read-only cases show
    yield w
    _clean_up(w)


def _clean_up(w: World) -> None:
    """Delete every server this module booted (in any project), its snapshots,
    and the floating IPs and ports it made."""
    for who, fip_id in w.floating:  # released (and disassociated) by their projects
        w.call(who, "DELETE", f"/os-floating-ips/{fip_id}", ok=(404,))
    listed = w.call("admin", "GET", f"/servers?all_tenants=1&name=^{w.prefix}")["servers"]
    for s in listed:
        w.call("admin", "DELETE", f"/servers/{s['id']}", ok=(404,))
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and any(w.show(s["id"]) for s in listed):
        time.sleep(0.2)
    for image_id in w.snapshots:
        w.persona("admin").session.delete(f"{w.server.url}/image/v2/images/{image_id}",
                                          raise_exc=False)
    for port in w.ports:  # ports given to a server outlive it, as in Nova
        w.network_call("member", "DELETE", f"/ports/{port}", ok=(404,))


# ---------------------------------------------------------------- the table

@dataclass(frozen=True)
class Req:
    params: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    query: Mapping[str, str] = field(default_factory=dict)
    mv: str | None = None


Builder = Callable[[World, Persona], Req]


@dataclass(frozen=True)
class Row:
    op: str
    allowed: frozenset[str]
    build: Builder = lambda w, p: Req()
    variant: str = ""
    success: int | None = None  # when not the spec's lowest success status
    hidden: frozenset[str] = frozenset({"other"})  # another project's server: 404
    rules: tuple[str, ...] = ()  # rules besides the op's x-policy this row exercises
    xfail: Mapping[str, str] = field(default_factory=dict)  # persona -> known product bug

    @property
    def key(self) -> str:
        return f"{self.op}({self.variant})" if self.variant else self.op


READERS = frozenset({"admin", "member", "reader"})  # admin, or anyone on the project
MEMBERS = frozenset({"admin", "member"})  # admin, or a member of the project
CREATORS = frozenset({"admin", "member", "other"})  # role:member on its own project
NOBODY_HIDDEN: frozenset[str] = frozenset()


def _shared(**params: str) -> Builder:
    return lambda w, p: Req({"server_id": w.shared(), **params})


def _console_token(w: World) -> str:
    """The token of a VNC console of the shared server (made by its member)."""
    url = w.call("member", "POST", f"/servers/{w.shared()}/remote-consoles", {
        "remote_console": {"protocol": "vnc", "type": "novnc"}}, mv="2.6")[
        "remote_console"]["url"]
    return parse_qs(urlparse(url).query)["token"][0]


def _action(body: Any, make: Callable[[World], str] | None = None) -> Builder:
    """An action on a server of its own (made by ``make``) or on the shared one."""
    def build(w: World, p: Persona) -> Req:
        sid = w.own_or_shared(p, lambda: make(w)) if make else w.shared()
        return Req({"server_id": sid}, body=body() if callable(body) else body)
    return build


def _lock_action(body: Any, locked_by: str | None) -> Builder:
    return lambda w, p: Req({"server_id": w.lockable(locked_by)}, body=body)


def _create(**extra: Any) -> Builder:
    def build(w: World, p: Persona) -> Req:
        return Req(body={"server": {"name": unique(w.prefix), "imageRef": w.ids["image"],
                                    "flavorRef": "1", **extra}})
    return build


def _with_meta(key: str = "pk", body: Any = None) -> Builder:
    def build(w: World, p: Persona) -> Req:
        sid = w.shared()
        w.call("admin", "POST", f"/servers/{sid}/metadata", {"metadata": {key: "v"}})
        return Req({"server_id": sid, "key": key}, body=body)
    return build


def _with_tag(tag: str | None = "pt") -> Builder:
    def build(w: World, p: Persona) -> Req:
        sid = w.shared()
        if tag is None:  # a tag the server does not have yet
            return Req({"server_id": sid, "tag": unique("new")}, mv="2.26")
        w.call("admin", "PUT", f"/servers/{sid}/tags/{tag}", mv="2.26")
        return Req({"server_id": sid, "tag": tag}, mv="2.26")
    return build


def _request_id(w: World, p: Persona) -> Req:
    sid = w.shared()
    actions = w.call("admin", "GET", f"/servers/{sid}/os-instance-actions")
    return Req({"server_id": sid, "request_id": actions["instanceActions"][-1]["request_id"]})


def _interface(fresh: bool = False) -> Builder:
    """One of the shared server's ports: its first, or (``fresh``) one attached now."""
    def build(w: World, p: Persona) -> Req:
        sid = w.shared()
        return Req({"server_id": sid, "port_id": w.interface(sid, fresh)})
    return build


def _attach(by: str) -> Builder:
    """Attach to the shared server a port the member made, or one on ``private``."""
    def build(w: World, p: Persona) -> Req:
        given = {"port_id": w.port()} if by == "port" else {"net_id": w.ids["private"]}
        return Req({"server_id": w.shared()}, body={"interfaceAttachment": given})
    return build


def _floating(fresh: bool = False) -> Builder:
    """The member project's shown floating IP, or a fresh one (to release)."""
    return lambda w, p: Req({"floating_ip_id": w.floating_ip()["id"] if fresh
                             else w.ids["fip"]})


def _add_floating(w: World, p: Persona) -> Req:
    """A fresh floating IP of the member's project onto the persona's own server."""
    sid = w.own_or_shared(p, w.take)
    return Req({"server_id": sid}, body={"addFloatingIp": {"address": w.floating_ip()["ip"]}})


def _remove_floating(w: World, p: Persona) -> Req:
    """A floating IP off the server it is associated with (else a 409 would
    come first): the persona's own server, or the shared one."""
    sid = w.own_or_shared(p, w.take)
    return Req({"server_id": sid}, body={"removeFloatingIp": {
        "address": w.floating_ip(on=sid)["ip"]}})


# The proxy looks addresses up among the caller's project's only; Nova's finds
# them through Neutron with the caller's token, which for an admin is any project's
# (as this server's own Network API shows the admin: GET /v2.0/floatingips/{id} is 200).
ADMIN_FIP_BUG = {"admin": "os-floating-ips proxy: an admin gets 404 for another "
                          "project's floating IP (Nova and the Network API find it)"}


def _snapshot_body() -> dict:
    return {"createImage": {"name": unique("persona-snap")}}


def _backup_body() -> dict:
    return {"createBackup": {"name": unique("persona-bk"), "backup_type": "daily",
                             "rotation": 1}}


def _rebuild_body(w: World, p: Persona) -> Req:
    sid = w.own_or_shared(p, w.take)
    return Req({"server_id": sid}, body={"rebuild": {"imageRef": w.ids["image"]}})


def _unshelve_to_host(w: World, p: Persona) -> Req:
    sid = w.own_or_shared(p, w.shelved)
    return Req({"server_id": sid}, body={"unshelve": {"host": "no-such-host"}}, mv="2.91")


def _rebuild_certs_body(w: World, p: Persona) -> Req:
    sid = w.own_or_shared(p, w.take)
    return Req({"server_id": sid}, body={"rebuild": {
        "imageRef": w.ids["image"], "trusted_image_certificates": ["cert-1"]}}, mv="2.63")


def _remove_fixed_ip(w: World, p: Persona) -> Req:
    return Req({"server_id": w.shared()}, body={"removeFixedIp": {"address": w.fixed_ip()}})


ROWS_LIST: list[Row] = [
    # ---- the collection: anyone with a token lists (its own project's) servers
    Row("servers.list", AUTHENTICATED, hidden=NOBODY_HIDDEN),
    Row("servers.detail", AUTHENTICATED, hidden=NOBODY_HIDDEN),
    Row("servers.list", ADMIN, lambda w, p: Req(query={"all_tenants": "1"}),
        variant="all tenants", hidden=NOBODY_HIDDEN,
        rules=("os_compute_api:servers:index:get_all_tenants",)),
    Row("servers.detail", ADMIN, lambda w, p: Req(query={"all_tenants": "1"}),
        variant="all tenants", hidden=NOBODY_HIDDEN,
        rules=("os_compute_api:servers:detail:get_all_tenants",)),
    Row("servers.create", CREATORS, _create(), hidden=NOBODY_HIDDEN),
    Row("servers.create", ADMIN, _create(availability_zone="nova:compute-1"),
        variant="forced host", hidden=NOBODY_HIDDEN,
        rules=("os_compute_api:servers:create:forced_host",)),
    # ---- one server
    Row("servers.show", READERS, _shared()),
    Row("servers.update", MEMBERS, lambda w, p: Req({"server_id": w.shared()}, body={
        "server": {"name": unique(w.prefix)}})),
    Row("servers.delete", MEMBERS, lambda w, p: Req({"server_id": w.own_or_shared(
        p, w.take)})),
    Row("servers.ips", READERS, _shared()),
    Row("servers.ips_network", READERS, _shared(network="private")),
    Row("instance_actions.index", READERS, _shared()),
    Row("instance_actions.show", READERS, _request_id),
    # ---- actions, each with its own rule
    Row("servers.action", MEMBERS, _action({"os-stop": None}, World.take), variant="os-stop",
        success=202),
    Row("servers.action", MEMBERS, _action({"os-start": None}, World.stopped),
        variant="os-start", success=202, rules=("os_compute_api:servers:start",)),
    Row("servers.action", MEMBERS, _action({"reboot": {"type": "SOFT"}}), variant="reboot",
        success=202, rules=("os_compute_api:servers:reboot",)),
    Row("servers.action", MEMBERS, _action({"resize": {"flavorRef": "2"}}, World.take),
        variant="resize", success=202, rules=("os_compute_api:servers:resize",)),
    Row("servers.action", MEMBERS, _action({"confirmResize": None}, World.resized),
        variant="confirmResize", success=204,
        rules=("os_compute_api:servers:confirm_resize",)),
    Row("servers.action", MEMBERS, _action({"revertResize": None}, World.resized),
        variant="revertResize", success=202,
        rules=("os_compute_api:servers:revert_resize",)),
    Row("servers.action", MEMBERS, _action(_snapshot_body), variant="createImage",
        success=202, rules=("os_compute_api:servers:create_image",)),
    Row("servers.action", MEMBERS, _action({"os-getConsoleOutput": {"length": 5}}),
        variant="os-getConsoleOutput", success=200,
        rules=("os_compute_api:os-console-output",)),
    Row("servers.action", MEMBERS, lambda w, p: Req(
        {"server_id": w.shared()}, body={"os-getVNCConsole": {"type": "novnc"}}, mv="2.5"),
        variant="os-getVNCConsole", success=200, rules=("os_compute_api:os-remote-consoles",)),
    Row("server_password.show", READERS, _shared()),
    Row("server_password.clear", MEMBERS, _shared()),
    Row("server_diagnostics.show", ADMIN, _shared()),
    Row("server_topology.index", READERS, lambda w, p: Req({"server_id": w.shared()},
                                                          mv="2.78")),
    # not a server's path: another project's member is refused (403), not hidden
    Row("console_auth_tokens.show", ADMIN, lambda w, p: Req(
        {"console_token": _console_token(w)}, mv="2.31"), hidden=NOBODY_HIDDEN),
    Row("remote_consoles.create", MEMBERS, lambda w, p: Req(
        {"server_id": w.shared()}, body={"remote_console": {"protocol": "vnc",
                                                            "type": "novnc"}}, mv="2.6")),
    Row("servers.action", MEMBERS, lambda w, p: Req(
        {"server_id": w.shared()}, body={"trigger_crash_dump": None}, mv="2.17"),
        variant="trigger_crash_dump", success=202,
        rules=("os_compute_api:servers:trigger_crash_dump",)),
    Row("servers.action", MEMBERS, _lock_action({"lock": None}, None), variant="lock",
        success=202, rules=("os_compute_api:os-lock-server:lock",)),
    Row("servers.action", MEMBERS, _lock_action({"unlock": None}, "member"),
        variant="unlock", success=202, rules=("os_compute_api:os-lock-server:unlock",)),
    # a lock the admin set: only an admin lifts it
    Row("servers.action", ADMIN, _lock_action({"unlock": None}, "admin"),
        variant="unlock admin's lock", success=202,
        rules=("os_compute_api:os-lock-server:unlock",
               "os_compute_api:os-lock-server:unlock:unlock_override")),
    # ---- pause, suspend, rescue, password, resetState, soft delete (state actions)
    Row("servers.action", MEMBERS, _action({"pause": None}, World.take), variant="pause",
        success=202, rules=("os_compute_api:os-pause-server:pause",)),
    Row("servers.action", MEMBERS, _action({"unpause": None}, World.paused),
        variant="unpause", success=202, rules=("os_compute_api:os-pause-server:unpause",)),
    Row("servers.action", MEMBERS, _action({"suspend": None}, World.take), variant="suspend",
        success=202, rules=("os_compute_api:os-suspend-server:suspend",)),
    Row("servers.action", MEMBERS, _action({"resume": None}, World.suspended),
        variant="resume", success=202, rules=("os_compute_api:os-suspend-server:resume",)),
    Row("servers.action", MEMBERS, _action({"rescue": None}, World.take), variant="rescue",
        success=200, rules=("os_compute_api:os-rescue",)),
    Row("servers.action", MEMBERS, _action({"unrescue": None}, World.rescued),
        variant="unrescue", success=202, rules=("os_compute_api:os-unrescue",)),
    Row("servers.action", MEMBERS, _action({"changePassword": {"adminPass": "persona-pw"}},
                                          World.take),
        variant="changePassword", success=202, rules=("os_compute_api:os-admin-password",)),
    Row("servers.action", ADMIN, _action({"os-resetState": {"state": "active"}}, World.take),
        variant="os-resetState", success=202,
        rules=("os_compute_api:os-admin-actions:reset_state",)),
    # this server deletes at once (no reclaim_instance_interval): nothing to restore,
    # so policy's yes shows as the state's 409 (test_server_state_actions.py restores)
    Row("servers.action", MEMBERS, _action({"restore": None}), variant="restore",
        success=409, rules=("os_compute_api:os-deferred-delete:restore",)),
    Row("servers.action", MEMBERS, _action({"forceDelete": None}, World.take),
        variant="forceDelete", success=202, rules=("os_compute_api:os-deferred-delete:force",)),
    # ---- moves: shelve, rebuild, migrations, evacuate, backups, multinic
    Row("servers.action", MEMBERS, _action({"shelve": None}, World.take), variant="shelve",
        success=202, rules=("os_compute_api:os-shelve:shelve",)),
    Row("servers.action", MEMBERS, _action({"unshelve": None}, World.shelved),
        variant="unshelve", success=202, rules=("os_compute_api:os-shelve:unshelve",)),
    # The server offloads at once (shelved_offload_time 0): the admin passes the
    # rule and meets the state Nova refuses, SHELVED_OFFLOADED.
    Row("servers.action", ADMIN, _action({"shelveOffload": None}, World.shelved),
        variant="shelveOffload", success=409,
        rules=("os_compute_api:os-shelve:shelve_offload",)),
    Row("servers.action", MEMBERS, _rebuild_body, variant="rebuild", success=202,
        rules=("os_compute_api:servers:rebuild",)),
    Row("servers.action", MEMBERS, _rebuild_certs_body, variant="rebuild-certs", success=202,
        rules=("os_compute_api:servers:rebuild",
               "os_compute_api:servers:rebuild:trusted_certs")),
    # 2.91: the admin passes the rule and names a host that does not exist
    Row("servers.action", ADMIN, _unshelve_to_host, variant="unshelve-host",
        success=400, rules=("os_compute_api:os-shelve:unshelve",
                            "os_compute_api:os-shelve:unshelve_to_host")),
    Row("servers.action", ADMIN, _action({"migrate": None}, World.take), variant="migrate",
        success=202, rules=("os_compute_api:os-migrate-server:migrate",)),
    Row("servers.action", ADMIN, lambda w, p: Req(
        {"server_id": w.own_or_shared(p, w.take)},
        body={"os-migrateLive": {"host": None, "block_migration": "auto"}}, mv="2.25"),
        variant="os-migrateLive", success=202,
        rules=("os_compute_api:os-migrate-server:migrate_live",)),
    # The shared server's host is up: the admin passes the rule and gets Nova's 400.
    Row("servers.action", ADMIN, lambda w, p: Req(
        {"server_id": w.shared()}, body={"evacuate": {}}, mv="2.14"),
        variant="evacuate", success=400, rules=("os_compute_api:os-evacuate",)),
    Row("servers.action", MEMBERS, _action(_backup_body), variant="createBackup",
        success=202, rules=("os_compute_api:os-create-backup",)),
    Row("servers.action", MEMBERS, lambda w, p: Req(
        {"server_id": w.shared()}, body={"addFixedIp": {"networkId": w.ids["private"]}}),
        variant="addFixedIp", success=202, rules=("os_compute_api:os-multinic:add",)),
    Row("servers.action", MEMBERS, _remove_fixed_ip, variant="removeFixedIp", success=202,
        rules=("os_compute_api:os-multinic:remove",)),
    # ---- a server's live migrations in progress (2.23+, admin)
    Row("server_migrations.index", ADMIN, lambda w, p: Req({"server_id": w.shared()},
                                                           mv="2.23")),
    # none is in progress: the admin passes the rule and finds no such migration
    Row("server_migrations.show", ADMIN, lambda w, p: Req(
        {"server_id": w.shared(), "migration_id": "1"}, mv="2.23"), success=404),
    # the shared server is not migrating: the admin passes the rule and gets a 409
    Row("server_migrations.delete", ADMIN, lambda w, p: Req(
        {"server_id": w.shared(), "migration_id": "1"}, mv="2.24"), success=409),
    Row("server_migrations.action", ADMIN, lambda w, p: Req(
        {"server_id": w.shared(), "migration_id": "1"}, body={"force_complete": None},
        mv="2.22"), success=409),
    # ---- metadata
    Row("server_metadata.index", READERS, _shared()),
    Row("server_metadata.create", MEMBERS, lambda w, p: Req(
        {"server_id": w.shared()}, body={"metadata": {"pk": "v"}})),
    Row("server_metadata.update_all", MEMBERS, lambda w, p: Req(
        {"server_id": w.shared()}, body={"metadata": {"pk": "v", "pk2": "w"}})),
    Row("server_metadata.show", READERS, _with_meta()),
    Row("server_metadata.update", MEMBERS, _with_meta(body={"meta": {"pk": "w"}})),
    Row("server_metadata.delete", MEMBERS, _with_meta()),
    # ---- tags (2.26)
    Row("server_tags.index", READERS, lambda w, p: Req({"server_id": w.shared()}, mv="2.26")),
    Row("server_tags.update_all", MEMBERS, lambda w, p: Req(
        {"server_id": w.shared()}, body={"tags": ["pt", "pt2"]}, mv="2.26")),
    Row("server_tags.delete_all", MEMBERS, lambda w, p: Req({"server_id": w.shared()},
                                                            mv="2.26")),
    Row("server_tags.show", READERS, _with_tag()),
    Row("server_tags.update", MEMBERS, _with_tag(None)),
    Row("server_tags.delete", MEMBERS, _with_tag()),
    # ---- interfaces: the project's readers list them, its members attach and detach
    Row("server_interfaces.list", READERS, _shared()),
    Row("server_interfaces.show", READERS, _interface()),
    Row("server_interfaces.create", MEMBERS, _attach("port"), variant="port"),
    Row("server_interfaces.create", MEMBERS, _attach("network"), variant="network"),
    Row("server_interfaces.delete", MEMBERS, _interface(fresh=True)),
    # ---- floating IPs (below 2.36): a project's own; the admin reaches any by id
    Row("floating_ips.list", AUTHENTICATED, hidden=NOBODY_HIDDEN),
    Row("floating_ips.pools", AUTHENTICATED, hidden=NOBODY_HIDDEN),
    Row("floating_ips.create", CREATORS, lambda w, p: Req(body={"pool": "public"}),
        hidden=NOBODY_HIDDEN),
    Row("floating_ips.show", READERS, _floating(), xfail=ADMIN_FIP_BUG),
    Row("floating_ips.delete", MEMBERS, _floating(fresh=True), xfail=ADMIN_FIP_BUG),
    Row("servers.action", MEMBERS, _add_floating, variant="addFloatingIp", success=202,
        rules=("os_compute_api:os-floating-ips:add",), xfail=ADMIN_FIP_BUG),
    Row("servers.action", MEMBERS, _remove_floating, variant="removeFloatingIp",
        success=202, rules=("os_compute_api:os-floating-ips:remove",), xfail=ADMIN_FIP_BUG),
]
ROWS: dict[str, Row] = {row.key: row for row in ROWS_LIST}


@pytest.mark.parametrize(("operation", "persona"), persona_cases(ROWS_LIST))
def test_persona(world: World, operation: str, persona: str) -> None:
    row = ROWS[operation]
    op = SPEC[row.op]
    caller = world.persona(persona)
    req = row.build(world, caller)
    path = request_path(op.path, req.params)
    headers = {"OpenStack-API-Version": f"compute {req.mv}"} if req.mv else {}
    r = caller.session.request(f"{world.base}{path}", op.method, json=req.body,
                               params=dict(req.query), headers=headers, raise_exc=False)
    expected = expected_status(persona, row.allowed, row.success or SPEC[row.op].success,
                               row.hidden)
    assert r.status_code == expected, (
        f"{op.method} {path} {req.body} as {persona} ({row.rules or op.policy}): expected "
        f"{expected}, got {r.status_code} {r.text[:300]}")
    if expected >= 400:
        (name,) = r.json()
        assert r.json()[name]["code"] == expected and r.json()[name]["message"]
    elif row.variant in ("createImage", "createBackup"):
        location = r.headers["Location"]  # below 2.45 the image is only named here
        assert re.search(r"/image/v2/images/[0-9a-f-]{36}$", location), location
        world.snapshots.append(location.rsplit("/", 1)[1])
    elif row.op == "servers.create":
        assert r.json()["server"]["id"] and r.headers["Location"]
    elif row.op == "floating_ips.create":
        made = r.json()["floating_ip"]
        world.floating.append((persona, made["id"]))
        assert made["pool"] == "public" and made["instance_id"] is None
    elif row.op == "floating_ips.list":  # a project's own, the member project's for its users
        listed = {f["id"] for f in r.json()["floating_ips"]}
        assert (world.ids["fip"] in listed) == (persona in ("member", "reader")), listed
    elif row.op == "floating_ips.pools":
        assert {"name": "public"} in r.json()["floating_ip_pools"]
    elif row.op == "server_interfaces.create":
        attached = r.json()["interfaceAttachment"]
        given = req.body["interfaceAttachment"]
        assert attached["port_id"] == given.get("port_id", attached["port_id"])
        assert attached["net_id"] == world.ids["private"] and attached["fixed_ips"]
    elif row.op == "server_interfaces.list":
        assert r.json()["interfaceAttachments"]


# ---------------------------------------------------------------- meta-tests

# Server rules no status code shows; test_server_api.py checks what they do.
CHECKED_IN_VIEWS = {
    "os_compute_api:servers:allow_all_filters": "test_host_filter_is_for_admins_only",
    "os_compute_api:os-extended-server-attributes": "test_views_by_microversion_and_role",
    "os_compute_api:servers:show:host_status": "test_views_by_microversion_and_role",
    "os_compute_api:os-instance-actions:events": "test_instance_actions_list_the_history",
    "compute:server:topology:host:index": "test_attach_microversions.py::test_topology_from_2_78",
}
# Defined, but the API has nothing for it to guard: networks are not chosen here.
UNENFORCED = {"os_compute_api:servers:create:attach_network"}
SERVER_RULE = re.compile(r"^compute:server:topology:|^os_compute_api:(servers:|server-metadata:|os-server-tags:|"
                         r"os-lock-server:|os-console-output|os-instance-actions:|ips:|"
                         r"os-extended-server-attributes|os-attach-interfaces:|"
                         r"os-floating-ips:|os-pause-server:|os-suspend-server:|os-rescue|"
                         r"os-unrescue|os-admin-password|os-admin-actions:|"
                         r"os-deferred-delete:|os-shelve:|os-migrate-server:|os-evacuate|"
                         r"os-create-backup|os-multinic:|os-remote-consoles$|os-server-password:|"
                         r"os-server-diagnostics|os-console-auth-tokens$)")


def test_every_server_operation_has_persona_cases() -> None:
    assert_rows_cover(SPEC, ROWS_LIST)
    actions = {row.variant for row in ROWS_LIST if row.op == "servers.action"}
    assert {"os-stop", "os-start", "reboot", "resize", "confirmResize", "revertResize",
            "createImage", "os-getConsoleOutput", "lock", "unlock", "addFloatingIp",
            "removeFloatingIp", "pause", "unpause", "suspend", "resume", "rescue",
            "unrescue", "changePassword", "os-resetState", "restore", "forceDelete",
            "shelve", "unshelve", "shelveOffload", "rebuild", "migrate",
            "os-migrateLive", "evacuate", "createBackup", "addFixedIp",
            "removeFixedIp"} <= actions


def test_every_server_rule_is_exercised() -> None:
    rules = {rule.name for rule in all_defaults() if SERVER_RULE.match(rule.name)}
    exercised = {op.policy for op in SPEC.values()} | {
        rule for row in ROWS_LIST for rule in row.rules}
    assert sorted(rules - exercised - set(CHECKED_IN_VIEWS) - UNENFORCED) == []
    assert sorted(exercised - rules) == [], "rows name rules that do not exist"


def test_table_agrees_with_rules() -> None:
    """A reader-level rule admits the project's reader, a member-level one its
    member but not its reader, an admin-only one admins only."""
    checks = {rule.name: rule.check_str for rule in all_defaults()}
    problems = []
    for row in ROWS_LIST:
        rule = row.rules[-1] if row.rules else SPEC[row.op].policy
        check = checks.get(rule or "", "!")
        if "anonymous" in row.allowed or "anonymous" in row.hidden:
            problems.append(f"{row.key}: anonymous is never allowed nor hidden")
        if row.hidden & row.allowed:
            problems.append(f"{row.key}: a persona is both allowed and hidden")
        if check == "rule:context_is_admin" and row.allowed != ADMIN:
            problems.append(f"{row.key}: {rule} is admin-only")
        if "project_reader" in check and row.hidden and row.allowed != READERS:
            problems.append(f"{row.key}: {rule} admits the project's readers")
        if "project_member" in check and row.hidden and row.allowed != MEMBERS:
            problems.append(f"{row.key}: {rule} admits the project's members only")
    assert problems == []
