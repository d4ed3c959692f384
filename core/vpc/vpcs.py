"""VPCs: routers with EC2's attributes. CreateVpc makes a router (named by its
VPC ID unless a name is given), its record, its main route table and its
default security group (named by its VPC ID, ``core.vpc.security_groups``);
DeleteVpc refuses while subnets, an internet gateway, route tables other
than the main one or security groups other than the default one depend on
it, and deletes the default group with it."""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.idmap.ids import Kind, forget, mint_new
from core.idmap.tag_table import forget_tags
from core.network.models import Router
from core.vpc.base import UPDATE_ROUTER, Seen, VpcBase
from core.vpc.errors import DependencyViolation, VpcRangeInvalid
from core.vpc.models import InternetGateway, RouteTable, RouteTableAssociation, VpcRecord
from core.vpc.security_groups import VpcSecurityGroups
from core.vpc.topology import add_main_route_table, cidr_of

PREFIXES = (16, 28)  # the sizes AWS allows a VPC (and a subnet)
ATTRIBUTES = ("enableDnsSupport", "enableDnsHostnames")


@dataclass(frozen=True)
class Vpc:
    router_id: str
    project_id: str
    name: str
    cidr_block: str
    is_default: bool
    dhcp_options_id: str | None
    enable_dns_support: bool
    enable_dns_hostnames: bool


def parse_cidr(value: str, param: str = "CidrBlock") -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(str(value).strip(), strict=True)
    except ValueError:
        raise errors.InvalidInput(f"Value ({value}) for parameter cidrBlock is invalid. "
                                  "This is not a valid CIDR block.", param=param) from None


def vpcs_of(seen: Seen) -> list[Vpc]:
    out = []
    for router in seen.routers:
        record = seen.records[router.id]
        out.append(Vpc(router.id, router.project_id, router.name,
                       cidr_of(record, seen.routed.get(router.id, [])),
                       record.is_default, record.dhcp_options_id,
                       record.enable_dns_support, record.enable_dns_hostnames))
    return out


class VpcService(VpcBase):
    groups: VpcSecurityGroups  # set by build_vpc

    def list(self, ctx: RequestContext, ids: Sequence[str] | None = None) -> list[Vpc]:
        """The VPCs the caller sees (those of ``ids``; NotFound naming any not seen)."""
        found = self.retrying(lambda s: vpcs_of(self.seen(s, ctx, ids)))
        if ids:
            missing = [i for i in dict.fromkeys(ids) if i not in {v.router_id for v in found}]
            if missing:
                raise errors.NotFound(f"VPCs {missing} not found", kind="vpc", ids=missing)
        return found

    def get(self, ctx: RequestContext, router_id: str) -> Vpc:
        return self.list(ctx, [router_id])[0]

    def create(self, ctx: RequestContext, cidr: str, name: str = "") -> Vpc:
        net = parse_cidr(cidr)
        if not PREFIXES[0] <= net.prefixlen <= PREFIXES[1]:
            raise VpcRangeInvalid(str(cidr))
        router = self.routers.create(ctx, {"name": name})
        try:
            with self.db.session() as s:
                self._records(s, router["id"], router["project_id"], str(net), not name)
        except BaseException:
            with contextlib.suppress(errors.CoreError):
                self.routers.delete(ctx, router["id"])
            raise
        return self.get(ctx, router["id"])

    def _records(self, s: Session, router_id: str, project: str, cidr: str,
                 rename: bool) -> None:
        s.add(VpcRecord(router_id=router_id, project_id=project, cidr_block=cidr))
        table, assoc = add_main_route_table(s, router_id, project)
        s.flush()
        ids = mint_new(s, Kind.VPC, [(router_id, project)])
        mint_new(s, Kind.VPC_CIDR_ASSOCIATION, [(router_id, project)])
        mint_new(s, Kind.ROUTE_TABLE, [(table.id, project)])
        mint_new(s, Kind.ROUTE_TABLE_ASSOCIATION, [(assoc.id, project)])
        row = s.get(Router, router_id)
        if rename and row is not None:
            row.name = ids[router_id]
        self.groups.add_default(s, router_id, project, ids[router_id])

    def delete(self, ctx: RequestContext, router_id: str) -> None:
        def check(s: Session) -> None:
            seen = self.one(s, ctx, router_id)
            record = seen.records[router_id]
            self.enforce(ctx, "network:delete_router", record.project_id)
            if record.is_default:
                raise DependencyViolation("vpc", router_id, "it is the default VPC, which "
                                          "every project shares")
            if seen.routed.get(router_id):
                raise DependencyViolation("vpc", router_id, "it has subnets")
            if s.scalar(select(InternetGateway.id).where(
                    InternetGateway.router_id == router_id)):
                raise DependencyViolation("vpc", router_id, "an internet gateway is attached")
            tables = list(s.scalars(select(RouteTable.id).where(
                RouteTable.router_id == router_id)))
            mains = set(s.scalars(select(RouteTableAssociation.route_table_id).where(
                RouteTableAssociation.router_id == router_id,
                RouteTableAssociation.main.is_(True))))
            if any(t not in mains for t in tables):
                raise DependencyViolation("vpc", router_id, "it has route tables")
            # the record locked first: a group being made in the VPC waits, or is seen
            s.get(VpcRecord, router_id, with_for_update=True)
            if self.groups.others(s, router_id):
                raise DependencyViolation("vpc", router_id, "it has security groups")
            self.groups.remove_all(s, router_id)

        self.retrying(check)
        self.routers.delete(ctx, router_id)
        with self.db.session() as s:
            tables = list(s.scalars(select(RouteTable.id).where(
                RouteTable.router_id == router_id)))
            assocs = list(s.scalars(select(RouteTableAssociation.id).where(
                RouteTableAssociation.router_id == router_id)))
            s.execute(delete(RouteTableAssociation).where(
                RouteTableAssociation.router_id == router_id))
            s.execute(delete(RouteTable).where(RouteTable.router_id == router_id))
            s.execute(delete(VpcRecord).where(VpcRecord.router_id == router_id))
            for kind, uuids in ((Kind.VPC, [router_id]), (Kind.VPC_CIDR_ASSOCIATION,
                                                           [router_id]),
                                (Kind.ROUTE_TABLE, tables),
                                (Kind.ROUTE_TABLE_ASSOCIATION, assocs)):
                forget(s, kind, uuids)
                forget_tags(s, kind, uuids)

    def set_attribute(self, ctx: RequestContext, router_id: str, name: str,
                      value: bool) -> None:
        if name not in ATTRIBUTES:
            raise errors.InvalidInput(f"Value ({name}) for parameter attribute is invalid.",
                                      param="Attribute")

        def work(s: Session) -> None:
            record = self.one(s, ctx, router_id).records[router_id]
            self.enforce(ctx, UPDATE_ROUTER, record.project_id)
            if name == "enableDnsSupport":
                record.enable_dns_support = value
            else:
                record.enable_dns_hostnames = value

        self.retrying(work)
