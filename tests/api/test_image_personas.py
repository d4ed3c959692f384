"""Every Image v2 operation in the spec, tried by five personas on a live server.

Expectations come from Glance's semantics and the default check strings in
``core/policy/defaults/image.py`` -- never from what the server happens to
answer:

``admin``      the bootstrap admin, admin on project ``admin``
``member``     the bootstrap ``demo`` user, member on project ``demo``
``reader``     a new user with only the reader role on project ``demo``
``other``      a new user, member on a new project of its own
``anonymous``  no token at all

"Allowed" is the operation's success status in the spec. A refusal is 401
without a token; for a valid token it is 404 when the caller may not see the
image at all (Glance hides another project's private image, and a shared
image it is no member of, rather than admit it exists) and 403 when it may see
the image but policy refuses the action. Cases that change state act on fresh
images, so no case depends on another having run.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

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

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "image-v2.yaml"
PATCH_TYPE = "application/openstack-images-v2.1-json-patch"
DATA = b"nimbus persona image data\n" * 64
REMOTE = b"remote disk bytes " * 100


# ---------------------------------------------------------------- the spec

SPEC = load_spec_operations(SPEC_PATH)


# ---------------------------------------------------------------- personas and world

@dataclass
class World:
    """The personas and the long-lived images every read-only case may use."""

    base: str  # .../image
    personas: dict[str, Persona]
    remote_url: str  # a file on a local HTTP server, for locations and web-download
    ids: dict[str, str] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)

    def persona(self, name: str) -> Persona:
        return self.personas[name]

    def call(self, who: str, method: str, path: str, body: Any = None, data: bytes | None = None,
             headers: Mapping[str, str] | None = None) -> Any:
        """A setup request that must succeed; its JSON body, if any."""
        return setup_call(self.persona(who).session, self.base, method, path, json=body,
                          data=data, headers=dict(headers or {}))

    def project(self, persona: str) -> str:
        pid = self.persona(persona).project_id
        assert pid
        return pid

    def new_image(self, owner: str = "member", visibility: str = "private",
                  data: bytes | None = None, members: Mapping[str, str] | None = None,
                  tags: tuple[str, ...] = (), deactivated: bool = False) -> str:
        """A fresh image made by ``owner``'s session; ``members`` maps project ids
        to the status each member project then sets (or "pending")."""
        image = self.call(owner, "POST", "/v2/images", {
            "name": unique("persona-img"), "disk_format": "raw", "container_format": "bare",
            "visibility": visibility, "tags": list(tags)})
        image_id = image["id"]
        self.created.append(image_id)
        if data is not None:
            self.call(owner, "PUT", f"/v2/images/{image_id}/file", data=data,
                      headers={"Content-Type": "application/octet-stream"})
        for project_id, status in (members or {}).items():
            self.call(owner, "POST", f"/v2/images/{image_id}/members", {"member": project_id})
            if status != "pending":
                self.call("admin", "PUT", f"/v2/images/{image_id}/members/{project_id}",
                          {"status": status})
        if deactivated:
            self.call("admin", "POST", f"/v2/images/{image_id}/actions/deactivate")
        return image_id


def _serve(directory: Path) -> tuple[ThreadingHTTPServer, threading.Thread]:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    return httpd, thread


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def world(server, tmp_path_factory) -> World:
    served = tmp_path_factory.mktemp("persona-http")
    (served / "disk.img").write_bytes(REMOTE)
    httpd, thread = _serve(served)

    identity = admin_identity(server, prefix="img-persona")
    w = World(base=f"{server.url}/image", remote_url=f"http://127.0.0.1:"
              f"{httpd.server_address[1]}/disk.img",
              personas=make_personas(identity, member="demo"))
    other, third = w.project("other"), identity.new_project()["id"]
    w.ids.update(
        third_project=third,
        member_private=w.new_image("member", "private", DATA),
        # shared with other (accepted) and with a third project
        member_shared=w.new_image("member", "shared", DATA,
                                  {other: "accepted", third: "pending"}),
        member_deactivated=w.new_image("member", "private", DATA, deactivated=True),
        admin_public=w.new_image("admin", "public", DATA),
        admin_private=w.new_image("admin", "private", DATA),
        admin_unshared=w.new_image("admin", "shared", DATA),
        other_community=w.new_image("other", "community", DATA))
    yield w
    for image_id in w.created:  # best effort: another module may count images
        w.persona("admin").session.delete(f"{w.base}/v2/images/{image_id}", raise_exc=False)
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


# ---------------------------------------------------------------- the table

@dataclass(frozen=True)
class Req:
    params: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    data: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)


Builder = Callable[[World, Persona], Req]
Checker = Callable[[World, Persona, Any], None]


@dataclass(frozen=True)
class Row:
    """One request shape for an operation: who policy lets through, and who may
    not even see the image (404)."""

    op: str
    allowed: frozenset[str]
    build: Builder = lambda w, p: Req()
    variant: str = ""
    hidden: frozenset[str] = frozenset()
    rules: tuple[str, ...] = ()  # rules besides the op's x-policy this row exercises
    check: Checker | None = None  # more about an allowed answer than its status
    xfail: Mapping[str, str] = field(default_factory=dict)  # persona -> known bug
    personas: tuple[str, ...] = PERSONAS  # who tries it

    @property
    def key(self) -> str:
        return f"{self.op}({self.variant})" if self.variant else self.op


OWNER = frozenset({"admin", "member"})  # admin, or a member of the owning project
DEMO = frozenset({"admin", "member", "reader"})  # admin, or anyone on project demo
CREATORS = frozenset({"admin", "member", "other"})  # role:member on its own project
NOT_DEMO = frozenset({"other"})
ONLY_ADMIN_SEES = frozenset({"member", "reader", "other"})


def _image(key: str) -> Builder:
    return lambda w, p: Req({"image_id": w.ids[key]})


def _fresh(owner: str = "member", **kw: Any) -> Builder:
    return lambda w, p: Req({"image_id": w.new_image(owner, **kw)})


def _patch(ops: list[dict], owner: str = "member", **kw: Any) -> Builder:
    return lambda w, p: Req({"image_id": w.new_image(owner, **kw)}, body=ops,
                            headers={"Content-Type": PATCH_TYPE})


def _create(**values: Any) -> Builder:
    def build(w: World, p: Persona) -> Req:
        body = {"name": unique("persona-new"), "disk_format": "raw",
                "container_format": "bare", "visibility": "private", **values}
        if body.get("owner") == "third":
            body["owner"] = w.ids["third_project"]
        return Req(body=body)
    return build


def _shared_with(*projects: str, status: str = "accepted", owner: str = "member") -> Callable:
    """A fresh shared image made by ``owner``, shared with the named personas'
    projects (or ``third``) with ``status``."""
    def make(w: World) -> str:
        ids = [w.ids["third_project"] if name == "third" else w.project(name)
               for name in projects]
        return w.new_image(owner, "shared", DATA, dict.fromkeys(ids, status))
    return make


def _upload(w: World, p: Persona, image_id: str) -> Req:
    return Req({"image_id": image_id}, data=b"persona upload " * 64,
               headers={"Content-Type": "application/octet-stream"})


def _member_req(make: Callable, member: str, body: Any = None) -> Builder:
    def build(w: World, p: Persona) -> Req:
        member_id = w.ids["third_project"] if member == "third" else w.project(member)
        return Req({"image_id": make(w), "member_id": member_id}, body=body)
    return build


def _listed_ids(w: World, p: Persona, r: Any) -> None:
    """Admin lists everything; others list public images, their own, and images
    shared with them and accepted -- community images only when asked for, or
    their own."""
    listed = {
        "admin": {"member_private", "member_shared", "admin_public", "admin_private",
                  "other_community"},
        "member": {"member_private", "member_shared", "admin_public"},
        "reader": {"member_private", "member_shared", "admin_public"},
        "other": {"member_shared", "admin_public", "other_community"},
    }[p.name]
    seen = {i["id"] for i in r.json()["images"]}
    names = {v: k for k, v in w.ids.items()}
    assert seen == {w.ids[k] for k in listed}, sorted(names.get(i, i) for i in seen)


def _members_seen(w: World, p: Persona, r: Any) -> None:
    seen = {m["member_id"] for m in r.json()["members"]}
    everyone = {w.project("other"), w.ids["third_project"]}
    assert seen == ({w.project("other")} if p.name == "other" else everyone), seen


def _data(w: World, p: Persona, r: Any) -> None:
    assert r.content == DATA


def _status_becomes(status: str) -> Checker:
    def check(w: World, p: Persona, r: Any) -> None:
        assert r.json()["status"] == status
    return check


def _query_listing(w: World, p: Persona) -> Req:
    keys = ("member_private", "member_shared", "admin_public", "admin_private",
            "other_community")
    return Req(query={"id": "in:" + ",".join(w.ids[k] for k in keys)})


ROWS_LIST: list[Row] = [
    # ---- discovery and schemas need no token; info is "@" but needs one
    Row("image_versions.list", EVERYONE),
    Row("image_versions.list@v2", EVERYONE),
    Row("image_schemas.image_schema", EVERYONE),
    Row("image_schemas.images_schema", EVERYONE),
    Row("image_schemas.member_schema", EVERYONE),
    Row("image_schemas.members_schema", EVERYONE),
    Row("image_info.stores", AUTHENTICATED),
    Row("image_info.import_methods", AUTHENTICATED),
    # ---- listing: any project reader may list; what it lists is what it may see
    Row("images.list", AUTHENTICATED, _query_listing, check=_listed_ids),
    # ---- create: role:member on the owner project; public needs admin
    Row("images.create", CREATORS, _create()),
    Row("images.create", ADMIN, _create(visibility="public"), variant="public",
        rules=("image:publicize_image",)),
    Row("images.create", CREATORS, _create(visibility="community"), variant="community",
        rules=("image:communitize_image",)),
    Row("images.create", ADMIN, _create(owner="third"), variant="for another project"),
    # ---- show: readers of the owner, members of a shared image, anyone for
    # public and community; others do not learn it exists
    Row("images.show", DEMO, _image("member_private"), variant="private", hidden=NOT_DEMO),
    Row("images.show", AUTHENTICATED, _image("admin_public"), variant="public"),
    Row("images.show", AUTHENTICATED, _image("member_shared"), variant="shared with other"),
    Row("images.show", ADMIN, _image("admin_unshared"), variant="shared with nobody",
        hidden=ONLY_ADMIN_SEES),
    Row("images.show", ADMIN, _image("admin_private"), variant="admin's private",
        hidden=ONLY_ADMIN_SEES),
    Row("images.show", AUTHENTICATED, _image("other_community"), variant="community"),
    # ---- update: role:member on the owner project
    Row("images.update", OWNER, _patch([{"op": "add", "path": "/color", "value": "red"}]),
        variant="own private", hidden=NOT_DEMO),
    Row("images.update", ADMIN, _patch([{"op": "add", "path": "/color", "value": "red"}],
                                       owner="admin", visibility="public"),
        variant="admin's public"),
    Row("images.update", OWNER, lambda w, p: Req(
        {"image_id": _shared_with("other")(w)}, [{"op": "add", "path": "/c", "value": "x"}],
        headers={"Content-Type": PATCH_TYPE}), variant="shared, as member"),
    Row("images.update", ADMIN, _patch([{"op": "replace", "path": "/visibility",
                                         "value": "public"}]),
        variant="publicize", hidden=NOT_DEMO, rules=("image:publicize_image",)),
    Row("images.update", OWNER, _patch([{"op": "replace", "path": "/visibility",
                                         "value": "community"}]),
        variant="communitize", hidden=NOT_DEMO, rules=("image:communitize_image",)),
    Row("images.update", ADMIN, lambda w, p: Req(
        {"image_id": w.new_image("member")},
        [{"op": "add", "path": "/locations/-", "value": {"url": w.remote_url, "metadata": {}}}],
        headers={"Content-Type": PATCH_TYPE}),
        variant="add location", hidden=NOT_DEMO, rules=("image:set_image_location",),
        check=_status_becomes("active")),
    # ---- delete
    Row("images.delete", OWNER, _fresh(), variant="own private", hidden=NOT_DEMO),
    Row("images.delete", ADMIN, _fresh("admin", visibility="public"), variant="admin's public"),
    # ---- deactivate / reactivate: role:member on the owner project (Glance's
    # ADMIN_OR_PROJECT_MEMBER)
    Row("images.deactivate", OWNER, _fresh(data=DATA), variant="own private",
        hidden=NOT_DEMO),
    Row("images.deactivate", ADMIN, _fresh("admin", visibility="public", data=DATA),
        variant="public"),
    Row("images.reactivate", OWNER, _fresh(data=DATA, deactivated=True), variant="own private",
        hidden=NOT_DEMO),
    Row("images.reactivate", ADMIN, _fresh("admin", visibility="public", data=DATA,
                                           deactivated=True), variant="public"),
    # ---- tags
    Row("images.add_tag", OWNER, lambda w, p: Req({"image_id": w.new_image(), "tag": "t1"}),
        variant="own private", hidden=NOT_DEMO),
    Row("images.add_tag", ADMIN, lambda w, p: Req(
        {"image_id": w.new_image("admin", "public"), "tag": "t1"}), variant="admin's public"),
    Row("images.delete_tag", OWNER, lambda w, p: Req(
        {"image_id": w.new_image(tags=("t1",)), "tag": "t1"}), hidden=NOT_DEMO),
    # ---- data: upload needs role:member on the owner; download any reader who sees it
    Row("image_data.upload", OWNER, lambda w, p: _upload(w, p, w.new_image()),
        variant="own private", hidden=NOT_DEMO),
    Row("image_data.upload", OWNER, lambda w, p: _upload(
        w, p, w.new_image("member", "shared", members={w.project("other"): "accepted"})),
        variant="shared, as member"),
    Row("image_data.download", DEMO, _image("member_private"), variant="private",
        hidden=NOT_DEMO, check=_data),
    Row("image_data.download", AUTHENTICATED, _image("admin_public"), variant="public",
        check=_data),
    Row("image_data.download", AUTHENTICATED, _image("member_shared"),
        variant="shared with other", check=_data),
    # Glance: "The requested image has been deactivated. Image data download is forbidden."
    Row("image_data.download", ADMIN, _image("member_deactivated"), variant="deactivated",
        hidden=NOT_DEMO, check=_data),
    Row("image_data.import_image", OWNER, lambda w, p: Req(
        {"image_id": w.new_image()},
        {"method": {"name": "web-download", "uri": w.remote_url}}), hidden=NOT_DEMO),
    # ---- members: the owner shares; a member sees its own membership only and
    # alone accepts or rejects it; a project the image is not shared with sees nothing
    Row("image_members.list", AUTHENTICATED, _image("member_shared"),
        variant="shared with other", check=_members_seen),
    Row("image_members.list", ADMIN, _image("admin_unshared"), variant="shared with nobody",
        hidden=ONLY_ADMIN_SEES),
    Row("image_members.add", OWNER, lambda w, p: Req(
        {"image_id": w.new_image("member", "shared")}, {"member": w.ids["third_project"]}),
        variant="not shared with other", hidden=NOT_DEMO),
    Row("image_members.add", OWNER, lambda w, p: Req(
        {"image_id": _shared_with("other")(w)}, {"member": w.ids["third_project"]}),
        variant="as member"),
    Row("image_members.show", AUTHENTICATED, lambda w, p: Req(
        {"image_id": w.ids["member_shared"], "member_id": w.project("other")}),
        variant="other's membership"),
    Row("image_members.show", DEMO, lambda w, p: Req(
        {"image_id": w.ids["member_shared"], "member_id": w.ids["third_project"]}),
        variant="a third project's membership", hidden=NOT_DEMO),
    Row("image_members.update", frozenset({"admin", "other"}), _member_req(
        _shared_with("other", status="pending"), "other", {"status": "accepted"}),
        variant="other accepts", check=_status_becomes("accepted")),
    Row("image_members.update", OWNER, _member_req(
        _shared_with("member", status="pending", owner="other"), "member",
        {"status": "rejected"}), variant="demo rejects", check=_status_becomes("rejected")),
    Row("image_members.update", ADMIN, _member_req(
        _shared_with("other", "third", status="pending"), "third", {"status": "accepted"}),
        variant="a third project's membership", hidden=NOT_DEMO),
    Row("image_members.delete", OWNER, _member_req(_shared_with("other"), "other")),
]
ROWS: dict[str, Row] = {row.key: row for row in ROWS_LIST}

# Rules that guard no operation of their own and that no row can exercise.
UNEXERCISED_RULES = {
    # Nimbus never shows locations (no `locations` or `direct_url` in an image).
    "image:get_image_location": "locations are never shown",
    # An image has one location; removing it is refused to everyone, as Glance
    # refuses to remove the last location of an image.
    "image:delete_image_location": "the only location cannot be removed",
}
# Non-open rules every persona holding a project token passes: each has the
# reader role on its project, and only the scope of the token could refuse it.
GRANTED_TO_EVERY_PROJECT_READER = {"image:get_images"}


# ---------------------------------------------------------------- the persona cases

@pytest.mark.parametrize(("operation", "persona"), persona_cases(ROWS_LIST))
def test_persona(world: World, operation: str, persona: str) -> None:
    row = ROWS[operation]
    op = SPEC[row.op]
    caller = world.persona(persona)
    req = row.build(world, caller)
    path = request_path(op.path, req.params)
    r = caller.session.request(f"{world.base}{path}", op.method, json=req.body, data=req.data,
                               params=dict(req.query), headers=dict(req.headers),
                               raise_exc=False)
    if r.status_code == 201 and row.op == "images.create":
        world.created.append(r.json()["id"])
    expected = expected_status(persona, row.allowed, SPEC[row.op].success, row.hidden)
    assert r.status_code == expected, (
        f"{op.method} {path} as {persona} ({op.policy}): expected {expected}, "
        f"got {r.status_code} {r.text[:300]}")
    if expected >= 400:
        body = r.json()
        assert body["code"].startswith(str(expected)) and body["message"], body
    elif row.check is not None:
        row.check(world, caller, r)


# ---------------------------------------------------------------- meta-tests

def test_every_spec_operation_has_persona_cases() -> None:
    assert_rows_cover(SPEC, ROWS_LIST)


def test_every_image_rule_is_exercised() -> None:
    """Rules that guard part of an operation (publicize, locations) have rows too."""
    image_rules = {rule.name for rule in all_defaults() if rule.name.startswith("image:")}
    exercised = {op.policy for op in SPEC.values()} | {
        rule for row in ROWS_LIST for rule in row.rules}
    assert sorted(image_rules - exercised - set(UNEXERCISED_RULES)) == []
    assert sorted((exercised | set(UNEXERCISED_RULES)) - image_rules) == []


def test_table_agrees_with_rules_and_spec() -> None:
    """Each operation is allowed to someone; one needing a token is refused to
    anonymous; one whose rule is open ("@" or "") is refused to no token
    holder, and any other is refused to (or hidden from) some token holder."""
    checks = {rule.name: rule.check_str for rule in all_defaults()}
    problems = []
    for op_id, op in SPEC.items():
        rows = [row for row in ROWS_LIST if row.op == op_id]
        allowed = set().union(*(row.allowed for row in rows))
        refused = set().union(*(set(row.personas) - row.allowed for row in rows))
        if any(not row.allowed <= set(row.personas) for row in rows):
            problems.append(f"{op_id}: a persona allowed is never tried")
        if any(row.hidden & row.allowed or "anonymous" in row.hidden for row in rows):
            problems.append(f"{op_id}: a persona is both allowed and hidden, or anonymous "
                            "is hidden")
        if not allowed & AUTHENTICATED:
            problems.append(f"{op_id}: nobody is allowed")
        if op.needs_token != ("anonymous" in refused):
            problems.append(f"{op_id}: anonymous expectation contradicts x-auth")
        open_rule = checks.get(op.policy or "", "!") in ("", "@")
        refused_holders = bool(refused & AUTHENTICATED)
        if open_rule and refused_holders:
            problems.append(f"{op_id}: {op.policy} is open but a token holder is refused")
        if not open_rule and not refused_holders \
                and op.policy not in GRANTED_TO_EVERY_PROJECT_READER:
            problems.append(f"{op_id}: nobody holding a token is refused "
                            f"{op.policy} ({checks.get(op.policy or '')!r})")
    assert problems == []
