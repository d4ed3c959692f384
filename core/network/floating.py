"""Floating (public) addresses: EC2's Elastic IPs over the ``floating_range``.

Every usable address of the range is a row of ``floating_ips`` (the pool is
filled on first use). A project allocates a free one with a compare-and-swap
on ``project_id`` in the transaction that also reserves its ``floating_ips``
quota and mints the allocation's ``eipalloc-`` ID, so no address is handed out
twice and no project passes its quota, also under concurrent calls. An
allocated address is associated with one instance's fixed address (minting an
``eipassoc-`` ID), at most one address per instance: associating another
moves the instance to it, as AWS does. Deleting an instance gives its address
back to the project, disassociated (:meth:`FloatingPool.disassociate_instance`,
called by ``Ipam.release``).
"""

from __future__ import annotations

import ipaddress
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CursorResult, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.db import Database
from core.db.base import utcnow
from core.idmap.ids import Kind, forget, mint_new
from core.idmap.tag_table import forget_tags
from core.network.interfaces import InstanceRecords
from core.network.models import FixedIP, FloatingIP
from core.policy import PolicyEnforcer
from core.quota.service import QuotaService

LIST = "os_compute_api:os-floating-ips:list"
SHOW = "os_compute_api:os-floating-ips:show"
CREATE = "os_compute_api:os-floating-ips:create"
DELETE = "os_compute_api:os-floating-ips:delete"
ADD = "os_compute_api:os-floating-ips:add"
REMOVE = "os_compute_api:os-floating-ips:remove"
QUOTA = "floating_ips"


class AddressNotFound(errors.NotFound):
    """No address of the project's by allocation id, by address (``by="address"``)
    or, for an association, by association id (kind ``floating_ip_association``)."""


class AddressInUse(errors.Conflict):
    """Release of an address still associated with an instance."""


class AlreadyAssociated(errors.Conflict):
    """The address (``id``: its allocation) is associated with another instance
    (under ``association_id``) and reassociation was not allowed."""

    def __init__(self, message: str, allocation_id: str, association_id: str) -> None:
        super().__init__(message, kind="floating_ip", id=allocation_id, state="associated")
        self.association_id = association_id


class NoAddressesLeft(errors.Conflict):
    """The floating range has no free address."""


class InstanceNotReady(errors.Conflict):
    """The instance has no fixed address (yet, or any more) to map to."""


@dataclass(frozen=True)
class FloatingAddress:
    address: str
    pool: str
    project_id: str
    allocation_id: str
    instance_uuid: str | None
    fixed_address: str | None
    association_id: str | None
    allocated_at: datetime | None


def _view(row: FloatingIP) -> FloatingAddress:
    return FloatingAddress(row.address, row.pool, row.project_id or "", row.allocation_id or "",
                           row.instance_uuid, row.fixed_address, row.association_id,
                           row.allocated_at)


class FloatingPool:
    """The rows of one floating range; no policy (the service checks it)."""

    def __init__(self, db: Database, cidr: str, pool: str) -> None:
        self.db = db
        self.cidr = ipaddress.ip_network(cidr, strict=False)
        self.pool = pool
        self._filled = False

    def ensure_pool(self) -> int:
        """Create the rows of addresses not yet known (idempotent): every host
        address but the first (the range's gateway). Returns the pool size."""
        hosts = [str(a) for a in list(self.cidr.hosts())[1:]]
        with self.db.session() as s:
            known = s.scalar(select(func.count()).select_from(FloatingIP)
                             .where(FloatingIP.pool == self.pool)) or 0
            if known < len(hosts):
                existing = set(s.scalars(select(FloatingIP.address)
                                         .where(FloatingIP.pool == self.pool)))
                rows = [{"address": a, "pool": self.pool} for a in hosts if a not in existing]
                for start in range(0, len(rows), 1000):
                    s.execute(insert(FloatingIP), rows[start:start + 1000])
        self._filled = True
        return len(hosts)

    def ensure_pool_once(self) -> None:
        if self._filled:
            return
        try:
            self.ensure_pool()
        except IntegrityError:  # a concurrent filler inserted first
            self.ensure_pool()

    def take(self, s: Session, project_id: str) -> FloatingIP:
        """In ``s``: a free address, now the project's under a new allocation id
        (call :meth:`ensure_pool_once` first, outside ``s``)."""
        for _attempt in range(20):
            candidates = list(s.scalars(
                select(FloatingIP.address).where(FloatingIP.pool == self.pool,
                                                 FloatingIP.project_id.is_(None))
                .order_by(FloatingIP.address).limit(16)))
            if not candidates:
                raise NoAddressesLeft("There are no more free floating IP addresses.",
                                      kind="floating_ip")
            address = random.choice(candidates)
            allocation = str(uuid.uuid4())
            result = s.execute(update(FloatingIP).where(
                FloatingIP.address == address, FloatingIP.project_id.is_(None)).values(
                project_id=project_id, allocation_id=allocation, allocated_at=utcnow(),
                instance_uuid=None, fixed_address=None, association_id=None,
                associated_at=None), execution_options={"synchronize_session": False})
            if isinstance(result, CursorResult) and result.rowcount == 1:
                row = s.scalar(select(FloatingIP).where(FloatingIP.address == address))
                assert row is not None
                return row
        raise errors.ServiceUnavailable("Could not allocate a floating IP address; retry later.")

    def addresses_for(self, instance_uuids: list[str]) -> dict[str, list[tuple[str, str]]]:
        """(floating address, fixed address) pairs of each instance, in one query."""
        out: dict[str, list[tuple[str, str]]] = defaultdict(list)
        if not instance_uuids:
            return out
        with self.db.session() as s:
            for inst, address, fixed in s.execute(
                    select(FloatingIP.instance_uuid, FloatingIP.address,
                           FloatingIP.fixed_address)
                    .where(FloatingIP.instance_uuid.in_(instance_uuids))
                    .order_by(FloatingIP.address)):
                if inst is not None:
                    out[inst].append((address, fixed or ""))
        return out

    def instance_with_address(self, address: str) -> str | None:
        """The instance a floating address is associated with (for DNS), if any."""
        with self.db.session() as s:
            return s.scalar(select(FloatingIP.instance_uuid).where(
                FloatingIP.address == address))

    @staticmethod
    def disassociate_instance(s: Session, instance_uuid: str) -> None:
        """In ``s``: the instance's addresses stay the project's, unassociated."""
        gone = list(s.scalars(select(FloatingIP.association_id).where(
            FloatingIP.instance_uuid == instance_uuid)))
        if not gone:
            return
        s.execute(update(FloatingIP).where(FloatingIP.instance_uuid == instance_uuid).values(
            instance_uuid=None, fixed_address=None, association_id=None, associated_at=None),
            execution_options={"synchronize_session": False})
        forget(s, Kind.ASSOCIATION, [a for a in gone if a])


class FloatingIpService:
    """Allocate, associate, disassociate and release a project's addresses."""

    def __init__(self, db: Database, policy: PolicyEnforcer, quotas: QuotaService,
                 pool: FloatingPool, instances: InstanceRecords) -> None:
        self.db = db
        self.policy = policy
        self.quotas = quotas
        self.pool = pool
        self.instances = instances

    def _enforce(self, ctx: RequestContext, rule: str, project_id: str | None = None) -> None:
        self.policy.enforce(rule, {"project_id": project_id or ctx.project_id,
                                   "user_id": ctx.user_id}, ctx)

    # ---- reading -------------------------------------------------------------
    def list_addresses(self, ctx: RequestContext) -> list[FloatingAddress]:
        """The caller's project's addresses, by address."""
        self._enforce(ctx, LIST)
        with self.db.session() as s:
            return [_view(r) for r in s.scalars(select(FloatingIP).where(
                FloatingIP.project_id == (ctx.project_id or ""))
                .order_by(FloatingIP.address))]

    def _own(self, s: Session, ctx: RequestContext, *, allocation_id: str | None = None,
             address: str | None = None, association_id: str | None = None) -> FloatingIP:
        stmt = select(FloatingIP).where(FloatingIP.project_id == (ctx.project_id or ""))
        if allocation_id is not None:
            stmt = stmt.where(FloatingIP.allocation_id == allocation_id)
        if address is not None:
            stmt = stmt.where(FloatingIP.address == address)
        if association_id is not None:
            stmt = stmt.where(FloatingIP.association_id == association_id)
        row = s.scalar(stmt)
        if row is None:
            if association_id is not None:
                raise AddressNotFound(f"Floating IP {association_id} not found.",
                                      kind="floating_ip_association", id=association_id)
            raise AddressNotFound(f"Floating IP {allocation_id or address} not found.",
                                  kind="floating_ip", id=allocation_id or address,
                                  by=None if allocation_id else "address")
        return row

    # ---- allocate / release ------------------------------------------------------
    def allocate(self, ctx: RequestContext) -> FloatingAddress:
        """A free address for the caller's project (QuotaExceeded past its
        ``floating_ips`` quota, NoAddressesLeft when the range is exhausted)."""
        project = ctx.project_id or ""
        self._enforce(ctx, CREATE)
        self.pool.ensure_pool_once()  # its own transaction: SQLite has one writer
        with self.db.session() as s:
            self.quotas.reserve(s, project, {QUOTA: 1})
            row = self.pool.take(s, project)
            mint_new(s, Kind.ADDRESS, [(row.allocation_id or "", project)])
            return _view(row)

    def release(self, ctx: RequestContext, *, allocation_id: str | None = None,
                address: str | None = None) -> None:
        """Give an unassociated address back to the pool (AddressInUse if associated)."""
        project = ctx.project_id or ""
        self._enforce(ctx, DELETE)
        with self.db.session() as s:
            row = self._own(s, ctx, allocation_id=allocation_id, address=address)
            if row.instance_uuid is not None:
                raise AddressInUse(f"Address {row.address} is in use.", kind="floating_ip",
                                   id=row.allocation_id, state="associated")
            result = s.execute(update(FloatingIP).where(
                FloatingIP.address == row.address, FloatingIP.project_id == project,
                FloatingIP.allocation_id == row.allocation_id,
                FloatingIP.instance_uuid.is_(None)).values(
                project_id=None, allocation_id=None, allocated_at=None),
                execution_options={"synchronize_session": False})
            if isinstance(result, CursorResult) and result.rowcount != 1:
                raise AddressInUse(f"Address {row.address} is in use.", kind="floating_ip",
                                   id=row.allocation_id, state="associated")
            self.quotas.release(s, project, {QUOTA: 1})
            forget(s, Kind.ADDRESS, [row.allocation_id or ""])
            forget_tags(s, Kind.ADDRESS, [row.allocation_id or ""])

    # ---- associate / disassociate --------------------------------------------------
    def associate(self, ctx: RequestContext, instance_uuid: str, *,
                  allocation_id: str | None = None, address: str | None = None,
                  allow_reassociation: bool = False) -> FloatingAddress:
        """Map the address to the instance's fixed address. Associating an address
        with the instance it is on already changes nothing; with another instance
        needs ``allow_reassociation`` (AlreadyAssociated otherwise). An address
        the instance had before is disassociated."""
        project = ctx.project_id or ""
        self._enforce(ctx, ADD)
        if self.instances.project_of(instance_uuid) != project:
            raise errors.NotFound(f"Instance {instance_uuid} could not be found.",
                                  kind="instance", id=instance_uuid)
        with self.db.session() as s:
            row = self._own(s, ctx, allocation_id=allocation_id, address=address)
            if row.instance_uuid == instance_uuid:
                return _view(row)
            if row.instance_uuid is not None and not allow_reassociation:
                raise AlreadyAssociated(
                    f"resource {row.allocation_id} is already associated with "
                    f"associate-id {row.association_id}", row.allocation_id or "",
                    row.association_id or "")
            fixed = s.scalar(select(FixedIP.address).where(
                FixedIP.instance_uuid == instance_uuid).order_by(FixedIP.address))
            if fixed is None or not self.instances.is_live(s, instance_uuid):
                raise InstanceNotReady(f"Instance {instance_uuid} has no fixed address to "
                                       "associate with.", kind="instance", id=instance_uuid)
            # The instance's other address, if any, lets go first.
            for other in s.scalars(select(FloatingIP).where(
                    FloatingIP.instance_uuid == instance_uuid,
                    FloatingIP.address != row.address)):
                self._clear(s, other)
            association = str(uuid.uuid4())
            result = s.execute(update(FloatingIP).where(
                FloatingIP.address == row.address, FloatingIP.project_id == project,
                FloatingIP.allocation_id == row.allocation_id,
                _same(FloatingIP.association_id, row.association_id)).values(
                instance_uuid=instance_uuid, fixed_address=fixed, association_id=association,
                associated_at=utcnow()), execution_options={"synchronize_session": False})
            if isinstance(result, CursorResult) and result.rowcount != 1:
                raise errors.Conflict(f"Floating IP {row.address} changed during the "
                                      "request; retry.")
            if row.association_id:
                forget(s, Kind.ASSOCIATION, [row.association_id])
            mint_new(s, Kind.ASSOCIATION, [(association, project)])
            s.expire_all()
            return _view(self._own(s, ctx, address=row.address))

    def disassociate(self, ctx: RequestContext, *, association_id: str | None = None,
                     address: str | None = None) -> None:
        self._enforce(ctx, REMOVE)
        with self.db.session() as s:
            row = self._own(s, ctx, association_id=association_id, address=address)
            if row.instance_uuid is None:
                raise AddressNotFound(f"Floating IP {address or association_id} is not "
                                      "associated.", kind="floating_ip_association",
                                      id=address or association_id,
                                      by="address" if address else None)
            self._clear(s, row)

    @staticmethod
    def _clear(s: Session, row: FloatingIP) -> None:
        s.execute(update(FloatingIP).where(FloatingIP.address == row.address,
                                           FloatingIP.association_id == row.association_id)
                  .values(instance_uuid=None, fixed_address=None, association_id=None,
                          associated_at=None),
                  execution_options={"synchronize_session": False})
        if row.association_id:
            forget(s, Kind.ASSOCIATION, [row.association_id])


def _same(column, value):
    return column.is_(None) if value is None else column == value
