"""Floating IPs: addresses of an external network a project owns (each held
by a ``network:floatingip`` port, so IPAM never gives it to anything else),
mapped to one fixed address of a port behind a router with a gateway to that
network. Every floating IP gets its EC2 ``eipalloc-`` ID when it is made and
an ``eipassoc-`` ID per mapping.

:class:`FloatingIpApi` is the Network API's resource; :class:`FloatingIpService`
is what EC2's Elastic IP actions use (by instance, one address per instance,
as AWS).
"""

from __future__ import annotations

import uuid as uuidlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.db import Database
from core.db.base import utcnow
from core.idmap.ids import Kind, forget, mint_new
from core.idmap.tag_table import forget_tags
from core.network.base import ResourceService, bump, standard, tags_of, text
from core.network.errors import (
    ExternalGatewayForFloatingIPNotFound,
    ExternalNetworkRequired,
    FloatingIPNotFound,
    FloatingIPPortAlreadyAssociated,
    InvalidInput,
    IpAddressGenerationFailure,
    NetworkNotFound,
    PortNotFound,
)
from core.network.models import FloatingIp, IpAllocation, Network, NetworkTag, Port
from core.network.networks import NetworkService
from core.network.ports import delete_port_rows, new_port
from core.network.query import Columns
from core.network.routers import router_path
from core.policy import PolicyEnforcer

LIST = "os_compute_api:os-floating-ips:list"
SHOW = "os_compute_api:os-floating-ips:show"
CREATE = "os_compute_api:os-floating-ips:create"
DELETE = "os_compute_api:os-floating-ips:delete"
ADD = "os_compute_api:os-floating-ips:add"
REMOVE = "os_compute_api:os-floating-ips:remove"
QUOTA = "floating_ips"


class FloatingIpApi(ResourceService):
    model = FloatingIp
    resource = "floatingip"
    columns = Columns.of(FloatingIp, "floatingip", texts=(
        "floating_network_id", "floating_ip_address", "port_id", "fixed_ip_address",
        "router_id", "status"))
    not_found = FloatingIPNotFound

    def __init__(self, db, policy, quotas, networks: NetworkService) -> None:
        super().__init__(db, policy, quotas)
        self.networks = networks

    def _views(self, s: Session, rows: Sequence[FloatingIp]) -> list[dict[str, Any]]:
        tags = tags_of(s, [r.id for r in rows])
        return [{**standard(r, tags), "floating_network_id": r.floating_network_id,
                 "floating_ip_address": r.floating_ip_address, "port_id": r.port_id,
                 "fixed_ip_address": r.fixed_ip_address, "router_id": r.router_id,
                 "status": r.status, "port_details": None, "port_forwardings": [],
                 "qos_policy_id": None} for r in rows]

    def create(self, ctx: RequestContext, attrs: Mapping[str, Any]) -> dict[str, Any]:
        if not attrs.get("floating_network_id"):
            raise InvalidInput("floating_network_id is required.", "floating_network_id")
        project = self.owner_for_create(ctx, attrs)
        self.enforce(ctx, "create_floatingip", {"project_id": project})
        address = attrs.get("floating_ip_address")
        if address is not None:
            self.enforce(ctx, "create_floatingip:floating_ip_address", {"project_id": project})
        with self.db.session() as s:
            row = make_floating_ip(s, ctx, self.networks, project,
                                   str(attrs["floating_network_id"]), address,
                                   attrs.get("subnet_id"), text(attrs, "description"))
            if attrs.get("port_id"):
                associate(s, ctx, row, str(attrs["port_id"]), attrs.get("fixed_ip_address"))
            s.flush()
            return self._views(s, [row])[0]

    def update(self, ctx: RequestContext, id: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
        with self.db.session() as s:
            row = self.row(s, ctx, id, "update_floatingip", lock=True)
            if "description" in attrs:
                row.description = text(attrs, "description")
            if "port_id" in attrs:
                if attrs["port_id"]:
                    associate(s, ctx, row, str(attrs["port_id"]), attrs.get("fixed_ip_address"))
                else:
                    disassociate(s, row)
            bump(row)
            s.flush()
            return self._views(s, [row])[0]

    def delete(self, ctx: RequestContext, id: str) -> None:
        with self.db.session() as s:
            row = self.row(s, ctx, id, "delete_floatingip", lock=True)
            release_row(s, self.quotas, row)


# ---- shared by both faces -------------------------------------------------------------
def make_floating_ip(s: Session, ctx: RequestContext, networks: NetworkService, project: str,
                     network_id: str, address: Any = None, subnet_id: Any = None,
                     description: str = "", quotas: Any = None) -> FloatingIp:
    net = s.scalar(select(Network).where(Network.id == network_id, networks.visible(ctx)))
    if net is None:
        raise NetworkNotFound(network_id)
    if not net.external:
        raise ExternalNetworkRequired(net.id)
    (quotas or networks.quotas).reserve(s, project, {QUOTA: 1})
    row = FloatingIp(project_id=project, floating_network_id=net.id, description=description,
                     floating_ip_address="", status="DOWN")
    row.id = str(uuidlib.uuid4())
    fixed = None
    if address is not None or subnet_id is not None:
        fixed = [{k: str(v) for k, v in (("ip_address", address), ("subnet_id", subnet_id))
                  if v is not None}]
    try:
        port = new_port(s, project_id="", network=net, device_id=row.id,
                        device_owner="network:floatingip", fixed_ips=fixed)
    except IpAddressGenerationFailure:
        raise IpAddressGenerationFailure(net.id) from None
    held = s.scalar(select(IpAllocation.ip_address).where(IpAllocation.port_id == port.id))
    if held is None:
        raise IpAddressGenerationFailure(net.id)
    row.floating_port_id, row.floating_ip_address = port.id, held
    s.add(row)
    s.flush()
    mint_new(s, Kind.ADDRESS, [(row.id, project)])
    return row


def associate(s: Session, ctx: RequestContext, row: FloatingIp, port_id: str,
              fixed_ip: Any = None) -> None:
    port = s.scalar(select(Port).where(Port.id == port_id))
    if port is None or (not ctx.is_admin and port.project_id != row.project_id):
        raise PortNotFound(port_id)
    fixed = list(s.execute(select(IpAllocation.subnet_id, IpAllocation.ip_address).where(
        IpAllocation.port_id == port.id)))
    if fixed_ip is not None:
        chosen = next((f for f in fixed if f.ip_address == str(fixed_ip)), None)
        if chosen is None:
            raise InvalidInput(f"Port {port.id} does not have fixed ip {fixed_ip}",
                               "fixed_ip_address")
    elif not fixed:
        raise InvalidInput(f"Cannot add floating IP to port {port.id} that has no fixed IPv4 "
                           "addresses", "port_id")
    elif len(fixed) > 1:
        raise InvalidInput(f"Port {port.id} has multiple fixed IPv4 addresses.  Must provide"
                           " a specific IPv4 address when assigning a floating IP",
                           "fixed_ip_address")
    else:
        chosen = fixed[0]
    if row.port_id == port.id and row.fixed_ip_address == chosen.ip_address:
        return
    router = router_path(s, chosen.subnet_id, row.floating_network_id)
    if router is None:
        raise ExternalGatewayForFloatingIPNotFound(chosen.subnet_id, row.floating_network_id,
                                                   port.id)
    other = s.scalar(select(FloatingIp).where(
        FloatingIp.port_id == port.id, FloatingIp.fixed_ip_address == chosen.ip_address,
        FloatingIp.floating_network_id == row.floating_network_id, FloatingIp.id != row.id))
    if other is not None:
        raise FloatingIPPortAlreadyAssociated(row.id, row.floating_ip_address, port.id,
                                              chosen.ip_address)
    if row.association_id:
        forget(s, Kind.ASSOCIATION, [row.association_id])
    row.port_id, row.fixed_ip_address, row.router_id = port.id, chosen.ip_address, router
    row.status, row.associated_at = "ACTIVE", utcnow()
    row.association_id = str(uuidlib.uuid4())
    mint_new(s, Kind.ASSOCIATION, [(row.association_id, row.project_id)])
    bump(row)


def disassociate(s: Session, row: FloatingIp) -> None:
    if row.association_id:
        forget(s, Kind.ASSOCIATION, [row.association_id])
    row.port_id = row.fixed_ip_address = row.router_id = row.association_id = None
    row.associated_at, row.status = None, "DOWN"
    bump(row)


def release_row(s: Session, quotas: Any, row: FloatingIp) -> None:
    disassociate(s, row)
    if row.floating_port_id:
        delete_port_rows(s, [row.floating_port_id])
    s.execute(delete(NetworkTag).where(NetworkTag.resource_id == row.id))
    forget(s, Kind.ADDRESS, [row.id])
    forget_tags(s, Kind.ADDRESS, [row.id])
    s.delete(row)
    quotas.release(s, row.project_id, {QUOTA: 1})


# ---- EC2's Elastic IPs -------------------------------------------------------------------
class AddressNotFound(errors.NotFound):
    """No address of the project's by allocation id, by address (``by="address"``)
    or, for an association, by association id (kind ``floating_ip_association``)."""


class AddressInUse(errors.Conflict):
    """Release of an address still associated with an instance."""


class AlreadyAssociated(errors.Conflict):
    def __init__(self, message: str, allocation_id: str, association_id: str) -> None:
        super().__init__(message, kind="floating_ip", id=allocation_id, state="associated")
        self.association_id = association_id


class NoAddressesLeft(errors.Conflict):
    """The external network has no free address."""


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
    port_id: str | None = None


class FloatingLookup:
    """Read-only questions compute, DNS and EC2 ask about floating addresses."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def addresses_for(self, instance_uuids: list[str]) -> dict[str, list[tuple[str, str]]]:
        """(floating address, fixed address) pairs of each instance, in one query."""
        out: dict[str, list[tuple[str, str]]] = defaultdict(list)
        if not instance_uuids:
            return out
        with self.db.session() as s:
            for device, address, fixed in s.execute(
                    select(Port.device_id, FloatingIp.floating_ip_address,
                           FloatingIp.fixed_ip_address)
                    .join(Port, Port.id == FloatingIp.port_id)
                    .where(Port.device_id.in_(instance_uuids))
                    .order_by(FloatingIp.floating_ip_address)):
                out[device].append((address, fixed or ""))
        return out

    def instance_with_address(self, address: str) -> str | None:
        with self.db.session() as s:
            return s.scalar(select(Port.device_id).join(
                FloatingIp, FloatingIp.port_id == Port.id).where(
                FloatingIp.floating_ip_address == address, Port.device_owner.like("compute:%")))


class FloatingIpService:
    """Allocate, associate, disassociate and release a project's addresses by
    instance, from the default external network."""

    def __init__(self, db: Database, policy: PolicyEnforcer, quotas: Any,
                 networks: NetworkService) -> None:
        self.db = db
        self.policy = policy
        self.quotas = quotas
        self.networks = networks
        self.pool = FloatingLookup(db)

    def _enforce(self, ctx: RequestContext, rule: str) -> None:
        self.policy.enforce(rule, {"project_id": ctx.project_id, "user_id": ctx.user_id}, ctx)

    def _view(self, s: Session, row: FloatingIp) -> FloatingAddress:
        device = (s.scalar(select(Port.device_id).where(Port.id == row.port_id))
                  if row.port_id else None)
        net = s.get(Network, row.floating_network_id)
        return FloatingAddress(row.floating_ip_address, net.name if net else "",
                               row.project_id, row.id, device or None, row.fixed_ip_address,
                               row.association_id, row.created_at, row.port_id)

    def list_addresses(self, ctx: RequestContext) -> list[FloatingAddress]:
        self._enforce(ctx, LIST)
        with self.db.session() as s:
            return [self._view(s, r) for r in s.scalars(select(FloatingIp).where(
                FloatingIp.project_id == (ctx.project_id or ""))
                .order_by(FloatingIp.floating_ip_address))]

    def _own(self, s: Session, ctx: RequestContext, *, allocation_id: str | None = None,
             address: str | None = None, association_id: str | None = None) -> FloatingIp:
        stmt = select(FloatingIp).where(FloatingIp.project_id == (ctx.project_id or ""))
        if allocation_id is not None:
            stmt = stmt.where(FloatingIp.id == allocation_id)
        if address is not None:
            stmt = stmt.where(FloatingIp.floating_ip_address == address)
        if association_id is not None:
            stmt = stmt.where(FloatingIp.association_id == association_id)
        row = s.scalar(stmt.with_for_update())
        if row is None:
            if association_id is not None:
                raise AddressNotFound(f"Floating IP {association_id} not found.",
                                      kind="floating_ip_association", id=association_id)
            raise AddressNotFound(f"Floating IP {allocation_id or address} not found.",
                                  kind="floating_ip", id=allocation_id or address,
                                  by=None if allocation_id else "address")
        return row

    def pools(self, ctx: RequestContext) -> list[str]:
        """The external networks' names (Nova's floating IP pools)."""
        self._enforce(ctx, LIST)
        with self.db.session() as s:
            return list(s.scalars(select(Network.name).where(Network.external.is_(True))
                                  .order_by(Network.created_at)))

    def allocate(self, ctx: RequestContext, pool: str | None = None) -> FloatingAddress:
        """A free address for the caller's project, of the external network
        named ``pool`` (the first one made when None: the bootstrap's)."""
        self._enforce(ctx, CREATE)
        with self.db.session() as s:
            stmt = select(Network).where(Network.external.is_(True))
            if pool is not None:
                stmt = stmt.where(Network.name == pool)
            net = s.scalar(stmt.order_by(Network.created_at))
            if net is None:
                if pool is not None:
                    raise errors.NotFound(f"Floating IP pool {pool} not found.",
                                          kind="network", id=pool)
                raise errors.Conflict("There is no external network to allocate from.",
                                      kind="floating_ip")
            try:
                row = make_floating_ip(s, ctx, self.networks, ctx.project_id or "", net.id,
                                       quotas=self.quotas)
            except IpAddressGenerationFailure:
                raise NoAddressesLeft("There are no more free floating IP addresses.",
                                      kind="floating_ip") from None
            return self._view(s, row)

    def release(self, ctx: RequestContext, *, allocation_id: str | None = None,
                address: str | None = None) -> None:
        self._enforce(ctx, DELETE)
        with self.db.session() as s:
            row = self._own(s, ctx, allocation_id=allocation_id, address=address)
            if row.port_id is not None:
                raise AddressInUse(f"Address {row.floating_ip_address} is in use.",
                                   kind="floating_ip", id=row.id, state="associated")
            release_row(s, self.quotas, row)

    def associate(self, ctx: RequestContext, instance_uuid: str, *,
                  allocation_id: str | None = None, address: str | None = None,
                  allow_reassociation: bool = False,
                  fixed_address: str | None = None, exclusive: bool = True
                  ) -> FloatingAddress:
        """Map the address to the instance's (first, or ``fixed_address``) fixed
        address; with ``exclusive`` (EC2's one address per instance) the
        instance's other address, if any, lets go first."""
        self._enforce(ctx, ADD)
        with self.db.session() as s:
            row = self._own(s, ctx, allocation_id=allocation_id, address=address)
            ports = list(s.scalars(select(Port).where(Port.device_id == instance_uuid,
                                                      Port.device_owner.like("compute:%"))
                                   .order_by(Port.created_at)))
            if not ports:
                raise InstanceNotReady(f"Instance {instance_uuid} has no fixed address to "
                                       "associate with.", kind="instance", id=instance_uuid)
            current = s.scalar(select(Port.device_id).where(Port.id == row.port_id)
                               ) if row.port_id else None
            if current == instance_uuid and (fixed_address is None
                                             or row.fixed_ip_address == fixed_address):
                return self._view(s, row)
            if current is not None and not allow_reassociation:
                raise AlreadyAssociated(
                    f"resource {row.id} is already associated with associate-id "
                    f"{row.association_id}", row.id, row.association_id or "")
            port = ports[0]
            if fixed_address is not None:
                port = next((p for p in ports if s.scalar(select(IpAllocation.port_id).where(
                    IpAllocation.port_id == p.id, IpAllocation.ip_address == fixed_address))),
                    None) or port
            if exclusive:
                for other in s.scalars(select(FloatingIp).where(
                        FloatingIp.port_id.in_([p.id for p in ports]),
                        FloatingIp.id != row.id)):
                    disassociate(s, other)
                s.flush()
            associate(s, ctx, row, port.id, fixed_address)
            s.flush()
            return self._view(s, row)

    def associate_port(self, ctx: RequestContext, port_id: str, *, allocation_id: str,
                       fixed_address: str | None = None,
                       allow_reassociation: bool = False) -> FloatingAddress:
        """Map the address to one fixed address of a port of the project (EC2's
        network interface); another address on that fixed address lets go.
        The port's subnet needs a router to the address's network
        (ExternalGatewayForFloatingIPNotFound otherwise)."""
        self._enforce(ctx, ADD)
        with self.db.session() as s:
            row = self._own(s, ctx, allocation_id=allocation_id)
            if row.port_id == port_id and (fixed_address is None
                                           or row.fixed_ip_address == fixed_address):
                return self._view(s, row)
            if row.port_id is not None and not allow_reassociation:
                raise AlreadyAssociated(
                    f"resource {row.id} is already associated with associate-id "
                    f"{row.association_id}", row.id, row.association_id or "")
            for other in s.scalars(select(FloatingIp).where(
                    FloatingIp.port_id == port_id, FloatingIp.id != row.id,
                    FloatingIp.fixed_ip_address == fixed_address)):
                disassociate(s, other)
            s.flush()
            associate(s, ctx, row, port_id, fixed_address)
            s.flush()
            return self._view(s, row)

    def disassociate(self, ctx: RequestContext, *, association_id: str | None = None,
                     address: str | None = None) -> None:
        self._enforce(ctx, REMOVE)
        with self.db.session() as s:
            row = self._own(s, ctx, association_id=association_id, address=address)
            if row.port_id is None:
                raise AddressNotFound(f"Floating IP {address or association_id} is not "
                                      "associated.", kind="floating_ip_association",
                                      id=address or association_id,
                                      by="address" if address else None)
            disassociate(s, row)


