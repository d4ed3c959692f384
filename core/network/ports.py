"""Ports: a device's attachment to a network, holding its fixed addresses
(``core.network.ipam``), its MAC and its security groups. Compute makes one per
network a server asks for (``device_owner`` ``compute:<zone>``); routers and
floating IPs make ports of their own (``network:*``), which the port API
neither deletes nor re-addresses."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.network import ipam
from core.network.base import ResourceService, bump, flag, standard, tags_of, text
from core.network.errors import InvalidInput, MacAddressInUse, NetworkNotFound, PortNotFound
from core.network.interface_ids import (
    drop_attachments,
    forget_interfaces,
    is_interface,
    mint_interfaces,
)
from core.network.models import (
    FloatingIp,
    IpAllocation,
    Network,
    NetworkTag,
    Port,
    PortSecurityGroup,
    SecurityGroup,
)
from core.network.networks import NetworkService
from core.network.query import Columns, ListQuery

DEFAULT_GROUP = "default"


def port_fixed_ips(s: Session, ids: Sequence[str]) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        for port, subnet, address in s.execute(
                select(IpAllocation.port_id, IpAllocation.subnet_id, IpAllocation.ip_address)
                .where(IpAllocation.port_id.in_(ids[start:start + 500]))):
            out[port].append({"subnet_id": subnet, "ip_address": address})
    for items in out.values():
        items.sort(key=lambda i: tuple(int(p) for p in i["ip_address"].split(".")))
    return out


def port_groups(s: Session, ids: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        for port, uuid in s.execute(
                select(PortSecurityGroup.port_id, SecurityGroup.uuid)
                .join(SecurityGroup, SecurityGroup.id == PortSecurityGroup.group_id)
                .where(PortSecurityGroup.port_id.in_(ids[start:start + 500]))
                .order_by(SecurityGroup.name)):
            out[port].append(uuid)
    return out


def set_port_groups(s: Session, port: Port, group_ids: Sequence[int]) -> None:
    s.execute(delete(PortSecurityGroup).where(PortSecurityGroup.port_id == port.id))
    for gid in dict.fromkeys(group_ids):
        s.add(PortSecurityGroup(port_id=port.id, group_id=gid))


def group_ids(s: Session, project_id: str, refs: Sequence[str], *,
              by_name: bool = False) -> list[int]:
    """Ids of the project's groups named by uuid (or name, with ``by_name``)."""
    out = []
    for ref in dict.fromkeys(refs):
        if not isinstance(ref, str):
            raise InvalidInput(f"'{ref}' is not a valid security group id.", "security_groups")
        cond = SecurityGroup.uuid == ref
        if by_name:
            cond = or_(cond, SecurityGroup.name == ref)
        gid = s.scalar(select(SecurityGroup.id).where(SecurityGroup.project_id == project_id,
                                                      cond).order_by(SecurityGroup.name != ref))
        if gid is None:
            raise errors.NotFound(f"Security group {ref} does not exist", kind="security_group",
                                  id=ref)
        out.append(gid)
    return out


def new_port(s: Session, *, project_id: str, network: Network, device_id: str = "",
             device_owner: str = "", name: str = "", description: str = "",
             fixed_ips: Sequence[Mapping] | None = None, mac_address: str | None = None,
             group_ids: Sequence[int] = (), host: str = "", compute_made: bool = False,
             admin_state_up: bool = True, port_security_enabled: bool | None = None,
             allowed_address_pairs: Sequence[Mapping] = ()) -> Port:
    """A port on ``network`` in ``s`` with its addresses and groups taken."""
    for _attempt in range(5):
        port = Port(project_id=project_id, network_id=network.id, device_id=device_id,
                    device_owner=device_owner, name=name, description=description,
                    mac_address=mac_address or ipam.random_mac(), binding_host_id=host,
                    admin_state_up=admin_state_up, compute_made=compute_made,
                    status="ACTIVE" if device_id else "DOWN",
                    port_security_enabled=(network.port_security_enabled
                                           if port_security_enabled is None
                                           else port_security_enabled),
                    allowed_address_pairs=list(allowed_address_pairs))
        try:
            with ipam.savepoint(s):
                s.add(port)
                s.flush()
            break
        except IntegrityError:
            if mac_address:
                raise MacAddressInUse(mac_address, network.id) from None
    else:  # pragma: no cover - five random MACs taken in a row
        raise errors.ServiceUnavailable("Could not pick a MAC address; retry.")
    ipam.allocate(s, network.id, port.id, fixed_ips, device_owner)
    set_port_groups(s, port, group_ids)
    return port


def delete_port_rows(s: Session, port_ids: Sequence[str]) -> None:
    """Ports gone with their addresses, groups and tags; floating IPs on them
    stay their projects', unmapped."""
    if not port_ids:
        return
    s.execute(update(FloatingIp).where(FloatingIp.port_id.in_(port_ids)).values(
        port_id=None, fixed_ip_address=None, router_id=None, status="DOWN",
        association_id=None, associated_at=None), execution_options={"synchronize_session": False})
    s.execute(delete(IpAllocation).where(IpAllocation.port_id.in_(port_ids)))
    s.execute(delete(PortSecurityGroup).where(PortSecurityGroup.port_id.in_(port_ids)))
    s.execute(delete(NetworkTag).where(NetworkTag.resource_id.in_(port_ids)))
    s.execute(delete(Port).where(Port.id.in_(port_ids)))
    forget_interfaces(s, list(port_ids))


def check_pairs(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise InvalidInput("allowed_address_pairs must be a list.", "allowed_address_pairs")
    out = []
    for pair in value:
        if not isinstance(pair, Mapping) or "ip_address" not in pair:
            raise InvalidInput("Each allowed address pair needs an ip_address.",
                               "allowed_address_pairs")
        out.append({"ip_address": str(pair["ip_address"]),
                    **({"mac_address": str(pair["mac_address"])} if pair.get("mac_address")
                       else {})})
    return out


class PortService(ResourceService):
    model = Port
    resource = "port"
    columns = Columns.of(Port, "port", texts=("network_id", "mac_address", "device_id",
                                              "device_owner", "status"),
                         bools=("admin_state_up", "port_security_enabled"),
                         binding__host_id="binding_host_id",
                         binding__vnic_type="binding_vnic_type")
    not_found = PortNotFound

    def __init__(self, db, policy, quotas, networks: NetworkService,
                 ensure_default_group: Callable[[str], None]) -> None:
        super().__init__(db, policy, quotas)
        self.networks = networks
        self.ensure_default_group = ensure_default_group

    def visible(self, ctx: RequestContext) -> Any:
        if ctx.is_admin:
            return super().visible(ctx)
        project = ctx.project_id or ""
        return or_(Port.project_id == project, Port.network_id.in_(
            select(Network.id).where(Network.project_id == project)))

    def target(self, s: Session, row: Port) -> dict[str, Any]:
        net = s.get(Network, row.network_id)
        return {"project_id": row.project_id, "network_owner": net.project_id if net else "",
                "shared": str(bool(net and net.shared))}

    def list_statement(self, ctx: RequestContext, query: ListQuery):
        stmt = super().list_statement(ctx, query)
        for value in query.values("fixed_ips"):
            key, _, wanted = value.partition("=")
            column = {"ip_address": IpAllocation.ip_address,
                      "subnet_id": IpAllocation.subnet_id}.get(key)
            if column is None:
                raise InvalidInput(f"Invalid fixed_ips filter {value}.", "fixed_ips")
            stmt = stmt.where(Port.id.in_(select(IpAllocation.port_id).where(column == wanted)))
        for gid in query.values("security_groups"):
            stmt = stmt.where(Port.id.in_(select(PortSecurityGroup.port_id).join(
                SecurityGroup, SecurityGroup.id == PortSecurityGroup.group_id)
                .where(SecurityGroup.uuid == gid)))
        return stmt

    def _views(self, s: Session, rows: Sequence[Port]) -> list[dict[str, Any]]:
        ids = [r.id for r in rows]
        tags, ips, groups = tags_of(s, ids), port_fixed_ips(s, ids), port_groups(s, ids)
        return [{**standard(r, tags), "network_id": r.network_id, "mac_address": r.mac_address,
                 "fixed_ips": ips[r.id], "device_id": r.device_id,
                 "device_owner": r.device_owner, "status": r.status,
                 "admin_state_up": r.admin_state_up, "security_groups": groups[r.id],
                 "port_security_enabled": r.port_security_enabled,
                 "allowed_address_pairs": list(r.allowed_address_pairs or []),
                 "extra_dhcp_opts": list(r.extra_dhcp_opts or []),
                 "binding:host_id": r.binding_host_id,
                 "binding:profile": dict(r.binding_profile or {}),
                 "binding:vif_details": {"port_filter": True} if r.binding_host_id else {},
                 "binding:vif_type": "ovs" if r.binding_host_id else "unbound",
                 "binding:vnic_type": r.binding_vnic_type} for r in rows]

    # ---- writing ---------------------------------------------------------------------
    def create(self, ctx: RequestContext, attrs: Mapping[str, Any]) -> dict[str, Any]:
        if "network_id" not in attrs:
            raise InvalidInput("network_id is required.", "network_id")
        project = self.owner_for_create(ctx, attrs)
        owner = text(attrs, "device_owner")
        secure = attrs.get("port_security_enabled")
        groups_given = attrs.get("security_groups")
        if groups_given is None and not owner.startswith("network:") and secure is not False:
            self.ensure_default_group(project)
        with self.db.session() as s:
            net = s.scalar(select(Network).where(Network.id == str(attrs["network_id"]),
                                                 self.networks.visible(ctx)))
            if net is None:
                raise NetworkNotFound(str(attrs["network_id"]))
            target = {"project_id": project, "network_owner": net.project_id,
                      "shared": str(bool(net.shared))}
            self.enforce(ctx, "create_port", target)
            if owner.startswith("network:"):
                self.enforce(ctx, "create_port:device_owner", target)
            if attrs.get("binding:host_id"):
                self.enforce(ctx, "create_port:binding:host_id", target)
            if attrs.get("mac_address") is not None:
                self.enforce(ctx, "create_port:mac_address", target)
            fixed = attrs.get("fixed_ips")
            if fixed is not None and not isinstance(fixed, list):
                raise InvalidInput("fixed_ips must be a list.", "fixed_ips")
            secure_flag = flag(attrs, "port_security_enabled", net.port_security_enabled)
            if groups_given is None:
                gids = ([] if owner.startswith("network:") or not secure_flag
                        else group_ids(s, project, [DEFAULT_GROUP], by_name=True))
            elif not isinstance(groups_given, list):
                raise InvalidInput("security_groups must be a list.", "security_groups")
            else:
                gids = group_ids(s, project, groups_given)
            if gids and not secure_flag:
                raise errors.Conflict("Port has security group associated. Cannot disable "
                                      "port security or ip address until security group is "
                                      "removed", kind="port")
            self.quotas.reserve(s, project, {"ports": 1})
            port = new_port(s, project_id=project, network=net,
                            device_id=text(attrs, "device_id"), device_owner=owner,
                            name=text(attrs, "name"), description=text(attrs, "description"),
                            fixed_ips=fixed, mac_address=_mac(attrs.get("mac_address")),
                            group_ids=gids, host=text(attrs, "binding:host_id"),
                            admin_state_up=flag(attrs, "admin_state_up", True),
                            port_security_enabled=secure_flag,
                            allowed_address_pairs=check_pairs(
                                attrs.get("allowed_address_pairs", [])))
            port.binding_vnic_type = text(attrs, "binding:vnic_type", "normal")
            if isinstance(attrs.get("binding:profile"), dict):
                port.binding_profile = dict(attrs["binding:profile"])
            if isinstance(attrs.get("extra_dhcp_opts"), list):
                port.extra_dhcp_opts = list(attrs["extra_dhcp_opts"])
            if is_interface(owner):
                mint_interfaces(s, [(port.id, project)])
            s.flush()
            return self._views(s, [port])[0]

    def update(self, ctx: RequestContext, id: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
        with self.db.session() as s:
            row = self.row(s, ctx, id, "update_port", lock=True)
            for key in ("network_id", "project_id", "tenant_id", "status"):
                if key in attrs and str(attrs[key]) != str(getattr(
                        row, key.replace("tenant", "project"))):
                    raise InvalidInput(f"Cannot update read-only attribute {key}", key)
            if "mac_address" in attrs and attrs["mac_address"] != row.mac_address:
                raise errors.Conflict("The MAC address of a port in use cannot be changed.",
                                      kind="port", id=row.id, state="in-use")
            bound_to = row.device_id
            for name in ("name", "description", "device_id", "device_owner"):
                if name in attrs:
                    setattr(row, name, text(attrs, name))
            if row.device_id != bound_to:
                drop_attachments(s, [row.id])  # EC2's attachment was to the old device
            if "admin_state_up" in attrs:
                row.admin_state_up = flag(attrs, "admin_state_up", True)
            if "binding:host_id" in attrs:
                self.enforce(ctx, "update_port:binding:host_id", self.target(s, row))
                row.binding_host_id = text(attrs, "binding:host_id")
            if "fixed_ips" in attrs:
                self._readdress(s, row, attrs["fixed_ips"])
            if "security_groups" in attrs:
                given = attrs["security_groups"] or []
                if not isinstance(given, list):
                    raise InvalidInput("security_groups must be a list.", "security_groups")
                set_port_groups(s, row, group_ids(s, row.project_id, given))
            if "port_security_enabled" in attrs:
                row.port_security_enabled = flag(attrs, "port_security_enabled", True)
            if not row.port_security_enabled and s.scalar(select(PortSecurityGroup.group_id)
                                                          .where(PortSecurityGroup.port_id
                                                                 == row.id).limit(1)):
                raise errors.Conflict("Port has security group associated. Cannot disable "
                                      "port security or ip address until security group is "
                                      "removed", kind="port", id=row.id)
            if "allowed_address_pairs" in attrs:
                row.allowed_address_pairs = check_pairs(attrs["allowed_address_pairs"] or [])
            if "extra_dhcp_opts" in attrs and isinstance(attrs["extra_dhcp_opts"], list):
                row.extra_dhcp_opts = list(attrs["extra_dhcp_opts"])
            row.status = "ACTIVE" if row.device_id else "DOWN"
            bump(row)
            s.flush()
            return self._views(s, [row])[0]

    def _readdress(self, s: Session, row: Port, given: Any) -> None:
        if row.device_owner.startswith("network:"):
            raise errors.Conflict(f"Port {row.id} is owned by {row.device_owner}; its "
                                  "addresses change with that device.", kind="port", id=row.id)
        if not isinstance(given, list):
            raise InvalidInput("fixed_ips must be a list.", "fixed_ips")
        current = {(a.subnet_id, a.ip_address) for a in s.scalars(
            select(IpAllocation).where(IpAllocation.port_id == row.id))}
        keep = {(str(i.get("subnet_id", "")), str(i["ip_address"])) for i in given
                if isinstance(i, Mapping) and "ip_address" in i}
        keep_addresses = {a for _, a in keep}
        for subnet_id, address in current:
            if address not in keep_addresses:
                s.execute(delete(IpAllocation).where(IpAllocation.subnet_id == subnet_id,
                                                     IpAllocation.ip_address == address))
                s.execute(update(FloatingIp).where(
                    FloatingIp.port_id == row.id, FloatingIp.fixed_ip_address == address)
                    .values(port_id=None, fixed_ip_address=None, router_id=None,
                            status="DOWN", association_id=None),
                    execution_options={"synchronize_session": False})
        held = {a for _, a in current}
        wanted = [i for i in given if not (isinstance(i, Mapping)
                                           and str(i.get("ip_address")) in held)]
        if wanted:
            ipam.allocate(s, row.network_id, row.id, wanted, row.device_owner)

    def delete(self, ctx: RequestContext, id: str) -> None:
        with self.db.session() as s:
            row = self.row(s, ctx, id, "delete_port", lock=True)
            if row.device_owner in ipam.ROUTER_OWNERS or row.device_owner in (
                    "network:router_gateway", "network:floatingip"):
                raise errors.Conflict(f"Port {row.id} cannot be deleted directly via the port "
                                      f"API: has device owner {row.device_owner}.",
                                      kind="port", id=row.id, state="in-use")
            delete_port_rows(s, [row.id])
            self.quotas.release(s, row.project_id, {"ports": 1})


def _mac(value: Any) -> str | None:
    if value is None:
        return None
    text_value = str(value).lower()
    parts = text_value.split(":")
    if len(parts) != 6 or not all(len(p) == 2 and all(c in "0123456789abcdef" for c in p)
                                  for p in parts):
        raise InvalidInput(f"'{value}' is not a valid MAC address.", "mac_address")
    return text_value
