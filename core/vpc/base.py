"""What the VPC family's services share: their collaborators, reading the
VPCs a caller sees (records made on first sight), and policy on them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.db import Database
from core.network.models import Router
from core.network.networks import NetworkService
from core.network.routers import RouterService
from core.network.subnets import SubnetService
from core.policy import PolicyEnforcer
from core.settings import Settings
from core.vpc.models import VpcRecord
from core.vpc.topology import Interface, ensure_records, interfaces, visible_routers

T = TypeVar("T")
GET_ROUTER = "network:get_router"
UPDATE_ROUTER = "network:update_router"


@dataclass(frozen=True)
class Seen:
    """The VPCs a caller sees, read in one session."""

    routers: list[Router]
    records: dict[str, VpcRecord]
    routed: dict[str, list[Interface]]
    default_id: str | None


class VpcBase:
    def __init__(self, db: Database, policy: PolicyEnforcer, settings: Settings,
                 routers: RouterService, networks: NetworkService,
                 subnets: SubnetService) -> None:
        self.db = db
        self.policy = policy
        self.settings = settings
        self.routers = routers
        self.networks = networks
        self.subnets = subnets

    def enforce(self, ctx: RequestContext, rule: str, project_id: str) -> None:
        self.policy.enforce(rule, {"project_id": project_id}, ctx)

    def retrying(self, work: Callable[[Session], T]) -> T:
        """``work`` in one transaction, once more if a concurrent first sight
        of the same router made its records first."""
        try:
            with self.db.session() as s:
                return work(s)
        except IntegrityError:
            with self.db.session() as s:
                return work(s)

    @staticmethod
    def seen(s: Session, ctx: RequestContext, ids: Sequence[str] | None = None) -> Seen:
        routers, default = visible_routers(s, ctx, ids)
        records = ensure_records(s, routers, default)
        return Seen(routers, records, interfaces(s, [r.id for r in routers]), default)

    def one(self, s: Session, ctx: RequestContext, router_id: str) -> Seen:
        """The one VPC ``router_id``; NotFound (kind vpc) unless the caller sees it."""
        found = self.seen(s, ctx, [router_id])
        if not found.routers:
            raise errors.NotFound(f"VPC {router_id} not found", kind="vpc", id=router_id)
        return found


def bool_value(value: Any, param: str) -> bool:
    """An ``AttributeBooleanValue`` ({"Value": bool}) or a plain bool."""
    if isinstance(value, Mapping):
        value = value.get("Value")
    if not isinstance(value, bool):
        raise errors.InvalidInput(f"The parameter {param} requires a boolean Value.",
                                  param=param)
    return value
