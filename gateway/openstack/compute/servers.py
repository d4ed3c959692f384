"""Server handlers: ``/servers``, ``/servers/detail``, ``/servers/{id}`` and its
metadata, tags, addresses and actions (instance actions: instance_actions.py)."""

from __future__ import annotations

import secrets
import string
from typing import Any
from urllib.parse import urlencode

from connexion import NoContent, request
from starlette.responses import Response

from core import errors
from core.compute.server_actions import ServerActions
from core.compute.server_listing import ServerQuery
from core.compute.servers import ServerService
from core.context import RequestContext
from gateway.openstack.compute import (
    consoles,  # noqa: F401 - registers its actions
    microversions,
    server_actions,
    server_actions_move,  # noqa: F401 - registers its actions
    server_actions_state,  # noqa: F401 - registers its actions
)
from gateway.openstack.compute.base import ComputeDeps, Handler, parse_bool
from gateway.openstack.compute.server_inputs import boot_request, update_changes
from gateway.openstack.compute.server_list import ServerList
from gateway.openstack.compute.server_query import server_query
from gateway.openstack.compute.server_views import ServerViews

NO_CONTENT = (NoContent, 204)
ACCEPTED = (NoContent, 202)
_PASSWORD_CHARS = string.ascii_letters + string.digits


def _admin_password() -> str:
    return "".join(secrets.choice(_PASSWORD_CHARS) for _ in range(12))


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
        self.listing = ServerList(self.views)
        self.base = deps.base.rstrip("/")
        self.max_limit = deps.settings.max_limit

    # ---- rendering ---------------------------------------------------------
    def _render(self, ctx: RequestContext, instances: list,
                groups: bool = False) -> list[dict[str, Any]]:
        """The full view of each instance; with ``groups`` (show, PUT, rebuild: not
        the list) their server groups from 2.71."""
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
        extra_specs = mv >= (2, 47) and self.auth.policy.authorize(
            "os_compute_api:os-flavor-extra-specs:index",
            {"project_id": ctx.project_id, "user_id": ctx.user_id}, ctx.policy_credentials())
        in_group = self.deps.server_groups.group_uuids_of(uuids) \
            if groups and mv >= (2, 71) else {}
        return [self.views.full(i, mv, addresses=addresses.get(i.uuid, []),
                                tags=tags.get(i.uuid), fault=faults.get(i.uuid),
                                is_admin=admin, volumes=volumes.get(i.uuid),
                                host_status=host_states.get(i.host or "", "UNKNOWN")
                                if host_states or (mv >= (2, 16) and not i.host and admin)
                                else None, extra_specs=extra_specs,
                                server_groups=[in_group[i.uuid]] if i.uuid in in_group
                                else [] if groups else None)
                for i in instances]

    def _one(self, ctx: RequestContext, inst) -> dict[str, Any]:
        return {"server": self._render(ctx, [inst], groups=True)[0]}

    # ---- list ----------------------------------------------------------------
    def _query(self, ctx: RequestContext) -> ServerQuery:
        p = request.query_params
        # Nova: an empty all_tenants means yes; anything not a boolean is a 400
        all_tenants = "all_tenants" in p and (p["all_tenants"] == "" or
                                              parse_bool(p["all_tenants"], "all_tenants"))
        if all_tenants:
            rule = "os_compute_api:servers:detail:get_all_tenants" \
                if request.url.path.endswith("/detail") \
                else "os_compute_api:servers:index:get_all_tenants"
            self.servers.policy.enforce(rule, {"project_id": ctx.project_id}, ctx)
        all_filters = self.auth.policy.authorize("os_compute_api:servers:allow_all_filters",
                                                 {"project_id": ctx.project_id},
                                                 ctx.policy_credentials())
        return server_query(p, microversions.current(), project_id=ctx.project_id,
                            admin=ctx.is_admin, all_tenants=all_tenants,
                            all_filters=all_filters, max_limit=self.max_limit)

    def _next_links(self, detail: bool, more: bool, rows: list) -> list[dict[str, str]] | None:
        if not (more and rows):
            return None
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
        path = "servers/detail" if detail else "servers"
        return [{"rel": "next", "href": f"{self.base}/v2.1/{path}?"
                 + urlencode([*params, ("marker", rows[-1].uuid)])}]

    def list(self, **_: Any):
        ctx = self.auth.context()
        page = self.servers.list_page(ctx, self._query(ctx), False, tags=False,
                                      attached=False)
        out: dict[str, Any] = {"servers": [self.views.brief(i) for i in page.rows]}
        links = self._next_links(False, page.more, page.rows)
        if links:
            out["servers_links"] = links
        return out

    def detail(self, **_: Any):
        """The full view of each server on the page, spliced from fragments
        rendered once per distinct view (gateway/openstack/compute/server_list.py)."""
        ctx = self.auth.context()
        mv = microversions.current()
        page = self.servers.list_page(ctx, self._query(ctx), True, tags=mv >= (2, 26))
        rows = page.rows
        creds, target = ctx.policy_credentials(), {"project_id": ctx.project_id}
        authorize = self.auth.policy.authorize
        host_states: dict[str, str] = {}
        if rows and mv >= (2, 16) and authorize("os_compute_api:servers:show:host_status",
                                                target, creds):
            host_states = self.servers.host_states({r.host for r in rows if r.host})
        admin = authorize("os_compute_api:os-extended-server-attributes", target, creds)
        extra_specs = mv >= (2, 47) and authorize(
            "os_compute_api:os-flavor-extra-specs:index",
            {"project_id": ctx.project_id, "user_id": ctx.user_id}, creds)
        fragments = self.listing.fragments(page, mv, is_admin=admin, extra_specs=extra_specs,
                                           host_states=host_states)
        body = self.listing.body(fragments, self._next_links(True, page.more, rows))
        return Response(body, media_type="application/json")

    def show(self, server_id: str):
        ctx = self.auth.context()
        return self._one(ctx, self.servers.get(ctx, server_id))

    # ---- create / update / delete ----------------------------------------------
    def create(self, body: dict):
        ctx = self.auth.context()
        req = boot_request(body, microversions.current())
        reservation_id, instances = self.servers.create(ctx, req)
        s = body["server"]
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
        mv = microversions.current()
        inst = self.servers.update(ctx, server_id, update_changes(body, mv))
        shown = self._one(ctx, inst)
        if update_shows_full_view(mv):
            return shown
        return {"server": self.views.reduced(shown["server"])}

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
