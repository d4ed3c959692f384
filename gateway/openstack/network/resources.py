"""The collections: networks, subnets, ports, routers, floating IPs, security
groups and their rules. Each is the same five operations over one network
service; the classes below name the service, the JSON keys and the path
parameter."""

from __future__ import annotations

import re
from typing import Any

from connexion import request
from starlette.exceptions import HTTPException

from core.context import RequestContext
from gateway.openstack.network import views
from gateway.openstack.network.base import NO_CONTENT, Handler, member_body
from gateway.openstack.network.query import page_links, parse_list

_IF_MATCH = re.compile(r"^\s*revision_number=(\d+)\s*$")


class Collection(Handler):
    service_name: str  # the attribute of core.network NetworkServices
    member: str  # the JSON key of one: "network"
    collection: str  # the JSON key of many: "networks"
    path: str  # the URL collection: "networks", "security-groups"
    id_param: str  # the spec's path parameter: "network_id"

    @property
    def service(self) -> Any:
        return getattr(self.deps.network, self.service_name)

    def _id(self, params: dict[str, Any]) -> str:
        return str(params[self.id_param])

    def list(self, **_: Any):
        ctx = self.context()
        listing = parse_list(request.query_params)
        records = self.service.list(ctx, listing.query)
        out: dict[str, Any] = {self.collection: [views.render(r, listing.fields)
                                                 for r in records]}
        links = page_links(f"{self.deps.base}/v2.0/{self.path}", request.query_params,
                           listing.query, records)
        if links:
            out[f"{self.collection}_links"] = links
        return out

    def create(self, body: Any, **_: Any):
        record = self.service.create(self.context(), member_body(body, self.member))
        return {self.member: views.render(record)}, 201

    def show(self, **params: Any):
        return {self.member: self.shown(self.service.get(self.context(), self._id(params)))}

    def update(self, body: Any, **params: Any):
        ctx, ident = self.context(), self._id(params)
        attrs = member_body(body, self.member)
        self._check_revision(ctx, ident)
        return {self.member: views.render(self.service.update(ctx, ident, attrs))}

    def delete(self, **params: Any):
        ctx, ident = self.context(), self._id(params)
        self._check_revision(ctx, ident)
        self.service.delete(ctx, ident)
        return NO_CONTENT

    def _check_revision(self, ctx: RequestContext, ident: str) -> None:
        """``If-Match: revision_number=N`` (openstacksdk's ``if_revision``):
        412 unless the resource is at revision N."""
        header = request.headers.get("if-match")
        if not header:
            return
        wanted = [m.group(1) for m in map(_IF_MATCH.match, header.split(",")) if m]
        if not wanted:
            return  # an ETag condition: Neutron ignores those too
        current = self.service.get(ctx, ident).get("revision_number")
        if str(current) not in wanted:
            raise HTTPException(412, detail=f"Constrained to {', '.join(wanted)}, but "
                                            f"current revision is {current}")


class Networks(Collection):
    service_name, member, collection, path, id_param = (
        "networks", "network", "networks", "networks", "network_id")


class Subnets(Collection):
    service_name, member, collection, path, id_param = (
        "subnets", "subnet", "subnets", "subnets", "subnet_id")


class Ports(Collection):
    service_name, member, collection, path, id_param = (
        "ports", "port", "ports", "ports", "port_id")


class FloatingIps(Collection):
    service_name, member, collection, path, id_param = (
        "floating_ips", "floatingip", "floatingips", "floatingips", "floatingip_id")


class SecurityGroups(Collection):
    service_name, member, collection, path, id_param = (
        "security_groups", "security_group", "security_groups", "security-groups",
        "security_group_id")


class SecurityGroupRules(Collection):
    service_name, member, collection, path, id_param = (
        "security_group_rules", "security_group_rule", "security_group_rules",
        "security-group-rules", "security_group_rule_id")


class Routers(Collection):
    service_name, member, collection, path, id_param = (
        "routers", "router", "routers", "routers", "router_id")

    def add_interface(self, router_id: str, body: Any, **_: Any):
        return views.render(self.service.add_interface(self.context(), router_id,
                                                       _interface(body)))

    def remove_interface(self, router_id: str, body: Any, **_: Any):
        return views.render(self.service.remove_interface(self.context(), router_id,
                                                          _interface(body)))

    def add_extraroutes(self, router_id: str, body: Any, **_: Any):
        routes = member_body(body, "router").get("routes", [])
        record = self.service.add_extraroutes(self.context(), router_id, routes)
        return {"router": views.render(record)}

    def remove_extraroutes(self, router_id: str, body: Any, **_: Any):
        routes = member_body(body, "router").get("routes", [])
        record = self.service.remove_extraroutes(self.context(), router_id, routes)
        return {"router": views.render(record)}


def _interface(body: Any) -> dict[str, Any]:
    """The unwrapped ``{"subnet_id"|"port_id": ...}`` of the interface actions."""
    body = body if isinstance(body, dict) else {}
    return {k: body[k] for k in ("subnet_id", "port_id") if body.get(k) is not None}
