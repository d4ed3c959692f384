"""What compute asks of the network model for its servers, as Nova asks
Neutron: which networks a boot uses (checked when the API takes the request),
the server's ports made or bound when it is built and gone (or unbound) when
it is deleted, its addresses as Nova shows them, and its security groups
applied to its ports. No policy here: compute checked the server's."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.db import Database
from core.network.interface_ids import drop_attachments, mint_bound
from core.network.models import FloatingIp, IpAllocation, Network, Port, Subnet
from core.network.ports import delete_port_rows, group_ids, new_port, set_port_groups
from core.quota.service import QuotaService

COMPUTE_OWNER = "compute:nova"


class Address(NamedTuple):
    address: str
    network: str
    mac_address: str
    version: int = 4
    type: str = "fixed"


class NetworkAmbiguous(errors.Conflict):
    def __init__(self) -> None:
        super().__init__("Multiple possible networks found, use a Network ID to be more "
                         "specific.", kind="network", state="ambiguous")


class BootNetworkNotFound(errors.InvalidReference):
    def __init__(self, id: str) -> None:
        super().__init__(f"Network {id} could not be found.", kind="network", id=id,
                         param="networks")


class BootPortNotFound(errors.InvalidReference):
    def __init__(self, id: str) -> None:
        super().__init__(f"Port id {id} could not be found.", kind="port", id=id,
                         param="networks")


class BootPortInUse(errors.Conflict):
    def __init__(self, id: str) -> None:
        super().__init__(f"Port {id} is still in use.", kind="port", id=id, state="in-use")


class FixedIpInvalid(errors.InvalidInput):
    def __init__(self, address: str, network_id: str) -> None:
        super().__init__(f"Fixed IP address {address} is not valid on network {network_id}.",
                         kind="network", id=network_id, param="fixed_ip")


class FixedIpInUse(errors.InvalidInput):
    def __init__(self, address: str) -> None:
        super().__init__(f"Fixed IP address {address} is already in use on instance.",
                         kind="fixed_ip", id=address, param="fixed_ip")


def _visible(ctx: RequestContext) -> Any:
    if ctx.is_admin:
        return Network.id.is_not(None)
    return or_(Network.project_id == (ctx.project_id or ""), Network.shared.is_(True))


class InstanceNetworking:
    def __init__(self, db: Database, quotas: QuotaService) -> None:
        self.db = db
        self.quotas = quotas

    # ---- at the API: what a boot asks for ---------------------------------------------
    def default_network(self, s: Session) -> Network | None:
        return s.scalar(select(Network).where(Network.is_default.is_(True))
                        .order_by(Network.created_at))

    def resolve(self, ctx: RequestContext, requested: Any, count: int = 1) -> list[dict]:
        """The networks and ports a boot will use: ``requested`` is Nova's
        ``networks`` (a list, ``"auto"``, ``"none"``, or None for Nova's
        choice), ``"default"`` for EC2's default subnet."""
        project = ctx.project_id or ""
        with self.db.session() as s:
            if requested == "none":
                return []
            if requested == "default":
                net = self.default_network(s)
                return [{"network_id": net.id}] if net is not None else []
            if requested in (None, "auto") or requested == []:
                return self._chosen(s, project)
            out = []
            for item in requested:
                if item.get("port"):
                    if count > 1:
                        raise errors.InvalidInput("Unable to launch multiple instances with a "
                                                  "single configured port ID. Please launch "
                                                  "your instance one by one with different "
                                                  "ports.", param="networks")
                    out.append({"port_id": self._free_port(s, ctx, str(item["port"])),
                                **_device_tag(item)})
                    continue
                net_id = str(item.get("uuid") or "")
                net = s.scalar(select(Network).where(Network.id == net_id, _visible(ctx)))
                if net is None:
                    raise BootNetworkNotFound(net_id)
                entry: dict[str, Any] = {"network_id": net.id, **_device_tag(item)}
                if item.get("fixed_ip"):
                    if count > 1:
                        raise errors.InvalidInput("max_count cannot be greater than 1 if an "
                                                  "fixed_ip is specified.", param="networks")
                    entry["fixed_ip"] = self._free_address(s, net, str(item["fixed_ip"]))
                out.append(entry)
            return out

    def _chosen(self, s: Session, project: str) -> list[dict]:
        with_subnets = select(Subnet.network_id)
        own = list(s.scalars(select(Network.id).where(
            Network.project_id == project, Network.external.is_(False),
            Network.id.in_(with_subnets))))
        if not own:
            own = list(s.scalars(select(Network.id).where(
                Network.shared.is_(True), Network.external.is_(False),
                Network.id.in_(with_subnets))))
        if len(own) > 1:
            raise NetworkAmbiguous()
        return [{"network_id": n} for n in own]

    def _free_port(self, s: Session, ctx: RequestContext, port_id: str) -> str:
        port = s.scalar(select(Port).where(Port.id == port_id))
        if port is None or (port.project_id != ctx.project_id and not ctx.is_admin):
            raise BootPortNotFound(port_id)
        if port.device_id:
            raise BootPortInUse(port_id)
        return port.id

    def _free_address(self, s: Session, net: Network, address: str) -> str:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise errors.InvalidInput(f"Invalid fixed IP address ({address})",
                                      param="fixed_ip") from None
        subnet = next((sub for sub in s.scalars(select(Subnet).where(
            Subnet.network_id == net.id)) if ip in ipaddress.ip_network(sub.cidr)), None)
        if subnet is None:
            raise FixedIpInvalid(address, net.id)
        if s.scalar(select(IpAllocation.port_id).where(IpAllocation.subnet_id == subnet.id,
                                                       IpAllocation.ip_address == str(ip))):
            raise FixedIpInUse(address)
        return str(ip)

    # ---- at build and delete ---------------------------------------------------------------
    def allocate(self, instance_uuid: str, project_id: str, requested: Sequence[Mapping] | None,
                 security_groups: Sequence[str] = (), host: str = "") -> None:
        """The server's ports: made (or bound) now, or found made already (a
        redelivered build makes none twice)."""
        with self.db.session() as s:
            if s.scalar(select(Port.id).where(Port.device_id == instance_uuid,
                                              Port.device_owner.like("compute:%")).limit(1)):
                return
            if requested is None:
                net = self.default_network(s)
                requested = [{"network_id": net.id}] if net is not None else []
            gids = group_ids(s, project_id, list(security_groups), by_name=True) \
                if security_groups else []
            made: list[str] = []
            bound: list[tuple[str, str, int]] = []
            # The order asked for is the order of the server's interfaces: EC2's
            # device indexes (0, the primary, first).
            for index, item in enumerate(requested):
                if item.get("port_id"):
                    port = s.scalar(select(Port).where(Port.id == item["port_id"])
                                    .with_for_update())
                    if port is None:
                        raise BootPortNotFound(str(item["port_id"]))
                    if port.device_id and port.device_id != instance_uuid:
                        raise BootPortInUse(port.id)
                    port.device_id, port.device_owner = instance_uuid, COMPUTE_OWNER
                    port.binding_host_id, port.status = host, "ACTIVE"
                    port.device_tag = item.get("tag")
                    bound.append((port.id, port.project_id, index))
                    continue
                net = s.get(Network, item["network_id"])
                if net is None:
                    raise BootNetworkNotFound(str(item["network_id"]))
                fixed = [{"ip_address": item["fixed_ip"]}] if item.get("fixed_ip") else None
                port = new_port(s, project_id=project_id, network=net, device_id=instance_uuid,
                                device_owner=COMPUTE_OWNER, fixed_ips=fixed,
                                group_ids=gids if net.port_security_enabled else [],
                                host=host, compute_made=True)
                port.device_tag = item.get("tag")
                bound.append((port.id, project_id, index))
                made.append(port.id)
            mint_bound(s, [(p, project_id) for p in made], bound)
            if made:
                self.quotas.force(s, project_id, {"ports": len(made)})

    def release(self, instance_uuid: str, s: Session | None = None) -> None:
        """Ports compute made for the server go; ports it was given stay, unbound
        (idempotent). In ``s``'s transaction when one is given."""
        if s is None:
            with self.db.session() as own:
                self.release(instance_uuid, own)
            return
        ports = list(s.scalars(select(Port).where(Port.device_id == instance_uuid,
                                                  Port.device_owner.like("compute:%"))))
        made = [p for p in ports if p.compute_made]
        delete_port_rows(s, [p.id for p in made])
        for project in {p.project_id for p in made}:
            self.quotas.release(s, project, {"ports": sum(1 for p in made
                                                          if p.project_id == project)})
        kept = [p for p in ports if not p.compute_made]
        for port in kept:
            port.device_id = port.device_owner = port.binding_host_id = ""
            port.status = "DOWN"
        drop_attachments(s, [p.id for p in kept])

    def bind_host(self, instance_uuid: str, host: str) -> None:
        """The server's ports are bound to ``host`` (moved there), or to none
        ("": shelved offloaded); idempotent."""
        with self.db.session() as s:
            for port in s.scalars(select(Port).where(Port.device_id == instance_uuid,
                                                     Port.device_owner.like("compute:%"))):
                port.binding_host_id = host
                port.status = "ACTIVE" if host else "DOWN"

    def attach(self, instance_uuid: str, project_id: str, request: Mapping[str, Any],
               security_groups: Sequence[str] = (), host: str = "") -> str:
        """One more port for a running server (``request`` as :meth:`resolve`
        gives it); returns the port's id."""
        with self.db.session() as s:
            if request.get("port_id"):
                port = s.scalar(select(Port).where(Port.id == request["port_id"])
                                .with_for_update())
                if port is None:
                    raise BootPortNotFound(str(request["port_id"]))
                if port.device_id:
                    raise BootPortInUse(port.id)
                port.device_id, port.device_owner = instance_uuid, COMPUTE_OWNER
                port.binding_host_id, port.status = host, "ACTIVE"
                port.device_tag = request.get("tag")
                return port.id
            net = s.get(Network, request["network_id"])
            if net is None:
                raise BootNetworkNotFound(str(request["network_id"]))
            gids = (group_ids(s, project_id, list(security_groups), by_name=True)
                    if security_groups and net.port_security_enabled else [])
            fixed = [{"ip_address": request["fixed_ip"]}] if request.get("fixed_ip") else None
            self.quotas.reserve(s, project_id, {"ports": 1})
            port = new_port(s, project_id=project_id, network=net, device_id=instance_uuid,
                            device_owner=COMPUTE_OWNER, fixed_ips=fixed, group_ids=gids,
                            host=host, compute_made=True)
            port.device_tag = request.get("tag")
            return port.id

    def detach(self, instance_uuid: str, port_id: str) -> None:
        """The port leaves the server: deleted if compute made it, unbound if it
        was given (PortNotFound-like NotFound if the server has no such port)."""
        with self.db.session() as s:
            port = s.scalar(select(Port).where(Port.id == port_id,
                                               Port.device_id == instance_uuid,
                                               Port.device_owner.like("compute:%")))
            if port is None:
                raise errors.NotFound(f"Port {port_id} is not attached", kind="port",
                                      id=port_id)
            if port.compute_made:
                delete_port_rows(s, [port.id])
                self.quotas.release(s, port.project_id, {"ports": 1})
            else:
                port.device_id = port.device_owner = port.binding_host_id = ""
                port.status, port.device_tag = "DOWN", None

    def interfaces(self, instance_uuid: str) -> list[dict[str, Any]]:
        """The server's ports as Nova's ``interfaceAttachments`` show them."""
        with self.db.session() as s:
            ports = list(s.scalars(select(Port).where(
                Port.device_id == instance_uuid, Port.device_owner.like("compute:%"))
                .order_by(Port.created_at, Port.id)))
            fixed: dict[str, list[dict[str, str]]] = defaultdict(list)
            for port_id, subnet_id, address in s.execute(select(
                    IpAllocation.port_id, IpAllocation.subnet_id, IpAllocation.ip_address)
                    .where(IpAllocation.port_id.in_([p.id for p in ports]))
                    .order_by(IpAllocation.ip_address)):
                fixed[port_id].append({"subnet_id": subnet_id, "ip_address": address})
            return [{"port_id": p.id, "net_id": p.network_id, "fixed_ips": fixed[p.id],
                     "mac_addr": p.mac_address, "port_state": p.status, "tag": p.device_tag}
                    for p in ports]

    def set_security_groups(self, s: Session, instance_uuid: str, project_id: str,
                            names: Sequence[str]) -> None:
        """In ``s``: the groups named become those of every port of the server
        with port security."""
        gids = group_ids(s, project_id, list(names), by_name=True) if names else []
        for port in s.scalars(select(Port).where(Port.device_id == instance_uuid,
                                                 Port.device_owner.like("compute:%"))):
            if port.port_security_enabled:
                set_port_groups(s, port, gids)

    # ---- addresses -------------------------------------------------------------------------
    def addresses_for(self, instance_uuids: Sequence[str]) -> dict[str, list[Address]]:
        """Each server's fixed addresses (by port, then address), in one query."""
        if not instance_uuids:
            return defaultdict(list)
        with self.db.session() as s:
            return fixed_addresses(s, instance_uuids)

    def addresses_with_floating(self, instance_uuids: Sequence[str]
                                ) -> dict[str, list[Address]]:
        """Fixed addresses, then each floating address under the network (and
        with the MAC) of the fixed address it maps to, as Nova shows them."""
        if not instance_uuids:
            return defaultdict(list)
        with self.db.session() as s:
            return addresses_in(s, instance_uuids)

    def instance_with_address(self, address: str) -> str | None:
        with self.db.session() as s:
            return s.scalar(select(Port.device_id).join(
                IpAllocation, IpAllocation.port_id == Port.id).where(
                IpAllocation.ip_address == address, Port.device_owner.like("compute:%"))
                .limit(1))

    def ports_of(self, instance_uuid: str) -> list[str]:
        with self.db.session() as s:
            return list(s.scalars(select(Port.id).where(
                Port.device_id == instance_uuid, Port.device_owner.like("compute:%"))
                .order_by(Port.created_at)))


def _device_tag(item: dict) -> dict[str, str]:
    """Nova's device ``tag`` of a requested network or port (2.32, 2.42+), kept with
    the request so the device metadata can name the interface."""
    return {"tag": str(item["tag"])} if item.get("tag") else {}


def in_ids(column: Any, among: Sequence[str] | Select) -> list[Any]:
    """``column IN among``: per 500 ids of a list, or once for a select of ids."""
    if isinstance(among, Select):
        return [column.in_(among)]
    return [column.in_(list(among[i:i + 500])) for i in range(0, len(among), 500)]


def fixed_addresses(s: Session, among: Sequence[str] | Select) -> dict[str, list[Address]]:
    """Each server's fixed addresses (by port, then address), in session ``s``:
    of the servers ``among`` names (their uuids, or a select of them)."""
    out: dict[str, list[Address]] = defaultdict(list)
    for cond in in_ids(Port.device_id, among):
        for device, address, name, mac in s.connection().execute(
                select(Port.device_id, IpAllocation.ip_address, Network.name,
                       Port.mac_address)
                .join(IpAllocation, IpAllocation.port_id == Port.id)
                .join(Network, Network.id == Port.network_id)
                .where(cond, Port.device_owner.like("compute:%"))
                .order_by(Port.created_at, Port.id, IpAllocation.ip_address)).all():
            out[device].append(Address(address, name, mac))
    return out


def addresses_in(s: Session, among: Sequence[str] | Select) -> dict[str, list[Address]]:
    """:meth:`InstanceNetworking.addresses_with_floating` in session ``s``, of
    the servers ``among`` names (their uuids, or a select of them)."""
    out = fixed_addresses(s, among)
    rows = [row for cond in in_ids(Port.device_id, among) for row in s.connection().execute(
        select(Port.device_id, FloatingIp.floating_ip_address, FloatingIp.fixed_ip_address)
        .join(Port, Port.id == FloatingIp.port_id).where(cond)
        .order_by(FloatingIp.floating_ip_address)).all()]
    for device, address, fixed in rows:
        held = out.get(device, [])
        mapped = next((a for a in held if a.address == fixed), held[0] if held else None)
        out[device].append(Address(address, mapped.network if mapped else "",
                                   mapped.mac_address if mapped else "", 4, "floating"))
    return out
