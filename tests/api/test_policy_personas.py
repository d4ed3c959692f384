"""Every Identity v3 operation in the spec, tried by five personas on a live server.

Expectations are worked out from the default check strings
(``core/policy/defaults``) and the targets the services pass to policy, as
Keystone defines them -- never from what the server happens to answer:

``admin``      the bootstrap admin, admin on project ``admin``
``member``     the bootstrap ``demo`` user, member on project ``demo``
``reader``     a new user with only the reader role on project ``demo``
``other``      a new user, member on a new project of its own
``anonymous``  no token at all

"Allowed" is the operation's success status in the spec (200, 201, 204, or 300
for version discovery); "denied" is 403 for a valid token that policy refuses
and 401 without a token. Operations that change state act on fresh resources
made by admin, so no case depends on another having run. Where a persona's own
resources matter (its user, its credentials), a ``(self)`` variant of the row
makes each persona act on itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from core.policy.defaults import all_defaults
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

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "identity-v3.yaml"


# ---------------------------------------------------------------- the spec

SPEC = load_spec_operations(SPEC_PATH)


# ---------------------------------------------------------------- personas and world

@dataclass
class World:
    """The personas and the long-lived resources every case may read."""

    base: str  # .../identity
    personas: dict[str, Persona]
    roles: dict[str, str]  # role name -> id
    ids: dict[str, str] = field(default_factory=dict)
    member_ec2: dict[str, str] = field(default_factory=dict)

    @property
    def admin(self) -> Persona:
        return self.personas["admin"]

    @property
    def member(self) -> Persona:
        return self.personas["member"]

    def call(self, who: Persona, method: str, path: str, body: Any = None) -> Any:
        """A setup request that must succeed; its JSON body, if any."""
        return setup_call(who.session, f"{self.base}/v3", method, path, json=body)

    def setup(self, method: str, path: str, body: Any = None) -> Any:
        return self.call(self.admin, method, path, body)

    # ---- fresh resources, made by admin
    def new_project(self) -> str:
        return self.setup("POST", "/projects", {"project": {
            "name": unique("pp"), "domain_id": "default"}})["project"]["id"]

    def new_user(self, password: str | None = None) -> str:
        user = {"name": unique("pu"), "domain_id": "default"}
        if password:
            user["password"] = password
        return self.setup("POST", "/users", {"user": user})["user"]["id"]

    def new_group(self, *members: str) -> str:
        gid = self.setup("POST", "/groups", {"group": {"name": unique("pg")}})["group"]["id"]
        for uid in members:
            self.setup("PUT", f"/groups/{gid}/users/{uid}")
        return gid

    def new_role(self) -> str:
        return self.setup("POST", "/roles", {"role": {"name": unique("pr")}})["role"]["id"]

    def new_domain(self, enabled: bool = True) -> str:
        return self.setup("POST", "/domains", {"domain": {
            "name": unique("pd"), "enabled": enabled}})["domain"]["id"]

    def new_region(self) -> str:
        return self.setup("POST", "/regions", {"region": {"id": unique("preg")}})["region"]["id"]

    def new_service(self) -> str:
        # Disabled: other modules assert the catalog holds only "identity".
        return self.setup("POST", "/services", {"service": {
            "type": unique("psvc"), "enabled": False}})["service"]["id"]

    def new_endpoint(self) -> str:
        return self.setup("POST", "/endpoints", {"endpoint": {
            "service_id": self.ids["service"], "interface": "public", "enabled": False,
            "url": "http://persona.invalid/x", "region_id": self.ids["region"]}})["endpoint"]["id"]

    def new_ec2(self, user_id: str, project_id: str) -> str:
        return self.setup("POST", f"/users/{user_id}/credentials/OS-EC2",
                          {"tenant_id": project_id})["credential"]["access"]

    def new_member_app_cred(self) -> str:
        # Only its owner may create one (create_application_credential: user_id:%(user_id)s).
        return self.call(self.member, "POST",
                         f"/users/{self.member.user_id}/application_credentials",
                         {"application_credential": {"name": unique("pac")}}
                         )["application_credential"]["id"]

    def member_token(self) -> str:
        """A fresh token of the member, to be validated, checked or revoked."""
        r = self.personas["anonymous"].session.post(
            f"{self.base}/v3/auth/tokens?nocatalog", json=password_auth(self.member),
            raise_exc=False)
        assert r.status_code == 201, r.text
        return r.headers["X-Subject-Token"]


def password_auth(p: Persona) -> dict:
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": p.username, "domain": {"id": "default"}, "password": p.password}}}}}


def signed_ec2(access: str, secret: str) -> dict:
    """An ec2tokens body for a request botocore signed with SigV4."""
    body = "Action=DescribeInstances&Version=2016-11-15"
    host = "127.0.0.1:8788"
    req = AWSRequest(method="POST", url=f"http://{host}/ec2/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    SigV4Auth(Credentials(access, secret), "ec2", "RegionOne").add_auth(req)
    headers = dict(req.headers.items())
    return {"credentials": {
        "access": access, "signature": headers["Authorization"].split("Signature=")[1],
        "host": host, "verb": "POST", "path": "/ec2/", "params": {}, "headers": headers,
        "body_hash": hashlib.sha256(body.encode()).hexdigest()}}


@pytest.fixture(scope="module")
def world(server) -> World:
    identity = admin_identity(server, prefix="persona")
    w = World(base=server.auth_url, roles=identity.roles,
              personas=make_personas(identity, member="demo"))
    member = w.member

    reader = w.roles["reader"]
    bystander = w.new_user()
    group = w.new_group(bystander)
    grant_project, foreign_domain = w.new_project(), w.new_domain()
    for path in (f"/projects/{grant_project}/users/{bystander}",
                 f"/projects/{grant_project}/groups/{group}",
                 f"/domains/{foreign_domain}/users/{bystander}",
                 f"/domains/{foreign_domain}/groups/{group}"):
        w.setup("PUT", f"{path}/roles/{reader}")
    w.ids.update(bystander=bystander, group=group, grant_project=grant_project,
                 foreign_domain=foreign_domain, role=w.new_role(), region=w.new_region(),
                 service=w.new_service())
    w.ids["endpoint"] = w.new_endpoint()
    w.member_ec2 = w.call(member, "POST", f"/users/{member.user_id}/credentials/OS-EC2",
                          {"tenant_id": member.project_id})["credential"]
    w.ids["member_app_cred"] = w.new_member_app_cred()
    return w


# ---------------------------------------------------------------- the table

@dataclass(frozen=True)
class Req:
    params: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


Builder = Callable[[World, Persona], Req]


@dataclass(frozen=True)
class Row:
    """One request shape for an operation and the personas policy lets through."""

    op: str
    allowed: frozenset[str]
    build: Builder = lambda w, p: Req()
    variant: str = ""
    xfail: Mapping[str, str] = field(default_factory=dict)  # persona -> known bug
    personas: tuple[str, ...] = PERSONAS  # who tries it

    @property
    def key(self) -> str:
        return f"{self.op}({self.variant})" if self.variant else self.op


ADMIN_OR_MEMBER = frozenset({"admin", "member"})  # admin, or the member acting on itself
NOBODY = frozenset()


def _self(w: World, p: Persona) -> Persona:
    """The persona's own identity; anonymous has none, so it aims at the member's."""
    return p if p.user_id else w.member


def _subject(w: World, p: Persona) -> Req:
    return Req(headers={"X-Subject-Token": w.member_token()})


def _grant_target(kind: str, w: World, fresh: bool) -> dict[str, str]:
    """Path ids for a grant of ``kind`` (``project_user`` ...): those of the shared,
    existing grant, or a fresh project (or, on the domain, a fresh actor) that
    holds no grant yet."""
    scope, actor = kind.split("_")
    shared_actor = w.ids["bystander" if actor == "user" else "group"]
    if scope == "project":
        return {"project_id": w.new_project() if fresh else w.ids["grant_project"],
                f"{actor}_id": shared_actor}
    new_actor = w.new_user if actor == "user" else w.new_group
    return {"domain_id": w.ids["foreign_domain"],
            f"{actor}_id": new_actor() if fresh else shared_actor}


def _grant_rows(kind: str) -> list[Row]:
    def listed(w, p):
        return Req(_grant_target(kind, w, fresh=False))

    def existing(w, p):
        return Req({**_grant_target(kind, w, fresh=False), "role_id": w.roles["reader"]})

    def fresh(w, p):
        return Req({**_grant_target(kind, w, fresh=True), "role_id": w.roles["reader"]})

    def granted(w, p):
        req = fresh(w, p)
        scope, actor = kind.split("_")
        w.setup("PUT", f"/{scope}s/{req.params[f'{scope}_id']}/{actor}s/"
                       f"{req.params[f'{actor}_id']}/roles/{req.params['role_id']}")
        return req

    # GRANT_READER / GRANT_CHECKER / GRANT_MANAGER: besides admin, only readers or
    # managers of the actor's and target's domain -- a domain-scoped token. Project
    # scoped non-admins never pass.
    return [Row(f"grants.list@{kind}", ADMIN, listed),
            Row(f"grants.check@{kind}_head", ADMIN, existing),
            Row(f"grants.check@{kind}", ADMIN, existing),
            Row(f"grants.create@{kind}", ADMIN, fresh),
            Row(f"grants.revoke@{kind}", ADMIN, granted)]


def _ec2_self_body(w: World, p: Persona) -> Req:
    me = _self(w, p)
    return Req({"user_id": me.user_id}, {"tenant_id": me.project_id})


def _ec2_fresh_own(w: World, p: Persona) -> Req:
    me = _self(w, p)
    return Req({"user_id": me.user_id, "credential_id": w.new_ec2(me.user_id, me.project_id)})


def _own_password_change(w: World, p: Persona) -> Req:
    me = p if p.user_id else w.personas["reader"]
    return Req({"user_id": me.user_id},
               {"user": {"original_password": me.password, "password": me.password}})


def _member_user(w: World, p: Persona) -> Req:
    return Req({"user_id": w.member.user_id})


def _role_pair(w: World, p: Persona) -> Req:
    return Req({"prior_role_id": w.new_role(), "implied_role_id": w.new_role()})


def _implied_pair(w: World, p: Persona) -> Req:
    req = _role_pair(w, p)
    w.setup("PUT", f"/roles/{req.params['prior_role_id']}/implies/"
                   f"{req.params['implied_role_id']}")
    return req


def _membership(w: World, p: Persona, group: str | None = None) -> Req:
    return Req({"group_id": group or w.ids["group"], "user_id": w.ids["bystander"]})


def _describe(key: str, text: str = "persona test") -> dict:
    return {key: {"description": text}}


ROWS_LIST: list[Row] = [
    # ---- discovery and tokens: "@" needs no token, "" any token
    Row("versions.list", EVERYONE),
    Row("versions.show", EVERYONE),
    Row("tokens.issue", EVERYONE, lambda w, p: Req(body=password_auth(_self(w, p)))),
    # admin, or the subject token's own user (token_subject)
    Row("tokens.validate", ADMIN_OR_MEMBER, _subject),
    Row("tokens.check", ADMIN_OR_MEMBER, _subject),
    Row("tokens.revoke", ADMIN_OR_MEMBER, _subject),
    Row("tokens.catalog", AUTHENTICATED),
    Row("tokens.projects", AUTHENTICATED),
    Row("tokens.domains", AUTHENTICATED),
    Row("tokens.ec2tokens", ADMIN,  # service_or_admin
        lambda w, p: Req(body=signed_ec2(w.member_ec2["access"], w.member_ec2["secret"]))),
    # ---- domains: a project-scoped token may see the domain of its project only
    Row("domains.list", ADMIN),
    Row("domains.create", ADMIN,
        lambda w, p: Req(body={"domain": {"name": unique("pd"), "enabled": False}})),
    Row("domains.show", AUTHENTICATED, lambda w, p: Req({"domain_id": "default"})),
    Row("domains.show", ADMIN, lambda w, p: Req({"domain_id": w.ids["foreign_domain"]}),
        variant="foreign"),
    Row("domains.update", ADMIN,
        lambda w, p: Req({"domain_id": w.ids["foreign_domain"]}, _describe("domain"))),
    Row("domains.delete", ADMIN, lambda w, p: Req({"domain_id": w.new_domain(enabled=False)})),
    # ---- projects: readers of the project itself may show it; managing needs admin
    Row("projects.list", ADMIN),
    Row("projects.create", ADMIN, lambda w, p: Req(body={"project": {
        "name": unique("pp"), "domain_id": "default"}})),
    Row("projects.show", frozenset({"admin", "member", "reader"}),
        lambda w, p: Req({"project_id": w.member.project_id})),
    # the other persona's own project: being its member does not make one its manager
    Row("projects.update", ADMIN, lambda w, p: Req(
        {"project_id": w.personas["other"].project_id}, _describe("project"))),
    Row("projects.delete", ADMIN, lambda w, p: Req({"project_id": w.new_project()})),
    # ---- users: a user may read itself; managing users needs admin
    Row("users.list", ADMIN),
    Row("users.create", ADMIN, lambda w, p: Req(body={"user": {
        "name": unique("pu"), "domain_id": "default"}})),
    Row("users.show", ADMIN_OR_MEMBER, _member_user),
    Row("users.show", AUTHENTICATED, lambda w, p: Req({"user_id": _self(w, p).user_id}),
        variant="self"),
    Row("users.update", ADMIN, lambda w, p: Req(
        {"user_id": _self(w, p).user_id}, {"user": {"description": None}}), variant="self"),
    Row("users.delete", ADMIN, lambda w, p: Req({"user_id": w.new_user()})),
    # user_id:%(target.user.id)s -- only oneself, admin included. A change revokes
    # every token of the user, so only the module's own personas change theirs (to
    # the same password; keystoneauth re-authenticates): revoking the bootstrap
    # admin's or demo's tokens would break other modules' cached sessions.
    Row("users.change_password", frozenset({"reader", "other"}), _own_password_change,
        variant="self", personas=("reader", "other", "anonymous")),
    Row("users.change_password", NOBODY, lambda w, p: Req(
        {"user_id": w.new_user("pw-victim")},
        {"user": {"original_password": "pw-victim", "password": "pw-changed"}}),
        variant="another user"),
    Row("users.projects", ADMIN_OR_MEMBER, _member_user),
    Row("users.groups", ADMIN_OR_MEMBER, _member_user),
    # ---- groups: readers and managers of the group's domain (domain scope) only
    Row("groups.list", ADMIN),
    Row("groups.create", ADMIN, lambda w, p: Req(body={"group": {"name": unique("pg")}})),
    Row("groups.show", ADMIN, lambda w, p: Req({"group_id": w.ids["group"]})),
    Row("groups.update", ADMIN, lambda w, p: Req({"group_id": w.ids["group"]},
                                                 _describe("group"))),
    Row("groups.delete", ADMIN, lambda w, p: Req({"group_id": w.new_group()})),
    Row("groups.users", ADMIN, lambda w, p: Req({"group_id": w.ids["group"]})),
    Row("groups.add_user", ADMIN, lambda w, p: _membership(w, p, w.new_group())),
    Row("groups.check_user@head", ADMIN, _membership),
    Row("groups.check_user", ADMIN, _membership),
    Row("groups.remove_user", ADMIN,
        lambda w, p: _membership(w, p, w.new_group(w.ids["bystander"]))),
    # ---- roles and implied roles: admin (or a system reader / domain manager)
    Row("roles.list", ADMIN),
    Row("roles.create", ADMIN, lambda w, p: Req(body={"role": {"name": unique("pr")}})),
    Row("roles.show", ADMIN, lambda w, p: Req({"role_id": w.roles["member"]})),
    Row("roles.update", ADMIN, lambda w, p: Req({"role_id": w.ids["role"]}, _describe("role"))),
    Row("roles.delete", ADMIN, lambda w, p: Req({"role_id": w.new_role()})),
    Row("roles.implies", ADMIN, lambda w, p: Req({"prior_role_id": w.roles["admin"]})),
    Row("roles.create_implied", ADMIN, _role_pair),
    Row("roles.show_implied", ADMIN, lambda w, p: Req({
        "prior_role_id": w.roles["admin"], "implied_role_id": w.roles["member"]})),
    Row("roles.check_implied", ADMIN, lambda w, p: Req({
        "prior_role_id": w.roles["admin"], "implied_role_id": w.roles["member"]})),
    Row("roles.delete_implied", ADMIN, _implied_pair),
    Row("roles.inference_rules", ADMIN),
    # ---- grants and role assignments
    *_grant_rows("project_user"),
    *_grant_rows("project_group"),
    *_grant_rows("domain_user"),
    *_grant_rows("domain_group"),
    Row("role_assignments.list", ADMIN),
    # ---- catalog: regions are public to any token; the rest is admin's
    Row("regions.list", AUTHENTICATED),
    Row("regions.create", ADMIN, lambda w, p: Req(body={"region": {"id": unique("preg")}})),
    Row("regions.show", AUTHENTICATED, lambda w, p: Req({"region_id": w.ids["region"]})),
    Row("regions.update", ADMIN, lambda w, p: Req({"region_id": w.ids["region"]},
                                                  _describe("region"))),
    Row("regions.delete", ADMIN, lambda w, p: Req({"region_id": w.new_region()})),
    Row("services.list", ADMIN),
    Row("services.create", ADMIN, lambda w, p: Req(body={"service": {
        "type": unique("psvc"), "enabled": False}})),
    Row("services.show", ADMIN, lambda w, p: Req({"service_id": w.ids["service"]})),
    Row("services.update", ADMIN, lambda w, p: Req({"service_id": w.ids["service"]},
                                                   _describe("service"))),
    Row("services.delete", ADMIN, lambda w, p: Req({"service_id": w.new_service()})),
    Row("endpoints.list", ADMIN),
    Row("endpoints.create", ADMIN, lambda w, p: Req(body={"endpoint": {
        "service_id": w.ids["service"], "interface": "internal", "enabled": False,
        "url": "http://persona.invalid/y", "region_id": w.ids["region"]}})),
    Row("endpoints.show", ADMIN, lambda w, p: Req({"endpoint_id": w.ids["endpoint"]})),
    Row("endpoints.update", ADMIN, lambda w, p: Req({"endpoint_id": w.ids["endpoint"]},
                                                    {"endpoint": {"enabled": False}})),
    Row("endpoints.delete", ADMIN, lambda w, p: Req({"endpoint_id": w.new_endpoint()})),
    # ---- EC2 credentials: reading needs ownership; creating and deleting also
    # role:member (CRED_OWNER_MEMBER), so a reader may list its own but not make one
    Row("ec2_credentials.list", ADMIN_OR_MEMBER, _member_user),
    Row("ec2_credentials.list", AUTHENTICATED,
        lambda w, p: Req({"user_id": _self(w, p).user_id}), variant="self"),
    Row("ec2_credentials.create", ADMIN_OR_MEMBER,
        lambda w, p: Req({"user_id": w.member.user_id}, {"tenant_id": w.member.project_id})),
    Row("ec2_credentials.create", frozenset({"admin", "member", "other"}), _ec2_self_body,
        variant="self"),
    Row("ec2_credentials.show", ADMIN_OR_MEMBER, lambda w, p: Req({
        "user_id": w.member.user_id, "credential_id": w.member_ec2["access"]})),
    Row("ec2_credentials.delete", ADMIN_OR_MEMBER, lambda w, p: Req({
        "user_id": w.member.user_id,
        "credential_id": w.new_ec2(w.member.user_id, w.member.project_id)})),
    Row("ec2_credentials.delete", frozenset({"admin", "member", "other"}), _ec2_fresh_own,
        variant="self"),
    # ---- application credentials: only the owner creates (admin included); admin
    # or the owner read and delete
    Row("app_credentials.list", ADMIN_OR_MEMBER, _member_user),
    Row("app_credentials.create", frozenset({"member"}), lambda w, p: Req(
        {"user_id": w.member.user_id}, {"application_credential": {"name": unique("pac")}})),
    Row("app_credentials.create", AUTHENTICATED, lambda w, p: Req(
        {"user_id": _self(w, p).user_id}, {"application_credential": {"name": unique("pac")}}),
        variant="self"),
    Row("app_credentials.show", ADMIN_OR_MEMBER, lambda w, p: Req({
        "user_id": w.member.user_id,
        "application_credential_id": w.ids["member_app_cred"]})),
    Row("app_credentials.delete", ADMIN_OR_MEMBER, lambda w, p: Req({
        "user_id": w.member.user_id, "application_credential_id": w.new_member_app_cred()})),
]
ROWS: dict[str, Row] = {row.key: row for row in ROWS_LIST}


# ---------------------------------------------------------------- the persona cases

@pytest.mark.parametrize(("operation", "persona"), persona_cases(ROWS_LIST))
def test_persona(world: World, operation: str, persona: str) -> None:
    row = ROWS[operation]
    op = SPEC[row.op]
    caller = world.personas[persona]
    req = row.build(world, caller)
    path = request_path(op.path, req.params)
    r = caller.session.request(f"{world.base}{path}", op.method, json=req.body,
                               headers=dict(req.headers), raise_exc=False)
    # Identity hides nothing: a valid token that policy refuses is 403.
    expected = expected_status(persona, row.allowed, SPEC[row.op].success)
    assert r.status_code == expected, (
        f"{op.method} {path} as {persona} ({op.policy}): expected {expected}, "
        f"got {r.status_code} {r.text[:300]}")
    if expected in (401, 403) and op.method != "HEAD":
        assert r.json()["error"]["code"] == expected


# ---------------------------------------------------------------- meta-tests

def test_every_spec_operation_has_persona_cases() -> None:
    assert_rows_cover(SPEC, ROWS_LIST)


def test_table_agrees_with_rules_and_spec() -> None:
    """Each operation is allowed to someone; one needing a token is refused to
    anonymous; one whose rule is not open ("@" or "") is refused to some persona
    holding a token, and an open one to none."""
    checks = {rule.name: rule.check_str for rule in all_defaults()}
    problems = []
    for op_id, op in SPEC.items():
        rows = [row for row in ROWS_LIST if row.op == op_id]
        allowed = set().union(*(row.allowed for row in rows))
        refused = set().union(*(set(row.personas) - row.allowed for row in rows))
        if any(not row.allowed <= set(row.personas) for row in rows):
            problems.append(f"{op_id}: a persona allowed is never tried")
        if not allowed & AUTHENTICATED:
            problems.append(f"{op_id}: nobody is allowed")
        if op.needs_token != ("anonymous" in refused):
            problems.append(f"{op_id}: anonymous expectation contradicts x-auth")
        open_rule = checks.get(op.policy or "", "!") in ("", "@")
        if open_rule == bool(refused & AUTHENTICATED):
            problems.append(f"{op_id}: token holders' expectations contradict "
                            f"{op.policy} ({checks.get(op.policy or '')!r})")
    assert problems == []


def _head_operations_with_own_rule() -> list:
    """HEAD operations whose rule differs from that of the GET on the same path."""
    get_rule = {op.path: op.policy for op in SPEC.values() if op.method == "GET"}
    return [pytest.param(op.operation_id, id=op.operation_id)
            for op in SPEC.values()
            if op.method == "HEAD" and get_rule.get(op.path, op.policy) != op.policy]


@pytest.mark.parametrize("operation", _head_operations_with_own_rule())
def test_head_operation_enforces_its_own_rule(world: World, server, operation: str) -> None:
    """Overriding a HEAD operation's rule (to "!") must refuse even admin: the
    rule named in the spec is the one enforced, not the GET's."""
    row, op = ROWS[operation], SPEC[operation]
    admin = world.admin
    req = row.build(world, admin)
    policy = server.data_dir / "policy.yaml"
    policy.write_text(yaml.safe_dump({op.policy: "!"}))
    try:
        r = admin.session.request(f"{world.base}{op.path.format(**req.params)}", op.method,
                                  headers=dict(req.headers), raise_exc=False)
    finally:
        policy.unlink()
    assert r.status_code == 403
