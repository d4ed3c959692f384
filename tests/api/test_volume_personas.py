"""Every Block Storage v3 operation in the spec, tried by five personas on a
live server (the personas of ``tests/support/personas.py``).

Expectations come from Cinder's default rules (secure RBAC) as
``core/policy/defaults/volume.py`` writes them: a project's readers see its
volumes, snapshots and attachments, its members change them, another project
does not learn they exist (404); types, quotas, services and pools are
managed by admins; everyone with a token sees the types, the limits and the
zones. Cases that change state act on fresh resources.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import unique
from tests.support.cinder import Cinder
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

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "volume-v3.yaml"
SPEC = load_spec_operations(SPEC_PATH)
VERSION = {"OpenStack-API-Version": "volume 3.71"}
INSTANCE = "7d0c5d2a-1b3c-4d5e-8f90-a1b2c3d4e5f6"


@dataclass
class World:
    base: str  # .../volume
    personas: dict[str, Persona]
    ids: dict[str, str] = field(default_factory=dict)
    refused: dict[str, Any] = field(default_factory=dict)  # row key -> its shared Req

    def api(self, who: str) -> Cinder:
        return Cinder(self.personas[who].session, f"{self.base}/v3", "3.71")

    def project(self, persona: str) -> str:
        pid = self.personas[persona].project_id
        assert pid
        return pid

    # ---- fresh resources, made by the member (or the admin for types)
    def volume(self) -> str:
        api = self.api("member")
        vid = api.create_volume(1, name=unique("pv"), metadata={"k": "v"})["id"]
        api.wait("volumes", vid)
        return vid

    def snapshot(self) -> str:
        api = self.api("member")
        sid = api.ok("POST", "/snapshots", {"snapshot": {
            "volume_id": self.ids["snapvol"], "name": unique("ps"),
            "metadata": {"k": "v"}}})["snapshot"]["id"]
        api.wait("snapshots", sid)
        return sid

    def attachment(self, connected: bool = False) -> str:
        api = self.api("member")
        att = api.ok("POST", "/attachments", {"attachment": {
            "volume_uuid": self.volume(), "instance_uuid": INSTANCE}})["attachment"]["id"]
        if connected:
            api.ok("PUT", f"/attachments/{att}", {"attachment": {"connector": {
                "host": "h1", "mountpoint": "/dev/vdb"}}})
        return att

    def volume_type(self) -> str:
        return self.api("admin").ok("POST", "/types", {"volume_type": {
            "name": unique("pt"), "extra_specs": {"multiattach": "<is> False"}}}
        )["volume_type"]["id"]


@pytest.fixture(scope="module")
def world(server) -> World:
    identity = admin_identity(server, prefix="vol-persona")
    w = World(base=f"{server.url}/volume", personas=make_personas(identity, "new"))
    w.api("admin").ok("PUT", f"/os-quota-sets/{w.project('member')}", {"quota_set": {
        "volumes": 300, "gigabytes": 3000, "snapshots": 100}})
    w.ids["third"] = identity.new_project()["id"]  # whose quotas the rows change
    w.ids["volume"] = w.volume()
    w.ids["snapvol"] = w.volume()
    w.ids["snapshot"] = w.snapshot()
    w.ids["attachment"] = w.attachment()
    w.ids["type"] = w.volume_type()
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
    success: int | None = None  # when not the spec's lowest (the actions: 202)

    @property
    def key(self) -> str:
        return f"{self.op}({self.variant})" if self.variant else self.op


OWNER = frozenset({"admin", "member"})
PROJECT = frozenset({"admin", "member", "reader"})
CREATORS = frozenset({"admin", "member", "other"})
NOT_PROJECT = frozenset({"other"})


def _id(param: str, name: str, body: Any = None, **extra: str) -> Builder:
    """The long-lived resource ``name`` (``w.ids``) as ``param``; ``extra``
    path parameters (``key``)."""
    return lambda w, p: Req({param: w.ids[name], **extra}, body)


def _fresh(param: str, make: Callable[[World], str], body: Any = None,
           **extra: str) -> Builder:
    return lambda w, p: Req({param: make(w), **extra}, body)


def _body(make: Callable[[World], Any]) -> Builder:
    return lambda w, p: Req(body=make(w))


def _action(body: Any) -> Builder:
    return _fresh("volume_id", World.volume, body)


def _act(variant: str, allowed: frozenset[str], body: Any, success: int = 202) -> Row:
    return Row("volume_actions.act", allowed, _action(body), variant=variant,
               hidden=NOT_PROJECT, success=success)


ROWS_LIST: list[Row] = [
    Row("volume_versions.list", EVERYONE),
    Row("volume_versions.show", EVERYONE),
    # ---- volumes
    Row("volumes.list", AUTHENTICATED),
    Row("volumes.detail", AUTHENTICATED),
    Row("volumes.create", CREATORS, _body(lambda w: {"volume": {"size": 1}})),
    Row("volumes.show", PROJECT, _id("volume_id", "volume"), hidden=NOT_PROJECT),
    Row("volumes.update", OWNER, _id("volume_id", "volume", {"volume": {
        "description": "x"}}), hidden=NOT_PROJECT),
    Row("volumes.delete", OWNER, _fresh("volume_id", World.volume), hidden=NOT_PROJECT),
    Row("volume_metadata.list", PROJECT, _id("volume_id", "volume"), hidden=NOT_PROJECT),
    Row("volume_metadata.merge", OWNER, _id("volume_id", "volume", {"metadata": {
        "m": "1"}}), hidden=NOT_PROJECT),
    Row("volume_metadata.replace", OWNER, _id("volume_id", "volume", {"metadata": {
        "k": "v"}}), hidden=NOT_PROJECT),
    Row("volume_metadata.show", PROJECT, _id("volume_id", "volume", key="k"),
        hidden=NOT_PROJECT),
    Row("volume_metadata.set", OWNER, _id("volume_id", "volume", {"meta": {"k": "v"}},
                                          key="k"), hidden=NOT_PROJECT),
    Row("volume_metadata.delete", OWNER, _fresh("volume_id", World.volume, key="k"),
        hidden=NOT_PROJECT),
    _act("", OWNER, {"os-extend": {"new_size": 2}}),
    _act("set_bootable", OWNER, {"os-set_bootable": {"bootable": True}}, success=200),
    _act("readonly", OWNER, {"os-update_readonly_flag": {"readonly": True}}),
    _act("reserve", OWNER, {"os-reserve": {}}),
    _act("reset_status", ADMIN, {"os-reset_status": {"status": "error"}}),
    _act("force_delete", ADMIN, {"os-force_delete": {}}),
    # ---- snapshots
    Row("snapshots.list", AUTHENTICATED),
    Row("snapshots.detail", AUTHENTICATED),
    Row("snapshots.create", OWNER, _body(lambda w: {"snapshot": {
        "volume_id": w.ids["snapvol"]}}), hidden=NOT_PROJECT),
    Row("snapshots.show", PROJECT, _id("snapshot_id", "snapshot"), hidden=NOT_PROJECT),
    Row("snapshots.update", OWNER, _id("snapshot_id", "snapshot", {"snapshot": {
        "description": "x"}}), hidden=NOT_PROJECT),
    Row("snapshots.delete", OWNER, _fresh("snapshot_id", World.snapshot),
        hidden=NOT_PROJECT),
    Row("snapshot_metadata.list", PROJECT, _id("snapshot_id", "snapshot"),
        hidden=NOT_PROJECT),
    Row("snapshot_metadata.merge", OWNER, _id("snapshot_id", "snapshot", {"metadata": {
        "m": "1"}}), hidden=NOT_PROJECT),
    Row("snapshot_metadata.replace", OWNER, _id("snapshot_id", "snapshot", {"metadata": {
        "k": "v"}}), hidden=NOT_PROJECT),
    Row("snapshot_metadata.show", PROJECT, _id("snapshot_id", "snapshot", key="k"),
        hidden=NOT_PROJECT),
    Row("snapshot_metadata.set", OWNER, _id("snapshot_id", "snapshot", {"meta": {
        "k": "v"}}, key="k"), hidden=NOT_PROJECT),
    Row("snapshot_metadata.delete", OWNER, _fresh("snapshot_id", World.snapshot, key="k"),
        hidden=NOT_PROJECT),
    Row("snapshot_actions.act", ADMIN, _fresh("snapshot_id", World.snapshot, {
        "os-reset_status": {"status": "error"}}), hidden=NOT_PROJECT),
    Row("snapshot_actions.act", ADMIN, _fresh("snapshot_id", World.snapshot, {
        "os-force_delete": {}}), variant="force_delete", hidden=NOT_PROJECT),
    # ---- attachments (3.27+)
    Row("attachments.list", AUTHENTICATED),
    Row("attachments.detail", AUTHENTICATED),
    Row("attachments.create", OWNER, lambda w, p: Req(body={"attachment": {
        "volume_uuid": w.volume(), "instance_uuid": INSTANCE}}), hidden=NOT_PROJECT),
    Row("attachments.show", PROJECT, _id("attachment_id", "attachment"),
        hidden=NOT_PROJECT),
    Row("attachments.update", OWNER, _fresh("attachment_id", World.attachment, {
        "attachment": {"connector": {"host": "h1", "mountpoint": "/dev/vdb"}}}),
        hidden=NOT_PROJECT),
    Row("attachments.delete", OWNER, _fresh("attachment_id", World.attachment),
        hidden=NOT_PROJECT),
    Row("attachments.act", OWNER, _fresh("attachment_id",
                                         lambda w: w.attachment(connected=True),
                                         {"os-complete": {}}), hidden=NOT_PROJECT),
    # ---- types and extra specs
    Row("volume_types.list", AUTHENTICATED),
    Row("volume_types.show", AUTHENTICATED, _id("type_id", "type")),
    Row("volume_types.show", AUTHENTICATED, lambda w, p: Req({"type_id": "default"}),
        variant="default"),
    Row("volume_types.create", ADMIN, _body(lambda w: {"volume_type": {
        "name": unique("pt")}})),
    Row("volume_types.update", ADMIN, _fresh("type_id", World.volume_type, {
        "volume_type": {"description": "x"}})),
    Row("volume_types.delete", ADMIN, _fresh("type_id", World.volume_type)),
    Row("extra_specs.list", AUTHENTICATED, _id("type_id", "type")),
    Row("extra_specs.create", ADMIN, _fresh("type_id", World.volume_type, {
        "extra_specs": {"a": "b"}})),
    Row("extra_specs.show", AUTHENTICATED, _id("type_id", "type", key="multiattach")),
    Row("extra_specs.update", ADMIN, _fresh("type_id", World.volume_type, {
        "multiattach": "<is> True"}, key="multiattach")),
    Row("extra_specs.delete", ADMIN, _fresh("type_id", World.volume_type,
                                            key="multiattach")),
    # ---- quotas and limits: readers see their project's; admins change them
    Row("volume_quotas.show", PROJECT, lambda w, p: Req({"project_id": w.project(
        "member")})),
    Row("volume_quotas.show", AUTHENTICATED, lambda w, p: Req({
        "project_id": p.project_id or "x"}), variant="own project",
        personas=("admin", "member", "reader", "other")),
    Row("volume_quotas.defaults", PROJECT, lambda w, p: Req({
        "project_id": w.project("member")})),
    Row("volume_quotas.update", ADMIN, lambda w, p: Req({"project_id": w.ids["third"]}, {
        "quota_set": {"volumes": 20}})),
    Row("volume_quotas.reset", ADMIN, lambda w, p: Req({"project_id": w.ids["third"]})),
    Row("volume_limits.show", AUTHENTICATED),
    # ---- zones, services, pools
    Row("volume_zones.list", AUTHENTICATED),
    Row("volume_services.list", ADMIN),
    Row("volume_pools.list", ADMIN),
]
ROWS = {row.key: row for row in ROWS_LIST}


@pytest.mark.parametrize(("operation", "persona"), persona_cases(ROWS_LIST))
def test_persona(world: World, operation: str, persona: str) -> None:
    row = ROWS[operation]
    op = SPEC[row.op]
    caller = world.personas[persona]
    if persona in row.allowed:
        req = row.build(world, caller)
    else:  # a refused request changes nothing: its target can be shared
        req = world.refused.get(row.key) or world.refused.setdefault(
            row.key, row.build(world, caller))
    path = request_path(op.path, req.params)
    r = caller.session.request(f"{world.base}{path}", op.method, json=req.body,
                               headers=VERSION, raise_exc=False)
    expected = expected_status(persona, row.allowed, row.success or op.success, row.hidden)
    assert r.status_code == expected, (
        f"{op.method} {path} as {persona} ({op.policy}): expected {expected}, "
        f"got {r.status_code} {r.text[:300]}")
    if expected >= 400:
        (fault,) = r.json().values()
        assert fault["code"] == expected and fault["message"], fault


def test_every_spec_operation_has_persona_cases() -> None:
    assert_rows_cover(SPEC, ROWS_LIST)
