"""Route tables and internet gateways over :mod:`core.vpc`: EC2's records per
VPC. Attaching an internet gateway sets the VPC router's external gateway
(the external network), detaching clears it."""

from __future__ import annotations

from typing import Any

from core import errors
from core.context import RequestContext
from core.idmap.ids import Kind
from core.vpc.gateways import Gateway
from core.vpc.route_tables import LOCAL, RouteTableView
from gateway.ec2.api import Call, action
from gateway.ec2.filters import Filters
from gateway.ec2.handlers.vpc_common import GET_ROUTER, UPDATE_ROUTER, VpcHandler, tag_dict

ROUTE_TABLE_FILTERS: Filters[dict[str, Any]] = Filters({
    "route-table-id": lambda t: t["RouteTableId"],
    "vpc-id": lambda t: t["VpcId"],
    "owner-id": lambda t: t["OwnerId"],
    "association.main": lambda t: [a["Main"] for a in t["Associations"]],
    "association.route-table-association-id":
        lambda t: [a["RouteTableAssociationId"] for a in t["Associations"]],
    "association.route-table-id": lambda t: [a["RouteTableId"] for a in t["Associations"]],
    "association.subnet-id": lambda t: [a.get("SubnetId") for a in t["Associations"]],
    "route.destination-cidr-block": lambda t: [r["DestinationCidrBlock"] for r in t["Routes"]],
    "route.gateway-id": lambda t: [r["GatewayId"] for r in t["Routes"]],
    "route.state": lambda t: [r["State"] for r in t["Routes"]],
    "route.origin": lambda t: [r["Origin"] for r in t["Routes"]],
}, tags=tag_dict)

GATEWAY_FILTERS: Filters[dict[str, Any]] = Filters({
    "internet-gateway-id": lambda g: g["InternetGatewayId"],
    "attachment.vpc-id": lambda g: [a["VpcId"] for a in g["Attachments"]],
    "attachment.state": lambda g: [a["State"] for a in g["Attachments"]],
    "owner-id": lambda g: g["OwnerId"],
}, tags=tag_dict)


class RouteTables(VpcHandler):
    # ---- route tables -------------------------------------------------------------
    def table_views(self, ctx: RequestContext, tables: list[RouteTableView]
                    ) -> list[dict[str, Any]]:
        ids = self.ec2(Kind.ROUTE_TABLE, [(t.id, t.project_id) for t in tables])
        vpcs = self.ec2(Kind.VPC, [(t.router_id, t.project_id) for t in tables])
        assocs = self.ec2(Kind.ROUTE_TABLE_ASSOCIATION,
                          [(a.id, t.project_id) for t in tables for a in t.associations])
        subnets = self.ec2(Kind.SUBNET, [(a.network_id, t.project_id) for t in tables
                                         for a in t.associations if a.network_id])
        gateways = self.deps.ids.existing(Kind.INTERNET_GATEWAY, [
            r.gateway_id for t in tables for r in t.routes if r.gateway_id != LOCAL])
        owners = self.accounts(t.project_id for t in tables)
        tags = self.tags(ctx, Kind.ROUTE_TABLE, [t.id for t in tables])
        out = []
        for t in tables:
            associations = []
            for a in t.associations:
                item: dict[str, Any] = {"Main": a.main, "RouteTableAssociationId": assocs[a.id],
                                        "RouteTableId": ids[t.id],
                                        "AssociationState": {"State": "associated"}}
                if a.network_id:
                    item["SubnetId"] = subnets[a.network_id]
                associations.append(item)
            routes = [{"DestinationCidrBlock": r.destination,
                       "GatewayId": (LOCAL if r.gateway_id == LOCAL
                                     else gateways.get(r.gateway_id, r.gateway_id)),
                       "State": "active" if r.active else "blackhole",
                       "Origin": "CreateRouteTable" if r.gateway_id == LOCAL else "CreateRoute"}
                      for r in t.routes]
            out.append({"RouteTableId": ids[t.id], "VpcId": vpcs[t.router_id],
                        "OwnerId": owners[t.project_id], "Routes": routes,
                        "Associations": associations, "PropagatingVgws": [],
                        "Tags": tags.get(t.id, [])})
        return out

    @action("DescribeRouteTables", rules=(GET_ROUTER,))
    def describe_route_tables(self, call: Call) -> dict[str, Any]:
        wanted = self.wanted(call, Kind.ROUTE_TABLE, "RouteTableIds")
        views = self.table_views(call.ctx, self.deps.vpc.route_tables.list(call.ctx, wanted))
        views = ROUTE_TABLE_FILTERS.apply(views, self.owner_filters(call.get("Filters")))
        chunk, token = self.paged(call, views, "RouteTableId", "RouteTableIds",
                                  "routeTableIds")
        return {"RouteTables": chunk, "NextToken": token}

    @action("CreateRouteTable", rules=(UPDATE_ROUTER,))
    def create_route_table(self, call: Call) -> dict[str, Any]:
        router = self.os_id(Kind.VPC, self.required(call, "VpcId", "vpcId"))
        made = self.deps.vpc.route_tables.create(call.ctx, router)
        (view,) = self.table_views(call.ctx, [made])
        view["Tags"] = self.tag_new(call, Kind.ROUTE_TABLE, "route-table", made.id,
                                    view["RouteTableId"])
        return {"RouteTable": view}

    @action("DeleteRouteTable", rules=(UPDATE_ROUTER,))
    def delete_route_table(self, call: Call) -> None:
        table = self.os_id(Kind.ROUTE_TABLE,
                           self.required(call, "RouteTableId", "routeTableId"))
        self.deps.vpc.route_tables.delete(call.ctx, table)

    def _route(self, call: Call, replace: bool) -> None:
        table = self.os_id(Kind.ROUTE_TABLE,
                           self.required(call, "RouteTableId", "routeTableId"))
        dest = self.required(call, "DestinationCidrBlock", "destinationCidrBlock")
        gateway = call.get("GatewayId")
        gateway_id = self.os_id(Kind.INTERNET_GATEWAY, gateway) if gateway else None
        self.deps.vpc.route_tables.set_route(call.ctx, table, dest, gateway_id, replace)

    @action("CreateRoute", rules=(UPDATE_ROUTER,))
    def create_route(self, call: Call) -> dict[str, Any]:
        self._route(call, replace=False)
        return {"Return": True}

    @action("ReplaceRoute", rules=(UPDATE_ROUTER,))
    def replace_route(self, call: Call) -> None:
        self._route(call, replace=True)

    @action("DeleteRoute", rules=(UPDATE_ROUTER,))
    def delete_route(self, call: Call) -> None:
        table = self.os_id(Kind.ROUTE_TABLE,
                           self.required(call, "RouteTableId", "routeTableId"))
        dest = self.required(call, "DestinationCidrBlock", "destinationCidrBlock")
        self.deps.vpc.route_tables.delete_route(call.ctx, table, dest)

    @action("AssociateRouteTable", rules=(UPDATE_ROUTER,))
    def associate_route_table(self, call: Call) -> dict[str, Any]:
        table = self.os_id(Kind.ROUTE_TABLE,
                           self.required(call, "RouteTableId", "routeTableId"))
        network = self.os_id(Kind.SUBNET, self.required(call, "SubnetId", "subnetId"))
        assoc = self.deps.vpc.route_tables.associate(call.ctx, table, network)
        ec2_id = self.ec2(Kind.ROUTE_TABLE_ASSOCIATION, [(assoc, call.ctx.project_id or "")])
        return {"AssociationId": ec2_id[assoc],
                "AssociationState": {"State": "associated"}}

    @action("DisassociateRouteTable", rules=(UPDATE_ROUTER,))
    def disassociate_route_table(self, call: Call) -> None:
        value = self.required(call, "AssociationId", "associationId")
        found = self.deps.ids.os_uuids_for(Kind.ROUTE_TABLE_ASSOCIATION, [value])
        if not found:
            raise errors.NotFound(f"{value} not found", kind="route_table", id=value,
                                  by="association")
        self.deps.vpc.route_tables.disassociate(call.ctx, next(iter(found.values())))

    # ---- internet gateways --------------------------------------------------------
    def gateway_views(self, ctx: RequestContext, gateways: list[Gateway]
                      ) -> list[dict[str, Any]]:
        ids = self.ec2(Kind.INTERNET_GATEWAY, [(g.id, g.project_id) for g in gateways])
        vpcs = self.ec2(Kind.VPC, [(g.router_id, g.project_id) for g in gateways
                                   if g.router_id])
        owners = self.accounts(g.project_id for g in gateways)
        tags = self.tags(ctx, Kind.INTERNET_GATEWAY, [g.id for g in gateways])
        return [{"InternetGatewayId": ids[g.id], "OwnerId": owners[g.project_id],
                 "Attachments": ([{"VpcId": vpcs[g.router_id], "State": "available"}]
                                 if g.router_id else []),
                 "Tags": tags.get(g.id, [])} for g in gateways]

    @action("DescribeInternetGateways", rules=(GET_ROUTER,))
    def describe_internet_gateways(self, call: Call) -> dict[str, Any]:
        wanted = self.wanted(call, Kind.INTERNET_GATEWAY, "InternetGatewayIds")
        views = self.gateway_views(call.ctx, self.deps.vpc.gateways.list(call.ctx, wanted))
        views = GATEWAY_FILTERS.apply(views, self.owner_filters(call.get("Filters")))
        chunk, token = self.paged(call, views, "InternetGatewayId", "InternetGatewayIds",
                                  "internetGatewayIds")
        return {"InternetGateways": chunk, "NextToken": token}

    @action("CreateInternetGateway", rules=(UPDATE_ROUTER,))
    def create_internet_gateway(self, call: Call) -> dict[str, Any]:
        made = self.deps.vpc.gateways.create(call.ctx)
        (view,) = self.gateway_views(call.ctx, [made])
        view["Tags"] = self.tag_new(call, Kind.INTERNET_GATEWAY, "internet-gateway", made.id,
                                    view["InternetGatewayId"])
        return {"InternetGateway": view}

    @action("DeleteInternetGateway", rules=(UPDATE_ROUTER,))
    def delete_internet_gateway(self, call: Call) -> None:
        gateway = self.os_id(Kind.INTERNET_GATEWAY,
                             self.required(call, "InternetGatewayId", "internetGatewayId"))
        self.deps.vpc.gateways.delete(call.ctx, gateway)

    @action("AttachInternetGateway", rules=(UPDATE_ROUTER,))
    def attach_internet_gateway(self, call: Call) -> None:
        gateway = self.os_id(Kind.INTERNET_GATEWAY,
                             self.required(call, "InternetGatewayId", "internetGatewayId"))
        router = self.os_id(Kind.VPC, self.required(call, "VpcId", "vpcId"))
        self.deps.vpc.gateways.attach(call.ctx, gateway, router)

    @action("DetachInternetGateway", rules=(UPDATE_ROUTER,))
    def detach_internet_gateway(self, call: Call) -> None:
        gateway = self.os_id(Kind.INTERNET_GATEWAY,
                             self.required(call, "InternetGatewayId", "internetGatewayId"))
        router = self.os_id(Kind.VPC, self.required(call, "VpcId", "vpcId"))
        self.deps.vpc.gateways.detach(call.ctx, gateway, router)
