"""Every ``os-volume_attachments`` operation of the compute spec, tried by five
personas on a server of a project of the module's own (Nova's defaults: readers
of the project list and show, members attach and detach; another project does
not learn the server exists, 404; no token, 401)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import unique
from tests.support.cinder import Cinder
from tests.support.identity import setup_call
from tests.support.personas import (
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
SPEC = {op_id: op for op_id, op in load_spec_operations(SPEC_PATH).items()
        if op_id.startswith("volume_attachments.")}
READERS = frozenset({"admin", "member", "reader"})
MEMBERS = frozenset({"admin", "member"})
HIDDEN = frozenset({"other"})  # the server is another project's


@dataclass(frozen=True)
class Row:
    op: str
    allowed: frozenset[str]

    @property
    def key(self) -> str:
        return self.op


ROWS = [Row("volume_attachments.list", READERS), Row("volume_attachments.show", READERS),
        Row("volume_attachments.create", MEMBERS), Row("volume_attachments.delete", MEMBERS),
        Row("volume_attachments.update", MEMBERS)]  # 2.85: delete_on_termination


class World:
    def __init__(self, server, personas) -> None:
        self.personas = personas
        self.base = f"{server.url}/compute/v2.1"
        self.cinder = Cinder(personas["member"].session, f"{server.url}/volume/v3", "3.71")
        image = setup_call(personas["member"].session, f"{server.url}/image/v2", "GET",
                           "/images?name=nimbus-tiny")["images"][0]["id"]
        made = self.call("POST", "/servers", {"server": {
            "name": unique("vol-persona"), "imageRef": image, "flavorRef": "1"}})
        self.server_id = made["server"]["id"]
        self.wait_server()
        self.shared = self.attached()  # read by list/show, refused by every denied delete
        self.spare = self.volume()  # asked for by every denied create (never attached)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        return setup_call(self.personas["member"].session, self.base, method, path, json=body)

    def wait_server(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            shown = self.call("GET", f"/servers/{self.server_id}")["server"]
            if shown["status"] == "ACTIVE" and shown["OS-EXT-STS:task_state"] is None:
                return
            assert shown["status"] != "ERROR", shown
            time.sleep(0.2)
        raise AssertionError("the server did not become ACTIVE")

    def volume(self) -> str:
        vol = self.cinder.create_volume(1, name=unique("pv"))
        return self.cinder.wait("volumes", vol["id"])["id"]

    def attached(self) -> str:
        vol = self.volume()
        self.call("POST", f"/servers/{self.server_id}/os-volume_attachments",
                  {"volumeAttachment": {"volumeId": vol}})
        self.cinder.wait("volumes", vol, "in-use")
        return vol


@pytest.fixture(scope="module")
def world(server) -> World:
    return World(server, make_personas(admin_identity(server, "vol-persona"), member="new"))


def test_every_spec_operation_has_persona_cases() -> None:
    assert_rows_cover(SPEC, ROWS)


@pytest.mark.parametrize(("operation", "persona"), persona_cases(ROWS))
def test_persona(world: World, operation: str, persona: str) -> None:
    row = next(r for r in ROWS if r.key == operation)
    op = SPEC[row.op]
    expected = expected_status(persona, row.allowed, op.success, HIDDEN)
    allowed = expected == op.success
    body = None
    headers = {}
    volume_id = world.shared
    if row.op == "volume_attachments.update":
        body = {"volumeAttachment": {"volumeId": volume_id, "delete_on_termination": False}}
        headers = {"OpenStack-API-Version": "compute 2.85"}
    if row.op == "volume_attachments.create":
        volume_id = world.volume() if allowed else world.spare
        body = {"volumeAttachment": {"volumeId": volume_id}}
    elif row.op == "volume_attachments.delete" and allowed:
        volume_id = world.attached()
    params = {"server_id": world.server_id}
    if "{volume_id}" in op.path:
        params["volume_id"] = volume_id
    path = request_path(op.path.removeprefix("/v2.1"), params)
    r = world.personas[persona].session.request(f"{world.base}{path}", op.method, json=body,
                                                headers=headers, raise_exc=False)
    assert r.status_code == expected, f"{persona} {op.method} {path}: {r.text[:300]}"
    if allowed and row.op == "volume_attachments.create":
        assert r.json()["volumeAttachment"]["device"].startswith("/dev/vd")
    if allowed and row.op == "volume_attachments.delete":
        world.cinder.wait("volumes", volume_id, "available")
