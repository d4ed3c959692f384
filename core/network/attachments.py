"""Network interfaces attached to servers and detached again, as Nova's
interface attach binds a port (``device_id`` the server, ``device_owner``
``compute:nova``) and its detach unbinds it; and the servers' interfaces read
in one go for their EC2 views (:meth:`InterfaceAttachments.of_instances`).

Policy: the port's ``network:update_port`` (the caller checked the server)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.db import Database
from core.network.base import bump
from core.network.errors import PortNotFound
from core.network.interface_ids import (
    device_indexes,
    drop_attachments,
    record_attachment,
    recorded_indexes,
)
from core.network.models import FloatingIp, Port, PortSecurityGroup, SecurityGroup
from core.network.ports import PortService, port_fixed_ips

COMPUTE_OWNER = "compute:nova"


class InterfaceInUse(errors.Conflict):
    """The interface is attached (to be attached, or deleted, it must not be)."""

    def __init__(self, port_id: str) -> None:
        super().__init__(f"Interface {port_id} is in use.", kind="port", id=port_id,
                         state="in-use")


class InterfaceNotAttached(errors.NotFound):
    """No attachment of that port (any more)."""

    def __init__(self, port_id: str) -> None:
        super().__init__(f"Port {port_id} is not attached.",
                         kind="network_interface_attachment", id=port_id)


class PrimaryInterface(errors.Conflict):
    """The primary interface (device index 0) stays with its server."""

    def __init__(self, port_id: str) -> None:
        super().__init__(f"The primary interface {port_id} of a server cannot be detached.",
                         kind="port", id=port_id, state="primary")


class DeviceIndexInUse(errors.InvalidInput):
    def __init__(self, instance_uuid: str, index: int) -> None:
        super().__init__(f"Instance {instance_uuid} already has an interface attached at "
                         f"device index {index}.", param="DeviceIndex", id=instance_uuid,
                         device_index=index)


@dataclass
class Interface:
    """One port of a server, as its views need it."""

    port_id: str
    project_id: str
    network_id: str
    mac_address: str
    description: str
    device_id: str  # the server it is attached to, "" for none
    device_index: int | None
    fixed_ips: list[dict[str, str]]
    groups: list[tuple[str, str]]  # (uuid, name)
    source_dest_check: bool
    attached_at: object  # the port's last change (its binding, mostly)
    compute_made: bool
    floating: list[tuple[str, str, str, str]] = field(default_factory=list)
    # (floating address, fixed address, floating IP id, association id)


def source_dest_check(pairs: Sequence[dict] | None) -> bool:
    """EC2's SourceDestCheck is off when the port may send from any address
    (the allowed address pair 0.0.0.0/0, as OpenStack's ec2-api set it)."""
    return not any(p.get("ip_address") == "0.0.0.0/0" for p in pairs or ())


_INTERFACE_COLUMNS = (Port.id, Port.project_id, Port.network_id, Port.mac_address,
                      Port.description, Port.device_id, Port.device_owner,
                      Port.allowed_address_pairs, Port.updated_at, Port.compute_made,
                      Port.created_at)


def _bound_ports(s: Session, instance_uuids: Sequence[str]) -> list[Any]:
    """The ports bound to the servers, as read-only rows (the Port attributes
    interfaces read)."""
    out: list[Any] = []
    for start in range(0, len(instance_uuids), 500):
        out.extend(s.execute(select(*_INTERFACE_COLUMNS).where(
            Port.device_id.in_(list(instance_uuids[start:start + 500])),
            Port.device_owner.like("compute:%")).order_by(Port.created_at, Port.id)))
    return out


def _indexes(s: Session, ports: Sequence[Any]) -> dict[str, int]:
    recorded = recorded_indexes(s, [p.id for p in ports])
    by_device: dict[str, list[str]] = defaultdict(list)
    for port in ports:
        by_device[port.device_id].append(port.id)
    out: dict[str, int] = {}
    for ids in by_device.values():
        out.update(device_indexes(recorded, ids))
    return out


class InterfaceAttachments:
    def __init__(self, db: Database, ports: PortService) -> None:
        self.db = db
        self.ports = ports

    def _own_port(self, s: Session, ctx: RequestContext, port_id: str) -> Port:
        port = self.ports.row(s, ctx, port_id, "update_port", lock=True)
        if port.project_id != ctx.project_id:
            raise PortNotFound(port_id)
        return port

    def attach(self, ctx: RequestContext, port_id: str, instance_uuid: str, host: str,
               device_index: int) -> str:
        """Bind the caller's port to the server at ``device_index``; the
        attachment's mapping key (its ``eni-attach-`` ID names it)."""
        with self.db.session() as s:
            port = self._own_port(s, ctx, port_id)
            if port.device_id or port.device_owner:
                raise InterfaceInUse(port.id)
            held = _bound_ports(s, [instance_uuid])
            if device_index in _indexes(s, held).values():
                raise DeviceIndexInUse(instance_uuid, device_index)
            port.device_id, port.device_owner = instance_uuid, COMPUTE_OWNER
            port.binding_host_id, port.status = host, "ACTIVE"
            bump(port)
            record_attachment(s, port.id, port.project_id, device_index)
            return f"{port.id}/{device_index}"

    def detach(self, ctx: RequestContext, port_id: str, instance_uuid: str | None = None
               ) -> None:
        """Unbind the caller's port from its server (not the primary one); it
        stays, the project's, to be attached again or deleted."""
        with self.db.session() as s:
            port = self._own_port(s, ctx, port_id)
            if not port.device_owner.startswith("compute:") or (
                    instance_uuid is not None and port.device_id != instance_uuid):
                raise InterfaceNotAttached(port.id)
            if _indexes(s, _bound_ports(s, [port.device_id])).get(port.id) == 0:
                raise PrimaryInterface(port.id)
            port.device_id = port.device_owner = port.binding_host_id = ""
            port.status, port.compute_made = "DOWN", False
            bump(port)
            drop_attachments(s, [port.id])

    def set_delete_on_termination(self, ctx: RequestContext, port_id: str,
                                  value: bool) -> None:
        """Whether the port goes with the server it is attached to when that
        is deleted (as the ports compute makes for it do)."""
        with self.db.session() as s:
            port = self._own_port(s, ctx, port_id)
            if not port.device_owner.startswith("compute:"):
                raise InterfaceNotAttached(port.id)
            port.compute_made = value
            bump(port)

    def device_index(self, port_id: str) -> int | None:
        """The device index of a bound port (None: not bound to a server)."""
        with self.db.session() as s:
            port = s.get(Port, port_id)
            if port is None or not port.device_owner.startswith("compute:"):
                return None
            return _indexes(s, _bound_ports(s, [port.device_id])).get(port_id)

    def of_instances(self, instance_uuids: Sequence[str]) -> dict[str, list[Interface]]:
        """Each server's interfaces by device index: five queries in all."""
        out: dict[str, list[Interface]] = defaultdict(list)
        if not instance_uuids:
            return out
        with self.db.session() as s:
            for item in _interfaces(s, _bound_ports(s, instance_uuids)):
                out[item.device_id].append(item)
        for items in out.values():
            items.sort(key=lambda i: i.device_index if i.device_index is not None else 0)
        return out

    def of_ports(self, port_ids: Sequence[str]) -> dict[str, Interface]:
        """The interfaces that are these ports (bound or not), by port id."""
        with self.db.session() as s:
            ports: list[Any] = []
            for start in range(0, len(port_ids), 500):
                ports.extend(s.scalars(select(Port).where(
                    Port.id.in_(list(port_ids[start:start + 500])))))
            bound = {p.device_id for p in ports if p.device_owner.startswith("compute:")}
            siblings = _bound_ports(s, sorted(bound)) if bound else []
            known = {p.id for p in ports}
            items = _interfaces(s, ports + [p for p in siblings if p.id not in known])
            return {i.port_id: i for i in items if i.port_id in known}


def _group_names(s: Session, ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        for port, uuid, name in s.execute(
                select(PortSecurityGroup.port_id, SecurityGroup.uuid, SecurityGroup.name)
                .join(SecurityGroup, SecurityGroup.id == PortSecurityGroup.group_id)
                .where(PortSecurityGroup.port_id.in_(ids[start:start + 500]))
                .order_by(SecurityGroup.name)):
            out[port].append((uuid, name))
    return out


def _interfaces(s: Session, ports: Sequence[Any]) -> list[Interface]:
    """Ports as interfaces; the device indexes of bound ones need all the
    ports of their servers in ``ports``."""
    ids = [p.id for p in ports]
    indexes = _indexes(s, [p for p in ports if p.device_owner.startswith("compute:")])
    ips, groups = port_fixed_ips(s, ids), _group_names(s, ids)
    floating: dict[str, list[tuple[str, str, str, str]]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        for port_id, address, fixed, fip, association in s.execute(
                select(FloatingIp.port_id, FloatingIp.floating_ip_address,
                       FloatingIp.fixed_ip_address, FloatingIp.id, FloatingIp.association_id)
                .where(FloatingIp.port_id.in_(ids[start:start + 500]))
                .order_by(FloatingIp.floating_ip_address)):
            floating[port_id or ""].append((address, fixed or "", fip, association or ""))
    return [Interface(p.id, p.project_id, p.network_id, p.mac_address, p.description,
                      p.device_id if p.device_owner.startswith("compute:") else "",
                      indexes.get(p.id), ips.get(p.id, []), groups.get(p.id, []),
                      source_dest_check(p.allowed_address_pairs), p.updated_at,
                      p.compute_made, floating.get(p.id, [])) for p in ports]
