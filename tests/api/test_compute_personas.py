"""Every compute operation of this module's groups (all but servers), tried by
five personas on a live server.

Expectations come from Nova's default rules in ``core/policy/defaults/compute.py``
and Nova's visibility rules -- never from what the server happens to answer:

``admin``      the bootstrap admin, admin on project ``admin``
``member``     the bootstrap ``demo`` user, member on project ``demo``
``reader``     a new user with only the reader role on project ``demo``
``other``      a new user, member on a new project of its own
``anonymous``  no token at all

"Allowed" is the operation's success status in the spec. A refusal is 401
without a token; for a valid token it is 404 when the caller may not see the
resource at all (another project's server group, a private flavor not shared
with it) and 403 when policy refuses the action.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from core.policy.defaults import all_defaults
from tests.conftest import unique
from tests.support.compute_hosts import add_host
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

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "compute-v2.1.yaml"
# The operationId groups this table covers; servers have a table of their own.
GROUPS = {"compute_versions", "extensions", "flavors", "extra_specs", "flavor_access",
          "keypairs", "limits", "quota_sets", "quota_class_sets", "availability_zones",
          "hypervisors",
          "compute_services", "server_groups", "migrations", "aggregates",
          "tenant_usage", "console_proxy", "server_external_events"}
ED25519 = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPflNS2ZG62dK07tPVmiMJ7W9f7OvADEUnvrhxZAayyg "
           "persona@nimbus")

SPEC = {op_id: op for op_id, op in load_spec_operations(SPEC_PATH).items()
        if op_id.split(".")[0] in GROUPS}


@dataclass
class World:
    base: str  # .../compute
    server: Any
    personas: dict[str, Persona]
    ids: dict[str, Any] = field(default_factory=dict)

    def persona(self, name: str) -> Persona:
        return self.personas[name]

    def call(self, who: str, method: str, path: str, body: Any = None,
             mv: str | None = None) -> Any:
        """A setup request that must succeed; its JSON body, if any."""
        headers = {"OpenStack-API-Version": f"compute {mv}"} if mv else {}
        return setup_call(self.persona(who).session, f"{self.base}/v2.1", method, path,
                          json=body, headers=headers)

    def new_flavor(self, public: bool = False, shared_with: str | None = None) -> str:
        name = unique("persona-flv")
        self.call("admin", "POST", "/flavors", {"flavor": {
            "name": name, "id": name, "ram": 64, "vcpus": 1, "disk": 0,
            "os-flavor-access:is_public": public}})
        if shared_with:
            self.call("admin", "POST", f"/flavors/{name}/action",
                      {"addTenantAccess": {"tenant": self.ids[shared_with]}})
        return name

    def new_group(self, owner: str = "member") -> str:
        return self.call(owner, "POST", "/os-server-groups", {"server_group": {
            "name": unique("persona-grp"), "policies": ["affinity"]}})["server_group"]["id"]

    def console_server(self) -> str:
        """An ACTIVE server of the ``other`` persona's own project (booted once; the
        bootstrap demo project's servers are left alone)."""
        if "console_server" not in self.ids:
            image = setup_call(self.persona("other").session, self.base.rsplit(
                "/compute", 1)[0] + "/image/v2", "GET", "/images?name=nimbus-tiny")
            self.ids["console_server"] = self.call("other", "POST", "/servers", {"server": {
                "name": unique("persona-console"), "imageRef": image["images"][0]["id"],
                "flavorRef": "1"}})["server"]["id"]
        sid = self.ids["console_server"]
        deadline = time.monotonic() + 60
        while self.call("other", "GET", f"/servers/{sid}")["server"]["status"] != "ACTIVE":
            assert time.monotonic() < deadline, "the console's server never became ACTIVE"
            time.sleep(0.2)
        return sid

    def console_token(self) -> str:
        """A token to the console of :meth:`console_server`."""
        sid = self.console_server()
        url = self.call("other", "POST", f"/servers/{sid}/remote-consoles", {
            "remote_console": {"protocol": "vnc", "type": "novnc"}}, mv="2.6")[
            "remote_console"]["url"]
        return url.split("token=", 1)[1]

    def new_aggregate(self, host: str | None = None) -> str:
        agg = self.call("admin", "POST", "/os-aggregates", {"aggregate": {
            "name": unique("persona-agg")}})["aggregate"]
        if host:
            self.call("admin", "POST", f"/os-aggregates/{agg['id']}/action",
                      {"add_host": {"host": host}})
        return str(agg["id"])

    def new_keypair(self, owner: str) -> str:
        name = unique("persona-kp")
        self.call(owner, "POST", "/os-keypairs", {"keypair": {"name": name,
                                                              "public_key": ED25519}})
        return name


@pytest.fixture(scope="module")
def world(server) -> Iterator[World]:
    identity = admin_identity(server, prefix="cmp-persona")
    w = World(base=f"{server.url}/compute", server=server,
              personas=make_personas(identity, member="demo"))
    w.ids.update(demo=w.persona("member").project_id, other=w.persona("other").project_id,
                 third=identity.new_project()["id"])
    host = add_host(server)
    w.ids.update(
        host=host.host, node=host.node_id,
        private=w.new_flavor(), shared=w.new_flavor(shared_with="demo"),
        public=w.new_flavor(public=True), demo_group=w.new_group("member"))
    yield w
    if "console_server" in w.ids:
        w.call("other", "DELETE", f"/servers/{w.ids['console_server']}")


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
    hidden: frozenset[str] = frozenset()
    rules: tuple[str, ...] = ()  # rules besides the op's x-policy this row exercises

    @property
    def key(self) -> str:
        return f"{self.op}({self.variant})" if self.variant else self.op


DEMO = frozenset({"admin", "member", "reader"})  # admin, or anyone on project demo
DEMO_MEMBERS = frozenset({"admin", "member"})
CREATORS = frozenset({"admin", "member", "other"})  # role:member on its own project
NOT_DEMO = frozenset({"other"})
NOT_ADMIN = frozenset({"member", "reader", "other"})


def _flavor(key: str, **extra: str) -> Builder:
    return lambda w, p: Req({"flavor_id": w.ids[key], **extra})


def _new_flavor(**kw: Any) -> Builder:
    return lambda w, p: Req({"flavor_id": w.new_flavor(**kw)})


def _flavor_body() -> Builder:
    return lambda w, p: Req(body={"flavor": {"name": unique("persona-new"), "ram": 64,
                                             "vcpus": 1, "disk": 0}})


def _specs(key: str, spec_key: str | None = None, body: Any = None, seed: bool = True
           ) -> Builder:
    def build(w: World, p: Persona) -> Req:
        flavor = w.new_flavor(shared_with="demo") if key == "fresh" else w.ids[key]
        if seed:
            w.call("admin", "POST", f"/flavors/{flavor}/os-extra_specs",
                   {"extra_specs": {"k": "v"}})
        params = {"flavor_id": flavor}
        if spec_key:
            params["key"] = spec_key
        return Req(params, body=body)
    return build


def _access(action: str) -> Builder:
    def build(w: World, p: Persona) -> Req:
        flavor = w.new_flavor(shared_with="third" if action == "removeTenantAccess" else None)
        return Req({"flavor_id": flavor}, body={action: {"tenant": w.ids["third"]}})
    return build


def _own_keypair(mv: str | None = None) -> Builder:
    def build(w: World, p: Persona) -> Req:
        if p.name == "anonymous":
            return Req({"keypair_name": "none"}, mv=mv)
        return Req({"keypair_name": w.new_keypair(p.name)}, mv=mv)
    return build


def _members_keypair(w: World, p: Persona) -> Req:
    return Req({"keypair_name": w.new_keypair("member")},
               query={"user_id": w.persona("member").user_id}, mv="2.10")


def _quota(project: str, body: Any = None) -> Builder:
    return lambda w, p: Req({"project_id": w.ids[project]}, body=body)


def _service_update(action: str, body: Mapping[str, Any], mv: str | None = None) -> Builder:
    def build(w: World, p: Persona) -> Req:
        host = add_host(w.server, node=False).host
        return Req({"service_id": action}, body={"host": host, "binary": "nova-compute",
                                                 **body}, mv=mv)
    return build


def _service_delete(w: World, p: Persona) -> Req:
    return Req({"service_id": str(add_host(w.server, node=False).service_id)})


def _aggregate_action(action: str) -> Builder:
    def build(w: World, p: Persona) -> Req:
        host = add_host(w.server).host
        if action == "add_host":
            return Req({"aggregate_id": w.new_aggregate()}, body={"add_host": {"host": host}})
        if action == "remove_host":
            return Req({"aggregate_id": w.new_aggregate(host)},
                       body={"remove_host": {"host": host}})
        return Req({"aggregate_id": w.new_aggregate()},
                   body={"set_metadata": {"metadata": {"ssd": "true"}}})
    return build


def _image_cache(w: World, p: Persona) -> Req:
    images = setup_call(w.persona("admin").session, w.base.rsplit("/compute", 1)[0]
                        + "/image/v2", "GET", "/images?name=nimbus-tiny")
    return Req({"aggregate_id": w.new_aggregate()},
               body={"cache": [{"id": images["images"][0]["id"]}]}, mv="2.81")


def _service_by_uuid(w: World, p: Persona) -> Req:
    return Req({"service_id": add_host(w.server, node=False).service_uuid},
               body={"status": "disabled"}, mv="2.53")


def _group(owner: str | None = None) -> Builder:
    def build(w: World, p: Persona) -> Req:
        return Req({"server_group_id": w.new_group(owner) if owner else w.ids["demo_group"]})
    return build


ROWS_LIST: list[Row] = [
    # ---- discovery needs no token; extensions are "@" but need one
    Row("compute_versions.list", EVERYONE),
    Row("compute_versions.show", EVERYONE),
    Row("compute_versions.show_v2", EVERYONE),
    Row("extensions.list", AUTHENTICATED),
    Row("extensions.show", AUTHENTICATED, lambda w, p: Req({"alias": "os-keypairs"})),
    # ---- flavors: no policy to read; a private flavor exists only for its projects
    Row("flavors.list", AUTHENTICATED),
    Row("flavors.detail", AUTHENTICATED),
    Row("flavors.show", AUTHENTICATED, _flavor("public"), variant="public"),
    Row("flavors.show", DEMO, _flavor("shared"), variant="shared with demo",
        hidden=NOT_DEMO),
    Row("flavors.show", ADMIN, _flavor("private"), variant="private", hidden=NOT_ADMIN),
    Row("flavors.create", ADMIN, _flavor_body()),
    Row("flavors.delete", ADMIN, _new_flavor(public=True)),
    Row("flavors.update", ADMIN, lambda w, p: Req({"flavor_id": w.ids["public"]}, body={
        "flavor": {"description": "by a persona"}}, mv="2.55")),
    Row("flavor_access.list", ADMIN, _flavor("shared")),
    Row("flavor_access.action", ADMIN, _access("addTenantAccess"), variant="add"),
    Row("flavor_access.action", ADMIN, _access("removeTenantAccess"), variant="remove",
        rules=("os_compute_api:os-flavor-access:remove_tenant_access",)),
    Row("extra_specs.list", AUTHENTICATED, _specs("public"), variant="public"),
    Row("extra_specs.list", DEMO, _specs("shared"), variant="shared with demo",
        hidden=NOT_DEMO),
    Row("extra_specs.list", ADMIN, _specs("private"), variant="private", hidden=NOT_ADMIN),
    Row("extra_specs.show", AUTHENTICATED, _specs("public", "k"), variant="public"),
    Row("extra_specs.show", DEMO, _specs("shared", "k"), variant="shared with demo",
        hidden=NOT_DEMO),
    Row("extra_specs.create", ADMIN, _specs("fresh", body={"extra_specs": {"a": "b"}},
                                            seed=False)),
    Row("extra_specs.update", ADMIN, _specs("fresh", "k", body={"k": "w"})),
    Row("extra_specs.delete", ADMIN, _specs("fresh", "k")),
    # ---- key pairs belong to users: everyone manages their own
    Row("keypairs.list", AUTHENTICATED),
    # naming a user (2.10): the member itself, or an admin
    Row("keypairs.list", ADMIN | {"member"}, lambda w, p: Req(
        query={"user_id": w.persona("member").user_id}, mv="2.10"), variant="member's"),
    Row("keypairs.create", AUTHENTICATED, lambda w, p: Req(body={"keypair": {
        "name": unique("persona-kp"), "public_key": ED25519}})),
    # at 2.10 create answers 201 and delete 204 (from 2.2; the spec's lowest
    # successes are 2.1's 200 and 202)
    Row("keypairs.create", ADMIN | {"member"}, lambda w, p: Req(body={"keypair": {
        "name": unique("persona-kp"), "public_key": ED25519,
        "user_id": w.persona("member").user_id}}, mv="2.10"), variant="for member",
        success=201),
    Row("keypairs.show", AUTHENTICATED, _own_keypair()),
    Row("keypairs.show", ADMIN | {"member"}, _members_keypair, variant="member's"),
    Row("keypairs.delete", AUTHENTICATED, _own_keypair()),
    Row("keypairs.delete", ADMIN | {"member"}, _members_keypair, variant="member's",
        success=204),
    # ---- limits and quotas
    Row("limits.show", AUTHENTICATED),
    Row("limits.show", ADMIN, lambda w, p: Req(query={"tenant_id": w.ids["third"]}),
        variant="another project", rules=("os_compute_api:limits:other_project",)),
    Row("quota_sets.show", DEMO, _quota("demo")),
    Row("quota_sets.detail", DEMO, _quota("demo")),
    Row("quota_sets.defaults", AUTHENTICATED, _quota("demo")),
    Row("quota_sets.update", ADMIN, _quota("third", {"quota_set": {"instances": 12}})),
    Row("quota_sets.delete", ADMIN, _quota("third")),
    Row("quota_class_sets.show", ADMIN, lambda w, p: Req({"quota_class": "default"})),
    # a class of its own: 'default' would change every project's defaults
    Row("quota_class_sets.update", ADMIN, lambda w, p: Req(
        {"quota_class": "persona-class"}, body={"quota_class_set": {"instances": 12}})),
    # ---- hosts: admins only, but anyone lists availability zones
    Row("availability_zones.list", AUTHENTICATED),
    Row("availability_zones.detail", ADMIN),
    Row("hypervisors.list", ADMIN),
    Row("hypervisors.detail", ADMIN),
    Row("hypervisors.statistics", ADMIN),
    Row("hypervisors.show", ADMIN, lambda w, p: Req({"hypervisor_id": str(w.ids["node"])})),
    Row("hypervisors.uptime", ADMIN, lambda w, p: Req({"hypervisor_id": str(w.ids["node"])})),
    Row("hypervisors.search", ADMIN,
        lambda w, p: Req({"hypervisor_hostname_pattern": w.ids["host"]})),
    Row("hypervisors.servers", ADMIN,
        lambda w, p: Req({"hypervisor_hostname_pattern": w.ids["host"]})),
    Row("compute_services.list", ADMIN),
    Row("compute_services.update", ADMIN, _service_update("disable", {}), variant="disable"),
    Row("compute_services.update", ADMIN, _service_update("force-down", {"forced_down": True},
                                                          mv="2.11"), variant="force-down"),
    Row("compute_services.update", ADMIN, _service_by_uuid, variant="by uuid (2.53)"),
    Row("compute_services.delete", ADMIN, _service_delete),
    # ---- every move of every server (resize, migrations, evacuations)
    Row("migrations.index", ADMIN),
    Row("migrations.index", ADMIN, lambda w, p: Req(query={"migration_type": "evacuation"},
                                                    mv="2.23"), variant="by type"),
    # ---- server groups: readers see their project's, members manage them
    Row("server_groups.list", AUTHENTICATED),
    Row("server_groups.list", ADMIN, lambda w, p: Req(query={"all_projects": "True"}),
        variant="all projects", rules=("os_compute_api:os-server-groups:index:all_projects",)),
    Row("server_groups.show", DEMO, _group(), hidden=NOT_DEMO),
    Row("server_groups.create", CREATORS, lambda w, p: Req(body={"server_group": {
        "name": unique("persona-grp"), "policies": ["anti-affinity"]}})),
    Row("server_groups.delete", DEMO_MEMBERS, _group("member"), hidden=NOT_DEMO),
    # ---- host aggregates: admin only
    Row("aggregates.list", ADMIN),
    Row("aggregates.create", ADMIN, lambda w, p: Req(body={"aggregate": {
        "name": unique("persona-agg"), "availability_zone": unique("persona-z")}})),
    Row("aggregates.show", ADMIN, lambda w, p: Req({"aggregate_id": w.new_aggregate()})),
    Row("aggregates.update", ADMIN, lambda w, p: Req(
        {"aggregate_id": w.new_aggregate()}, body={"aggregate": {
            "name": unique("persona-agg")}})),
    Row("aggregates.delete", ADMIN, lambda w, p: Req({"aggregate_id": w.new_aggregate()})),
    Row("aggregates.action", ADMIN, _aggregate_action("add_host"), variant="add_host"),
    Row("aggregates.action", ADMIN, _aggregate_action("remove_host"), variant="remove_host",
        rules=("os_compute_api:os-aggregates:remove_host",)),
    Row("aggregates.action", ADMIN, _aggregate_action("set_metadata"),
        variant="set_metadata", rules=("os_compute_api:os-aggregates:set_metadata",)),
    Row("aggregates.images", ADMIN, _image_cache, success=202),
    # ---- usage: every project's for admins, one's own for its readers
    Row("tenant_usage.list", ADMIN),
    Row("tenant_usage.show", DEMO, lambda w, p: Req({"tenant_id": w.ids["demo"]})),
    # ---- events of other services: admins (and the service role)
    Row("server_external_events.create", ADMIN, lambda w, p: Req(body={"events": [
        {"name": "network-changed", "server_uuid": w.console_server()}]})),
    # ---- the console endpoint: its token is the credential
    Row("console_proxy.connect", EVERYONE, lambda w, p: Req(query={
        "token": w.console_token()})),
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
        f"{op.method} {path} as {persona} ({op.policy}): expected {expected}, "
        f"got {r.status_code} {r.text[:300]}")
    if expected >= 400:
        (name,) = r.json()
        assert r.json()[name]["code"] == expected and r.json()[name]["message"]


# ---------------------------------------------------------------- meta-tests

def test_every_operation_of_these_groups_has_persona_cases() -> None:
    assert_rows_cover(SPEC, ROWS_LIST)


def test_every_rule_of_these_operations_is_exercised() -> None:
    rules = {rule.name for rule in all_defaults()}
    exercised = {op.policy for op in SPEC.values()} | {
        rule for row in ROWS_LIST for rule in row.rules}
    assert sorted(exercised - rules) == []


def test_table_agrees_with_rules_and_spec() -> None:
    """Each operation is allowed to someone; one needing a token is refused to
    anonymous; an open rule ("@") refuses no token holder (except where the
    resource is hidden from it), and an admin-only rule admits admins only."""
    checks = {rule.name: rule.check_str for rule in all_defaults()}
    problems = []
    for op_id, op in SPEC.items():
        rows = [row for row in ROWS_LIST if row.op == op_id]
        allowed = set().union(*(row.allowed for row in rows))
        refused = set().union(*(set(PERSONAS) - row.allowed for row in rows))
        if not allowed & AUTHENTICATED:
            problems.append(f"{op_id}: nobody is allowed")
        if op.needs_token != ("anonymous" in refused):
            problems.append(f"{op_id}: anonymous expectation contradicts x-auth")
        check = checks.get(op.policy or "", "!")
        for row in rows:
            if row.hidden & row.allowed or "anonymous" in row.hidden:
                problems.append(f"{row.key}: a persona is both allowed and hidden")
            if check == "@" and (AUTHENTICATED - row.allowed - row.hidden) \
                    and not row.rules:
                problems.append(f"{row.key}: {op.policy} is open but a holder is refused")
            if check == "rule:context_is_admin" and row.allowed != ADMIN:
                problems.append(f"{row.key}: {op.policy} is admin-only")
    assert problems == []
