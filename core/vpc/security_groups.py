"""EC2's VPC of each security group.

A group is Neutron's (``core.network.security_groups``); EC2 puts it in a
VPC. A group made with the ``VpcId`` of a VPC other than the default one
has a :class:`~core.vpc.models.SecurityGroupVpc` row naming its router; a
group without one (every group made through Nova, the Network API, or EC2
without a ``VpcId``) is in the default VPC, whose default group is the
project's own ``default``.

Each VPC made by CreateVpc gets a default group as in AWS, with the default
group's rules. Group names are unique per project here (Neutron's rule, and
``default`` is the project's group), so, as OpenStack's ec2-api did, its
real name is the VPC's ID; EC2 shows it as ``default``. It is deleted with
its VPC and by nothing else (:meth:`VpcSecurityGroups.guard`, called by
every delete of a group); the VPC is not deleted while other groups are in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.db import Database
from core.network.models import SecurityGroup
from core.network.networks import NetworkService
from core.network.routers import RouterService
from core.network.security_group_types import DEFAULT, DefaultGroupProtected, Group
from core.network.security_groups import SecurityGroupService
from core.network.subnets import SubnetService
from core.policy import PolicyEnforcer
from core.settings import Settings
from core.vpc.base import VpcBase
from core.vpc.models import SecurityGroupVpc, VpcRecord

DEFAULT_DESCRIPTION = "default VPC security group"


@dataclass(frozen=True)
class GroupPlace:
    """A group's VPC (router) other than the default one; ``is_default``:
    the VPC's own default group."""

    router_id: str
    is_default: bool


class VpcSecurityGroups(VpcBase):
    def __init__(self, db: Database, policy: PolicyEnforcer, settings: Settings,
                 routers: RouterService, networks: NetworkService, subnets: SubnetService,
                 groups: SecurityGroupService) -> None:
        super().__init__(db, policy, settings, routers, networks, subnets)
        self.groups = groups

    # ---- reading -------------------------------------------------------------
    def places(self, uuids: Iterable[str]) -> dict[str, GroupPlace]:
        """The VPCs of those of ``uuids`` not in the default VPC."""
        wanted = list(dict.fromkeys(uuids))
        if not wanted:
            return {}
        with self.db.session() as s:
            return {r.group_uuid: GroupPlace(r.router_id, r.is_default) for r in s.scalars(
                select(SecurityGroupVpc).where(SecurityGroupVpc.group_uuid.in_(wanted)))}

    def default_of(self, router_id: str) -> str | None:
        """The uuid of a VPC's own default group (None: the default VPC, or a
        router made through the Network API, which has none)."""
        with self.db.session() as s:
            return s.scalar(select(SecurityGroupVpc.group_uuid).where(
                SecurityGroupVpc.router_id == router_id, SecurityGroupVpc.is_default.is_(True)))

    # ---- writing -------------------------------------------------------------
    def create(self, ctx: RequestContext, router_id: str, name: str,
               description: str) -> Group:
        """A group in the VPC ``router_id`` (NotFound, kind vpc, unless the
        caller sees it); in the default VPC it is a plain group."""
        seen = self.retrying(lambda s: self.one(s, ctx, router_id))
        if seen.records[router_id].is_default:
            return self.groups.create(ctx, name, description)

        def record(s: Session, row: SecurityGroup) -> None:
            # the VPC's record, locked: DeleteVpc waits for the group, or has won
            if s.get(VpcRecord, router_id, with_for_update=True) is None:
                raise errors.NotFound(f"VPC {router_id} not found", kind="vpc", id=router_id)
            s.add(SecurityGroupVpc(group_uuid=row.uuid, router_id=router_id))

        return self.groups.create(ctx, name, description, also=record)

    def add_default(self, s: Session, router_id: str, project_id: str, name: str) -> None:
        """In CreateVpc's transaction: the new VPC's default group, named ``name``."""
        row = self.groups.insert_default_like(s, project_id, name, DEFAULT_DESCRIPTION)
        s.add(SecurityGroupVpc(group_uuid=row.uuid, router_id=router_id, is_default=True))

    def guard(self, s: Session, row: SecurityGroup) -> None:
        """Every delete of a group: a VPC's default group is refused, another
        group's VPC forgotten (in the delete's transaction)."""
        place = s.get(SecurityGroupVpc, row.uuid)
        if place is None:
            return
        if place.is_default:
            raise DefaultGroupProtected(Group(row.uuid, row.project_id, DEFAULT,
                                              row.description or "", row.created_at), "delete")
        s.delete(place)

    def others(self, s: Session, router_id: str) -> list[str]:
        """The groups of a VPC other than its default one."""
        return list(s.scalars(select(SecurityGroupVpc.group_uuid).join(
            SecurityGroup, SecurityGroup.uuid == SecurityGroupVpc.group_uuid).where(
            SecurityGroupVpc.router_id == router_id, SecurityGroupVpc.is_default.is_(False))
            .with_for_update()))  # a locking read: the latest committed rows

    def remove_all(self, s: Session, router_id: str) -> None:
        """In DeleteVpc's transaction (once :meth:`others` is empty): its
        default group goes (GroupInUse while a port or instance uses it)."""
        rows = list(s.scalars(select(SecurityGroup).join(
            SecurityGroupVpc, SecurityGroup.uuid == SecurityGroupVpc.group_uuid).where(
            SecurityGroupVpc.router_id == router_id)))
        s.execute(delete(SecurityGroupVpc).where(SecurityGroupVpc.router_id == router_id))
        for row in rows:
            self.groups.remove(s, row)
