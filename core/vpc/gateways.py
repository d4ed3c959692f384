"""Internet gateways: EC2's records; attached to a VPC, the VPC's router has
its external gateway on the external network (``external_network_name``),
and detached, it has none. A router that has a gateway when EC2 first sees it
(the default VPC's, one set with ``openstack router set --external-gateway``)
shows an internet gateway made for it (``core.vpc.topology``)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.idmap.ids import Kind, forget, mint_new
from core.idmap.tag_table import forget_tags
from core.network.models import Network, Router
from core.vpc.base import UPDATE_ROUTER, VpcBase
from core.vpc.errors import AlreadyAssociated, DependencyViolation, GatewayNotAttached
from core.vpc.models import InternetGateway


@dataclass(frozen=True)
class Gateway:
    id: str
    project_id: str
    router_id: str | None  # the VPC it is attached to


def _not_found(gateway_id: str) -> errors.NotFound:
    return errors.NotFound(f"Internet gateway {gateway_id} not found",
                           kind="internet_gateway", id=gateway_id)


class GatewayService(VpcBase):
    def _visible(self, s: Session, ctx: RequestContext) -> list[Gateway]:
        seen = self.seen(s, ctx)
        routers = {r.id for r in seen.routers}
        existing = set(s.scalars(select(Router.id).where(Router.id.in_(list(routers)))))
        rows = s.scalars(select(InternetGateway).where(
            (InternetGateway.project_id == (ctx.project_id or ""))
            | InternetGateway.router_id.in_(list(routers)))
            .order_by(InternetGateway.created_at, InternetGateway.id))
        return [Gateway(g.id, g.project_id, g.router_id if g.router_id in existing else None)
                for g in rows]

    def list(self, ctx: RequestContext, ids: Sequence[str] | None = None) -> list[Gateway]:
        found = self.retrying(lambda s: self._visible(s, ctx))
        if ids is not None:
            found = [g for g in found if g.id in set(ids)]
            missing = [i for i in dict.fromkeys(ids) if i not in {g.id for g in found}]
            if missing:
                raise errors.NotFound(f"Internet gateways {missing} not found",
                                      kind="internet_gateway", ids=missing)
        return found

    def _owned(self, s: Session, ctx: RequestContext, gateway_id: str) -> InternetGateway:
        row = s.get(InternetGateway, gateway_id)
        if row is None or not any(g.id == gateway_id for g in self._visible(s, ctx)):
            raise _not_found(gateway_id)
        self.enforce(ctx, UPDATE_ROUTER, row.project_id)
        return row

    def create(self, ctx: RequestContext) -> Gateway:
        self.enforce(ctx, UPDATE_ROUTER, ctx.project_id or "")
        with self.db.session() as s:
            row = InternetGateway(project_id=ctx.project_id or "")
            s.add(row)
            s.flush()
            mint_new(s, Kind.INTERNET_GATEWAY, [(row.id, row.project_id)])
            return Gateway(row.id, row.project_id, None)

    def delete(self, ctx: RequestContext, gateway_id: str) -> None:
        with self.db.session() as s:
            row = self._owned(s, ctx, gateway_id)
            if row.router_id and s.get(Router, row.router_id) is not None:
                raise DependencyViolation("internet_gateway", gateway_id,
                                          "it is attached to a VPC")
            s.delete(row)
            forget(s, Kind.INTERNET_GATEWAY, [gateway_id])
            forget_tags(s, Kind.INTERNET_GATEWAY, [gateway_id])

    def attach(self, ctx: RequestContext, gateway_id: str, router_id: str) -> None:
        def check(s: Session) -> str:
            row = self._owned(s, ctx, gateway_id)
            self.one(s, ctx, router_id)
            if row.router_id and s.get(Router, row.router_id) is not None:
                raise AlreadyAssociated("internet_gateway", gateway_id, row.router_id)
            other = s.scalar(select(InternetGateway.id).where(
                InternetGateway.router_id == router_id))
            if other is not None:
                raise AlreadyAssociated("vpc", router_id, other)
            external = s.scalar(select(Network.id).where(
                Network.name == self.settings.external_network_name,
                Network.external.is_(True)))
            if external is None:
                raise errors.Conflict("This cloud has no external network to attach to.",
                                      kind="internet_gateway", id=gateway_id)
            return external

        external = self.retrying(check)
        self.routers.update(ctx, router_id, {"external_gateway_info": {"network_id": external}})
        try:
            with self.db.session() as s:
                row = s.get(InternetGateway, gateway_id)
                if row is None:
                    raise _not_found(gateway_id)
                row.router_id = router_id
        except BaseException:
            with contextlib.suppress(errors.CoreError):
                self.routers.update(ctx, router_id, {"external_gateway_info": None})
            raise

    def detach(self, ctx: RequestContext, gateway_id: str, router_id: str) -> None:
        with self.db.session() as s:
            row = self._owned(s, ctx, gateway_id)
            self.one(s, ctx, router_id)
            if row.router_id != router_id:
                raise GatewayNotAttached(gateway_id, router_id)
        try:
            self.routers.update(ctx, router_id, {"external_gateway_info": None})
        except errors.Conflict as exc:  # floating IPs use the gateway
            raise DependencyViolation("internet_gateway", gateway_id,
                                      "elastic IP addresses are mapped in the VPC") from exc
        with self.db.session() as s:
            detached = s.get(InternetGateway, gateway_id)
            if detached is not None:
                detached.router_id = None
