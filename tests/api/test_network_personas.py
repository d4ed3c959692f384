"""Every Network v2.0 operation in the spec, tried by five personas on a live server.

Expectations come from Neutron's default rules (secure RBAC) as
``core/policy/defaults/network.py`` writes them -- never from what the server
happens to answer:

``admin``      the bootstrap admin, admin on project ``admin``
``member``     a new user, member of a new project that owns the resources tried
``reader``     a new user with only the reader role on that project
``other``      a new user, member on a new project of its own
``anonymous``  no token at all

A member manages its project's networks, subnets, ports, routers, floating IPs
and security groups; a reader of the project sees them and is refused (403)
changing them; another project does not learn they exist (404) -- except the
external network ``public``, which every project sees. Only admins create
external or shared networks, list every project's quotas, and change quotas.
Cases that change state act on fresh resources, so no case depends on another.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import unique
from tests.support.identity import setup_call
from tests.support.personas import (
    ADMIN,
    AUTHENTICATED,
    EVERYONE,
    PERSONAS,
    Persona,
    admin_identity,
    assert_rows_cover,
    expected_status,
    make_personas,
    persona_cases,
    request_path,
)
from tests.support.spec_operations import load_spec_operations

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "network-v2.0.yaml"
SPEC = load_spec_operations(SPEC_PATH)
_SUBNETS = itertools.count(1)


@dataclass
class World:
    base: str  # .../networking
    personas: dict[str, Persona]
    ids: dict[str, str] = field(default_factory=dict)

    def project(self, persona: str) -> str:
        pid = self.personas[persona].project_id
        assert pid
        return pid

    def call(self, who: str, method: str, path: str, body: Any = None) -> Any:
        return setup_call(self.personas[who].session, f"{self.base}/v2.0", method, path,
                          json=body)

    # ---- fresh resources, made by the member
    def network(self) -> str:
        return self.call("member", "POST", "/networks", {"network": {
            "name": unique("pn")}})["network"]["id"]

    def subnet(self, network_id: str | None = None) -> str:
        network_id = network_id or self.network()
        n = next(_SUBNETS)
        return self.call("member", "POST", "/subnets", {"subnet": {
            "network_id": network_id, "ip_version": 4,
            "cidr": f"10.{100 + n // 250}.{n % 250}.0/24"}})["subnet"]["id"]

    def port(self) -> str:
        return self.call("member", "POST", "/ports", {"port": {
            "network_id": self.ids["net"]}})["port"]["id"]

    def router(self) -> str:
        return self.call("member", "POST", "/routers", {"router": {
            "name": unique("pr")}})["router"]["id"]

    def routed_subnet(self) -> tuple[str, str]:
        """A fresh router with a fresh subnet attached: (router, subnet)."""
        router, subnet = self.router(), self.subnet()
        self.call("member", "PUT", f"/routers/{router}/add_router_interface",
                  {"subnet_id": subnet})
        return router, subnet

    def floatingip(self) -> str:
        return self.call("member", "POST", "/floatingips", {"floatingip": {
            "floating_network_id": self.ids["public"]}})["floatingip"]["id"]

    def group(self) -> str:
        return self.call("member", "POST", "/security-groups", {"security_group": {
            "name": unique("psg")}})["security_group"]["id"]

    def rule(self) -> str:
        return self.call("member", "POST", "/security-group-rules", {"security_group_rule": {
            "security_group_id": self.ids["group"], "direction": "ingress",
            "protocol": "tcp", "port_range_min": next(_SUBNETS),
            "port_range_max": 65000}})["security_group_rule"]["id"]


@pytest.fixture(scope="module")
def world(server) -> World:
    identity = admin_identity(server, prefix="net-persona")
    w = World(base=f"{server.url}/networking", personas=make_personas(identity, "new"))
    # Every row makes fresh resources in the member's project: room for them all.
    w.call("admin", "PUT", f"/quotas/{w.project('member')}", {"quota": {
        "network": 500, "subnet": 500, "port": 1000, "router": 200, "floatingip": 100,
        "security_group": 200, "security_group_rule": 1000}})
    w.ids["third"] = identity.new_project()["id"]  # whose quotas the rows change
    public = w.call("member", "GET", "/networks?name=public")["networks"]
    w.ids["public"] = public[0]["id"]
    w.ids["net"] = w.network()
    w.ids["subnet"] = w.subnet(w.ids["net"])
    w.ids["port"] = w.port()
    w.ids["router"] = w.router()
    w.ids["fip"] = w.floatingip()
    w.ids["group"] = w.group()
    w.ids["rule"] = w.rule()
    w.call("member", "PUT", f"/networks/{w.ids['net']}/tags/blue")
    return w


# ---------------------------------------------------------------- the table

@dataclass(frozen=True)
class Req:
    params: Mapping[str, str] = field(default_factory=dict)
    body: Any = None


Builder = Callable[[World, Persona], Req]


@dataclass(frozen=True)
class Row:
    op: str
    allowed: frozenset[str]
    build: Builder = lambda w, p: Req()
    variant: str = ""
    hidden: frozenset[str] = frozenset()
    xfail: Mapping[str, str] = field(default_factory=dict)
    personas: tuple[str, ...] = PERSONAS

    @property
    def key(self) -> str:
        return f"{self.op}({self.variant})" if self.variant else self.op


OWNER = frozenset({"admin", "member"})  # admin, or a member of the owning project
PROJECT = frozenset({"admin", "member", "reader"})  # admin, or anyone on the project
CREATORS = frozenset({"admin", "member", "other"})  # role:member on its own project
NOT_PROJECT = frozenset({"other"})


def _id(param: str, key: str, body: Any = None) -> Builder:
    return lambda w, p: Req({param: w.ids[key]}, body)


def _fresh(param: str, make: Callable[[World], str], body: Any = None) -> Builder:
    return lambda w, p: Req({param: make(w)}, body)


def _body(make: Callable[[World], Any]) -> Builder:
    return lambda w, p: Req(body=make(w))


def _router_with(action: str) -> Builder:
    def build(w: World, p: Persona) -> Req:
        if action == "add":
            return Req({"router_id": w.router()}, {"subnet_id": w.subnet()})
        router, subnet = w.routed_subnet()
        return Req({"router_id": router}, {"subnet_id": subnet})
    return build


def _routes(add: bool) -> Builder:
    def build(w: World, p: Persona) -> Req:
        router, subnet = w.routed_subnet()
        cidr = w.call("member", "GET", f"/subnets/{subnet}")["subnet"]["cidr"]
        nexthop = cidr.rsplit(".", 1)[0] + ".9"  # an address behind the interface
        routes = {"router": {"routes": [{"destination": "10.250.0.0/24",
                                         "nexthop": nexthop}]}}
        if not add:
            w.call("member", "PUT", f"/routers/{router}/add_extraroutes", routes)
        return Req({"router_id": router}, routes)
    return build


def _tags(tag: str | None = None, body: Any = None, tagged: bool = True) -> Builder:
    def build(w: World, p: Persona) -> Req:
        network = w.network()
        if tagged:
            w.call("member", "PUT", f"/networks/{network}/tags/blue")
        params = {"resource_type": "networks", "resource_id": network}
        if tag is not None:
            params["tag"] = tag
        return Req(params, body)
    return build


def _quota(persona: str) -> Builder:
    return lambda w, p: Req({"project_id": w.project(persona)})


def _quota_update(w: World, p: Persona) -> Req:
    return Req({"project_id": w.ids["third"]}, {"quota": {"network": 50}})


def _subnet_body(w: World) -> dict:
    n = next(_SUBNETS)
    return {"subnet": {"network_id": w.ids["net"], "ip_version": 4,
                       "cidr": f"10.{200 + n // 250}.{n % 250}.0/24"}}


ROWS_LIST: list[Row] = [
    Row("network_versions.list", EVERYONE),
    Row("network_versions.resources", EVERYONE),
    Row("extensions.list", AUTHENTICATED),
    Row("extensions.show", AUTHENTICATED, lambda w, p: Req({"alias": "router"})),
    # ---- networks
    Row("networks.list", AUTHENTICATED),
    Row("networks.create", CREATORS, _body(lambda w: {"network": {"name": unique("pc")}})),
    Row("networks.create", ADMIN, _body(lambda w: {"network": {
        "name": unique("pc"), "router:external": True}}), variant="external"),
    Row("networks.create", ADMIN, _body(lambda w: {"network": {
        "name": unique("pc"), "shared": True}}), variant="shared"),
    Row("networks.show", PROJECT, _id("network_id", "net"), hidden=NOT_PROJECT),
    Row("networks.show", AUTHENTICATED, _id("network_id", "public"), variant="external"),
    Row("networks.update", OWNER, _fresh("network_id", World.network, {"network": {
        "description": "x"}}), hidden=NOT_PROJECT),
    Row("networks.delete", OWNER, _fresh("network_id", World.network), hidden=NOT_PROJECT),
    # ---- subnets
    Row("subnets.list", AUTHENTICATED),
    Row("subnets.create", OWNER, _body(_subnet_body), hidden=NOT_PROJECT),
    Row("subnets.show", PROJECT, _id("subnet_id", "subnet"), hidden=NOT_PROJECT),
    Row("subnets.update", OWNER, _fresh("subnet_id", World.subnet, {"subnet": {
        "name": "x"}}), hidden=NOT_PROJECT),
    Row("subnets.delete", OWNER, _fresh("subnet_id", World.subnet), hidden=NOT_PROJECT),
    # ---- ports
    Row("ports.list", AUTHENTICATED),
    Row("ports.create", OWNER, _body(lambda w: {"port": {"network_id": w.ids["net"]}}),
        hidden=NOT_PROJECT),
    Row("ports.show", PROJECT, _id("port_id", "port"), hidden=NOT_PROJECT),
    Row("ports.update", OWNER, _fresh("port_id", World.port, {"port": {"name": "x"}}),
        hidden=NOT_PROJECT),
    Row("ports.delete", OWNER, _fresh("port_id", World.port), hidden=NOT_PROJECT),
    # ---- routers
    Row("routers.list", AUTHENTICATED),
    Row("routers.create", CREATORS, _body(lambda w: {"router": {"name": unique("pr")}})),
    Row("routers.show", PROJECT, _id("router_id", "router"), hidden=NOT_PROJECT),
    Row("routers.update", OWNER, _fresh("router_id", World.router, {"router": {
        "name": "x"}}), hidden=NOT_PROJECT),
    Row("routers.delete", OWNER, _fresh("router_id", World.router), hidden=NOT_PROJECT),
    Row("routers.add_interface", OWNER, _router_with("add"), hidden=NOT_PROJECT),
    Row("routers.remove_interface", OWNER, _router_with("remove"), hidden=NOT_PROJECT),
    Row("routers.add_extraroutes", OWNER, _routes(True), hidden=NOT_PROJECT),
    Row("routers.remove_extraroutes", OWNER, _routes(False), hidden=NOT_PROJECT),
    # ---- floating IPs
    Row("floatingips.list", AUTHENTICATED),
    Row("floatingips.create", CREATORS, _body(lambda w: {"floatingip": {
        "floating_network_id": w.ids["public"]}})),
    Row("floatingips.show", PROJECT, _id("floatingip_id", "fip"), hidden=NOT_PROJECT),
    Row("floatingips.update", OWNER, _fresh("floatingip_id", World.floatingip, {
        "floatingip": {"description": "x"}}), hidden=NOT_PROJECT),
    Row("floatingips.delete", OWNER, _fresh("floatingip_id", World.floatingip),
        hidden=NOT_PROJECT),
    # ---- security groups and rules
    Row("security_groups.list", AUTHENTICATED),
    Row("security_groups.create", CREATORS, _body(lambda w: {"security_group": {
        "name": unique("psg")}})),
    Row("security_groups.show", PROJECT, _id("security_group_id", "group"),
        hidden=NOT_PROJECT),
    Row("security_groups.update", OWNER, _fresh("security_group_id", World.group, {
        "security_group": {"description": "x"}}), hidden=NOT_PROJECT),
    Row("security_groups.delete", OWNER, _fresh("security_group_id", World.group),
        hidden=NOT_PROJECT),
    Row("security_group_rules.list", AUTHENTICATED),
    Row("security_group_rules.create", OWNER, _body(lambda w: {"security_group_rule": {
        "security_group_id": w.ids["group"], "direction": "egress", "protocol": "udp",
        "port_range_min": next(_SUBNETS), "port_range_max": 65001}}), hidden=NOT_PROJECT),
    Row("security_group_rules.show", PROJECT, _id("security_group_rule_id", "rule"),
        hidden=NOT_PROJECT),
    Row("security_group_rules.delete", OWNER, _fresh("security_group_rule_id", World.rule),
        hidden=NOT_PROJECT),
    # ---- quotas: readers see their own project's; admins change them
    Row("quotas.list", ADMIN),
    Row("quotas.show", PROJECT, _quota("member")),
    Row("quotas.show", AUTHENTICATED, lambda w, p: Req({"project_id": p.project_id or "x"}),
        variant="own project", personas=("admin", "member", "reader", "other")),
    Row("quotas.details", PROJECT, _quota("member")),
    Row("quotas.defaults", PROJECT, _quota("member")),
    Row("quotas.update", ADMIN, _quota_update),
    Row("quotas.reset", ADMIN, lambda w, p: Req({"project_id": w.ids["third"]})),
    # ---- tags: read as the resource is read, changed as it is changed
    Row("tags.list", PROJECT, _tags(), hidden=NOT_PROJECT),
    Row("tags.check", PROJECT, _tags("blue"), hidden=NOT_PROJECT),
    Row("tags.replace", OWNER, _tags(body={"tags": ["a", "b"]}), hidden=NOT_PROJECT),
    Row("tags.clear", OWNER, _tags(), hidden=NOT_PROJECT),
    Row("tags.add", OWNER, _tags("green", tagged=False), hidden=NOT_PROJECT),
    Row("tags.remove", OWNER, _tags("blue"), hidden=NOT_PROJECT),
]
ROWS = {row.key: row for row in ROWS_LIST}


@pytest.mark.parametrize(("operation", "persona"), persona_cases(ROWS_LIST))
def test_persona(world: World, operation: str, persona: str) -> None:
    row = ROWS[operation]
    op = SPEC[row.op]
    caller = world.personas[persona]
    req = row.build(world, caller)
    path = request_path(op.path, req.params)
    r = caller.session.request(f"{world.base}{path}", op.method, json=req.body,
                               raise_exc=False)
    if r.status_code == 201 and row.op == "networks.create" and row.variant:
        # an external or shared network is seen by every project: another
        # module's sdk would pick it as the floating network
        world.call("admin", "DELETE", f"/networks/{r.json()['network']['id']}")
    expected = expected_status(persona, row.allowed, op.success, row.hidden)
    assert r.status_code == expected, (
        f"{op.method} {path} as {persona} ({op.policy}): expected {expected}, "
        f"got {r.status_code} {r.text[:300]}")
    if expected >= 400:
        error = r.json()["NeutronError"]
        assert error["type"] and error["message"], error


def test_every_spec_operation_has_persona_cases() -> None:
    assert_rows_cover(SPEC, ROWS_LIST)
