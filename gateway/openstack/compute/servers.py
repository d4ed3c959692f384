"""Server handlers: ``/servers``, ``/servers/detail``, ``/servers/{id}`` and its
metadata, tags, addresses and actions (instance actions: instance_actions.py)."""

from __future__ import annotations

import re
import secrets
import string
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from connexion import NoContent, request

from core import errors
from core.clock import parse_timestamp
from core.compute import boot_volumes
from core.compute.server_actions import ServerActions
from core.compute.server_listing import ADMIN_SORT_KEYS, SORT_KEYS, ServerQuery
from core.compute.servers import BootRequest, ServerService
from core.context import RequestContext
from core.numbers import INT64_MIN, BadInteger, as_int, parse_int
from gateway.openstack.compute import (
    consoles,  # noqa: F401 - registers its actions
    microversions,
    server_actions,
    server_actions_move,  # noqa: F401 - registers its actions
    server_actions_state,  # noqa: F401 - registers its actions
)
from gateway.openstack.compute.base import MAX_INT, ComputeDeps, Handler, parse_bool
from gateway.openstack.compute.interfaces import boot_networks
from gateway.openstack.compute.server_views import ServerViews

NO_CONTENT = (NoContent, 204)
ACCEPTED = (NoContent, 202)
_PASSWORD_CHARS = string.ascii_letters + string.digits


def _admin_password() -> str:
    return "".join(secrets.choice(_PASSWORD_CHARS) for _ in range(12))


def _time(name: str, text: str) -> datetime:
    try:
        return parse_timestamp(text)
    except ValueError:
        raise errors.InvalidInput(f"Invalid filter field: {name}.") from None


def _bool(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "t", "yes", "y", "on")


def _regex(name: str, text: str) -> None:
    """A filter the database matches as a regular expression must compile: SQLite
    runs Python's ``re``, and a broken pattern there is an error mid-query."""
    try:
        re.compile(text)
    except re.error:
        raise errors.InvalidInput(f"Invalid input for query parameters {name}. Value: "
                                  f"{text}. '{text}' is not a 'regex'") from None


def _count(server: dict[str, Any], name: str, default: Any) -> int:
    """``min_count`` or ``max_count``: 1 to what an INTEGER column holds."""
    raw = server.get(name, default)
    try:
        return as_int(raw, 1, MAX_INT)
    except BadInteger as exc:
        raise errors.InvalidInput(f"Invalid input for field/attribute {name}. Value: "
                                  f"{raw}. {exc}", param=name) from None


def update_shows_full_view(mv: microversions.APIVersion) -> bool:
    """Nova's PUT /servers/{id} answers the full GET view from 2.75 (the
    extension attributes the caller's policy allows); before, a reduced one."""
    return mv >= (2, 75)


class Servers(Handler):
    def __init__(self, deps: ComputeDeps) -> None:
        super().__init__(deps)
        self.servers: ServerService = deps.servers
        self.actions_: ServerActions = deps.server_actions
        self.views = ServerViews(deps.base)
        self.base = deps.base.rstrip("/")
        self.max_limit = deps.settings.max_limit

    # ---- rendering ---------------------------------------------------------
    def _render(self, ctx: RequestContext, instances: list) -> list[dict[str, Any]]:
        mv = microversions.current()
        uuids = [i.uuid for i in instances]
        addresses = self.servers.addresses(uuids)
        tags = self.servers.tags_of(uuids) if mv >= (2, 26) else {}
        faults = self.servers.faults_of(instances)
        volumes = self.deps.server_volumes.volumes_attached(uuids)
        host_states: dict[str, str] = {}
        if mv >= (2, 16) and self.auth.policy.authorize(
                "os_compute_api:servers:show:host_status", {"project_id": ctx.project_id},
                ctx.policy_credentials()):
            host_states = self.servers.host_states({i.host for i in instances if i.host})
        admin = self.auth.policy.authorize("os_compute_api:os-extended-server-attributes",
                                              {"project_id": ctx.project_id},
                                              ctx.policy_credentials())
        return [self.views.full(i, mv, addresses=addresses.get(i.uuid, []),
                                tags=tags.get(i.uuid), fault=faults.get(i.uuid),
                                is_admin=admin, volumes=volumes.get(i.uuid),
                                host_status=host_states.get(i.host or "", "UNKNOWN")
                                if host_states or (mv >= (2, 16) and not i.host and admin)
                                else None)
                for i in instances]

    def _one(self, ctx: RequestContext, inst) -> dict[str, Any]:
        return {"server": self._render(ctx, [inst])[0]}

    # ---- list ----------------------------------------------------------------
    def _query(self, ctx: RequestContext) -> ServerQuery:
        p = request.query_params
        admin = ctx.is_admin
        q = ServerQuery(project_id=ctx.project_id)
        # Nova: an empty all_tenants means yes; anything not a boolean is a 400
        all_tenants = "all_tenants" in p and (p["all_tenants"] == "" or
                                              parse_bool(p["all_tenants"], "all_tenants"))
        if all_tenants:
            rule = "os_compute_api:servers:detail:get_all_tenants" \
                if request.url.path.endswith("/detail") \
                else "os_compute_api:servers:index:get_all_tenants"
            self.servers.policy.enforce(rule, {"project_id": ctx.project_id}, ctx)
            q.project_id = p.get("project_id") or p.get("tenant_id") or None
        elif admin and (p.get("project_id") or p.get("tenant_id")):
            q.project_id = p.get("project_id") or p.get("tenant_id")
        for key in ("name", "status", "image", "flavor", "ip", "reservation_id"):
            if p.get(key):
                setattr(q, key, p[key])
        for key in ("name", "ip"):  # regular expressions (Nova's schema: format regex)
            if p.get(key):
                _regex(key, p[key])
        # Nova drops the filters a caller may not use rather than refusing them.
        if self.auth.policy.authorize("os_compute_api:servers:allow_all_filters",
                                         {"project_id": ctx.project_id},
                                         ctx.policy_credentials()):
            q.host = p.get("host") or None
            if p.get("ip6") and microversions.current() >= (2, 5):
                _regex("ip6", p["ip6"])
                q.ip6 = p["ip6"]
            q.availability_zone = p.get("availability_zone") or None
            q.user_id = p.get("user_id") or None
            if "deleted" in p:
                q.deleted = _bool(p["deleted"])
        if p.get("changes-since"):
            q.changes_since = _time("changes-since", p["changes-since"])
        mv = microversions.current()
        if mv >= (2, 26):
            for key, attr in (("tags", "tags"), ("tags-any", "tags_any"),
                              ("not-tags", "not_tags"), ("not-tags-any", "not_tags_any")):
                if p.get(key):
                    setattr(q, attr, [t for t in p[key].split(",") if t])
        keys, dirs = p.getlist("sort_key"), p.getlist("sort_dir")
        for direction in dirs:  # a sort_dir without a sort_key applies to created_at
            if direction not in ("asc", "desc"):
                raise errors.InvalidInput(f"Invalid sort direction: {direction}")
        if keys or dirs:
            sort = []
            for i, key in enumerate(keys or ["created_at"]):
                direction = dirs[i] if i < len(dirs) else (dirs[0] if dirs else "desc")
                if key not in SORT_KEYS:
                    raise errors.InvalidInput(f"Invalid sort key: {key}")
                if key in ADMIN_SORT_KEYS and not admin:
                    raise errors.Forbidden(f"Only administrators can sort servers by {key}")
                sort.append((key, direction))
            q.sort = sort
        if "limit" in p:
            try:
                limit = parse_int(p["limit"], INT64_MIN, self.max_limit, cap=True)
            except BadInteger:
                raise errors.InvalidInput("limit param must be an integer") from None
            if limit < 0:
                raise errors.InvalidInput("limit param must be positive")
            q.limit = limit
        else:
            q.limit = self.max_limit
        q.marker = p.get("marker") or None
        return q

    def _list(self, detail: bool):
        ctx = self.auth.context()
        q = self._query(ctx)
        rows, more = self.servers.list_servers(ctx, q, detail)
        items = self._render(ctx, rows) if detail else [self.views.brief(i) for i in rows]
        out: dict[str, Any] = {"servers": items}
        if more and rows:
            params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
            path = "servers/detail" if detail else "servers"
            out["servers_links"] = [{"rel": "next", "href": f"{self.base}/v2.1/{path}?"
                                     + urlencode([*params, ("marker", rows[-1].uuid)])}]
        return out

    def list(self, **_: Any):
        return self._list(False)

    def detail(self, **_: Any):
        return self._list(True)

    def show(self, server_id: str):
        ctx = self.auth.context()
        return self._one(ctx, self.servers.get(ctx, server_id))

    # ---- create / update / delete ----------------------------------------------
    def create(self, body: dict):
        ctx = self.auth.context()
        mv = microversions.current()
        s = body["server"]
        devices = boot_volumes.parse(s.get("block_device_mapping_v2"))
        image_ref = s.get("imageRef") or None
        if not image_ref:
            image_ref = next((d.uuid for d in devices if d.source_type == "image"
                              and d.is_root and not d.is_volume), None)
        hints = dict(body.get("OS-SCH-HNT:scheduler_hints") or
                     body.get("os:scheduler_hints") or {})
        req = BootRequest(
            name=s["name"], image_ref=image_ref, flavor_ref=str(s["flavorRef"]),
            key_name=s.get("key_name"), metadata=s.get("metadata") or {},
            user_data=s.get("user_data"), availability_zone=s.get("availability_zone"),
            min_count=_count(s, "min_count", 1),
            max_count=_count(s, "max_count", s.get("min_count", 1)),
            description=s.get("description") if mv >= (2, 19) else None,
            access_ip_v4=s.get("accessIPv4") or None, access_ip_v6=s.get("accessIPv6") or None,
            security_groups=[g["name"] for g in s.get("security_groups") or
                             [{"name": "default"}]],
            scheduler_hints=hints, config_drive=bool(s.get("config_drive")),
            networks=boot_networks(s.get("networks"), mv), block_devices=devices)
        if "description" in s and mv < (2, 19):
            raise errors.InvalidInput("Invalid input for field/attribute server. Additional "
                                      "properties are not allowed ('description' was "
                                      "unexpected)")
        reservation_id, instances = self.servers.create(ctx, req)
        if s.get("return_reservation_id"):
            return {"reservation_id": reservation_id}, 202
        first = instances[0]
        out = {"server": {"id": first.uuid, "links": self.views.links("servers", first.uuid),
                          "OS-DCF:diskConfig": s.get("OS-DCF:diskConfig", "MANUAL"),
                          "security_groups": [{"name": n} for n in req.security_groups],
                          "adminPass": s.get("adminPass") or _admin_password()}}
        return out, 202, {"Location": f"{self.base}/v2.1/servers/{first.uuid}"}

    def update(self, server_id: str, body: dict):
        ctx = self.auth.context()
        changes = dict(body["server"])
        if "description" in changes and microversions.current() < (2, 19):
            raise errors.InvalidInput("Invalid input for field/attribute server. Additional "
                                      "properties are not allowed ('description' was "
                                      "unexpected)")
        inst = self.servers.update(ctx, server_id, changes)
        mv = microversions.current()
        if update_shows_full_view(mv):
            return self._one(ctx, inst)
        tags = self.servers.tags_of([inst.uuid]) if mv >= (2, 26) else {}
        return {"server": self.views.reduced(
            inst, mv, addresses=self.servers.addresses([inst.uuid]).get(inst.uuid, []),
            tags=tags.get(inst.uuid), fault=self.servers.faults_of([inst]).get(inst.uuid))}

    def delete(self, server_id: str):
        # A soft delete when reclaim_instance_interval is set (core/compute/state_actions.py).
        self.deps.state_actions.delete(self.auth.context(), server_id)
        return NO_CONTENT

    # ---- actions (gateway/openstack/compute/server_actions.py) -------------------
    def action(self, server_id: str, body: dict):
        return server_actions.dispatch(self, self.auth.context(), server_id, body)

    def image_base(self) -> str:
        return self.base.rsplit("/compute", 1)[0] + "/image"

    # ---- addresses ----------------------------------------------------------------
    def ips(self, server_id: str):
        ctx = self.auth.context()
        inst = self.servers.get(ctx, server_id, "os_compute_api:ips:index")
        return {"addresses": self.views.addresses(
            self.servers.addresses([inst.uuid]).get(inst.uuid, []))}

    def ips_network(self, server_id: str, network: str):
        ctx = self.auth.context()
        inst = self.servers.get(ctx, server_id, "os_compute_api:ips:show")
        networks = self.views.addresses(self.servers.addresses([inst.uuid]).get(inst.uuid, []))
        if network not in networks:
            raise errors.NotFound("Instance is not a member of specified network")
        return {network: networks[network]}


class ServerMetadata(Handler):
    def __init__(self, deps: ComputeDeps) -> None:
        super().__init__(deps)
        self.servers: ServerService = deps.servers

    def index(self, server_id: str):
        ctx = self.auth.context()
        inst = self.servers.get(ctx, server_id, "os_compute_api:server-metadata:index")
        return {"metadata": dict(inst.metadata_items or {})}

    def create(self, server_id: str, body: dict):
        items = self.servers.set_metadata(self.auth.context(), server_id, body["metadata"],
                                          False, "os_compute_api:server-metadata:create")
        return {"metadata": items}

    def update_all(self, server_id: str, body: dict):
        items = self.servers.set_metadata(self.auth.context(), server_id, body["metadata"],
                                          True, "os_compute_api:server-metadata:update_all")
        return {"metadata": items}

    def show(self, server_id: str, key: str):
        ctx = self.auth.context()
        inst = self.servers.get(ctx, server_id, "os_compute_api:server-metadata:show")
        items = inst.metadata_items or {}
        if key not in items:
            raise errors.NotFound("Metadata item was not found")
        return {"meta": {key: items[key]}}

    def update(self, server_id: str, key: str, body: dict):
        meta = body["meta"]
        if len(meta) != 1 or key not in meta:
            raise errors.InvalidInput("Request body and URI mismatch" if len(meta) == 1
                                      else "Request body contains too many items")
        self.servers.set_metadata(self.auth.context(), server_id, meta, False,
                                  "os_compute_api:server-metadata:update")
        return {"meta": meta}

    def delete(self, server_id: str, key: str):
        self.servers.delete_metadata(self.auth.context(), server_id, key)
        return NO_CONTENT


class ServerTags(Handler):
    def __init__(self, deps: ComputeDeps) -> None:
        super().__init__(deps)
        self.servers: ServerService = deps.servers
        self.base = deps.base.rstrip("/")

    def index(self, server_id: str):
        microversions.require((2, 26))
        ctx = self.auth.context()
        inst = self.servers.get(ctx, server_id, "os_compute_api:os-server-tags:index")
        return {"tags": self.servers.tags_of([inst.uuid])[inst.uuid]}

    def update_all(self, server_id: str, body: dict):
        microversions.require((2, 26))
        return {"tags": self.servers.set_tags(self.auth.context(), server_id, body["tags"])}

    def delete_all(self, server_id: str):
        microversions.require((2, 26))
        self.servers.delete_tag(self.auth.context(), server_id, None)
        return NO_CONTENT

    def show(self, server_id: str, tag: str):
        microversions.require((2, 26))
        ctx = self.auth.context()
        inst = self.servers.get(ctx, server_id, "os_compute_api:os-server-tags:show")
        if tag not in self.servers.tags_of([inst.uuid])[inst.uuid]:
            raise errors.NotFound(f"Tag {tag} could not be found.")
        return NO_CONTENT

    def update(self, server_id: str, tag: str):
        microversions.require((2, 26))
        added = self.servers.add_tag(self.auth.context(), server_id, tag)
        location = {"Location": f"{self.base}/v2.1/servers/{server_id}/tags/{tag}"}
        return (NoContent, 201, location) if added else (NoContent, 204, location)

    def delete(self, server_id: str, tag: str):
        microversions.require((2, 26))
        self.servers.delete_tag(self.auth.context(), server_id, tag)
        return NO_CONTENT
