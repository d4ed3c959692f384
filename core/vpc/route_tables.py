"""Route tables: EC2's records per VPC. Each VPC has a main one (made with it)
that subnets without an association of their own use; every table has the
VPC's local route, implied by its CIDR, and routes to internet gateways,
``blackhole`` while the gateway is not attached to the VPC."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.idmap.ids import Kind, forget, mint_new
from core.idmap.tag_table import forget_tags
from core.network.models import Router
from core.vpc.base import UPDATE_ROUTER, Seen, VpcBase
from core.vpc.errors import AlreadyAssociated, DependencyViolation, RouteExists, RouteNotFound
from core.vpc.models import InternetGateway, RouteTable, RouteTableAssociation
from core.vpc.topology import cidr_of, router_of_networks
from core.vpc.vpcs import parse_cidr

LOCAL = "local"


@dataclass(frozen=True)
class Route:
    destination: str
    gateway_id: str  # an internet gateway's id, or "local"
    active: bool


@dataclass(frozen=True)
class Association:
    id: str
    network_id: str | None  # None: the main association
    main: bool


@dataclass(frozen=True)
class RouteTableView:
    id: str
    router_id: str
    project_id: str
    routes: list[Route] = field(default_factory=list)
    associations: list[Association] = field(default_factory=list)


def _not_found(table_id: str) -> errors.NotFound:
    return errors.NotFound(f"Route table {table_id} not found", kind="route_table",
                           id=table_id)


class RouteTableService(VpcBase):
    def _tables(self, s: Session, seen: Seen, ids: Sequence[str] | None
                ) -> list[RouteTableView]:
        routers = {r.id: r for r in seen.routers}
        stmt = select(RouteTable).where(RouteTable.router_id.in_(list(routers)))
        if ids is not None:
            stmt = stmt.where(RouteTable.id.in_(list(ids)))
        tables = list(s.scalars(stmt.order_by(RouteTable.created_at, RouteTable.id)))
        assocs: dict[str, list[Association]] = {}
        for a in s.scalars(select(RouteTableAssociation).where(
                RouteTableAssociation.route_table_id.in_([t.id for t in tables]))):
            assocs.setdefault(a.route_table_id, []).append(Association(a.id, a.network_id,
                                                                       a.main))
        gateways = dict(s.execute(select(InternetGateway.id, InternetGateway.router_id).where(
            InternetGateway.router_id.in_(list(routers)))).tuples().all())
        out = []
        for t in tables:
            router = routers[t.router_id]
            cidr = cidr_of(seen.records[router.id], seen.routed.get(router.id, []))
            routes = [Route(cidr, LOCAL, True)] + [
                Route(r["destination"], r["gateway_id"],
                      gateways.get(r["gateway_id"]) == router.id
                      and router.gw_network_id is not None) for r in t.routes or []]
            out.append(RouteTableView(t.id, t.router_id, t.project_id, routes,
                                      sorted(assocs.get(t.id, []), key=lambda a: not a.main)))
        return out

    def list(self, ctx: RequestContext, ids: Sequence[str] | None = None
             ) -> list[RouteTableView]:
        found = self.retrying(lambda s: self._tables(s, self.seen(s, ctx), ids))
        if ids:
            missing = [i for i in dict.fromkeys(ids) if i not in {t.id for t in found}]
            if missing:
                raise errors.NotFound(f"Route tables {missing} not found",
                                      kind="route_table", ids=missing)
        return found

    def _row(self, s: Session, ctx: RequestContext, table_id: str) -> RouteTable:
        """The table, if in a VPC the caller sees; policy: update its router."""
        row = s.get(RouteTable, table_id)
        if row is None or not self.seen(s, ctx, [row.router_id]).routers:
            raise _not_found(table_id)
        self.enforce(ctx, UPDATE_ROUTER, row.project_id)
        return row

    # ---- tables --------------------------------------------------------------------
    def create(self, ctx: RequestContext, router_id: str) -> RouteTableView:
        def work(s: Session) -> str:
            record = self.one(s, ctx, router_id).records[router_id]
            self.enforce(ctx, UPDATE_ROUTER, record.project_id)
            row = RouteTable(router_id=router_id, project_id=ctx.project_id or "", routes=[])
            s.add(row)
            s.flush()
            mint_new(s, Kind.ROUTE_TABLE, [(row.id, row.project_id)])
            return row.id

        return self.list(ctx, [self.retrying(work)])[0]

    def delete(self, ctx: RequestContext, table_id: str) -> None:
        with self.db.session() as s:
            row = self._row(s, ctx, table_id)
            if s.scalar(select(RouteTableAssociation.id).where(
                    RouteTableAssociation.route_table_id == row.id).limit(1)):
                raise DependencyViolation("route_table", table_id,
                                          "it is the main route table or has associations")
            s.delete(row)
            forget(s, Kind.ROUTE_TABLE, [table_id])
            forget_tags(s, Kind.ROUTE_TABLE, [table_id])

    # ---- routes --------------------------------------------------------------------
    def set_route(self, ctx: RequestContext, table_id: str, destination: str,
                  gateway_id: str | None, replace: bool = False) -> None:
        """Add (or, with ``replace``, change) the route to ``destination`` via the
        internet gateway ``gateway_id``."""
        dest = str(parse_cidr(destination, "DestinationCidrBlock"))
        with self.db.session() as s:
            row = self._row(s, ctx, table_id)
            self._check_gateway(s, ctx, row, gateway_id)
            routes = list(row.routes or [])
            have = next((r for r in routes if r["destination"] == dest), None)
            local = self._local(s, ctx, row)
            if replace:
                if dest == local:
                    raise errors.InvalidInput(f"Cannot replace the local route {dest}.",
                                              param="DestinationCidrBlock")
                if have is None:
                    raise RouteNotFound(table_id, dest)
                routes.remove(have)
            elif have is not None or dest == local:
                raise RouteExists(table_id, dest)
            routes.append({"destination": dest, "gateway_id": gateway_id})
            row.routes = routes

    def delete_route(self, ctx: RequestContext, table_id: str, destination: str) -> None:
        dest = str(parse_cidr(destination, "DestinationCidrBlock"))
        with self.db.session() as s:
            row = self._row(s, ctx, table_id)
            if dest == self._local(s, ctx, row):
                raise errors.InvalidInput(f"cannot remove local route {dest} in route table "
                                          f"{table_id}", param="DestinationCidrBlock")
            routes = [r for r in row.routes or [] if r["destination"] != dest]
            if len(routes) == len(row.routes or []):
                raise RouteNotFound(table_id, dest)
            row.routes = routes

    def _local(self, s: Session, ctx: RequestContext, row: RouteTable) -> str:
        seen = self.seen(s, ctx, [row.router_id])
        return cidr_of(seen.records[row.router_id], seen.routed.get(row.router_id, []))

    def _check_gateway(self, s: Session, ctx: RequestContext, row: RouteTable,
                       gateway_id: str | None) -> None:
        if not gateway_id:
            raise errors.InvalidInput("The request must name a gateway (GatewayId).",
                                      param="GatewayId")
        gateway = s.get(InternetGateway, gateway_id)
        if gateway is None or (gateway.project_id != ctx.project_id
                               and gateway.router_id != row.router_id):
            raise errors.NotFound(f"Internet gateway {gateway_id} not found",
                                  kind="internet_gateway", id=gateway_id)
        if gateway.router_id != row.router_id:
            raise errors.InvalidInput(f"route table {row.id} and network gateway "
                                      f"{gateway_id} belong to different networks",
                                      param="GatewayId", gateway=gateway_id)

    # ---- associations ----------------------------------------------------------------
    def associate(self, ctx: RequestContext, table_id: str, network_id: str) -> str:
        with self.db.session() as s:
            row = self._row(s, ctx, table_id)
            router = router_of_networks(s, [network_id]).get(network_id)
            if router is None or not self.seen(s, ctx, [router]).routers:
                raise errors.NotFound(f"Subnet {network_id} not found", kind="subnet",
                                      id=network_id)
            if router != row.router_id:
                raise errors.InvalidInput(f"Route table {table_id} and subnet {network_id} "
                                          "belong to different networks", param="SubnetId")
            other = s.scalar(select(RouteTableAssociation).where(
                RouteTableAssociation.network_id == network_id))
            if other is not None:
                raise AlreadyAssociated("subnet", network_id, other.route_table_id)
            assoc = RouteTableAssociation(route_table_id=row.id, router_id=row.router_id,
                                          network_id=network_id)
            s.add(assoc)
            s.flush()
            mint_new(s, Kind.ROUTE_TABLE_ASSOCIATION, [(assoc.id, row.project_id)])
            return assoc.id

    def disassociate(self, ctx: RequestContext, association_id: str) -> None:
        with self.db.session() as s:
            assoc = s.get(RouteTableAssociation, association_id)
            if assoc is None or not self.seen(s, ctx, [assoc.router_id]).routers:
                raise errors.NotFound(f"Association {association_id} not found",
                                      kind="route_table", id=association_id,
                                      by="association")
            if assoc.main:
                raise errors.InvalidInput(f"cannot disassociate the main route table "
                                          f"association {association_id}",
                                          param="AssociationId")
            owner = s.scalar(select(Router.project_id).where(Router.id == assoc.router_id))
            self.enforce(ctx, UPDATE_ROUTER, owner or "")
            s.delete(assoc)
            forget(s, Kind.ROUTE_TABLE_ASSOCIATION, [association_id])
