"""IPv4 subnets of a network: a CIDR, a gateway, the pools addresses are
handed out from, DNS servers and host routes. Subnets of one network never
overlap; a subnet with addresses in use is not deleted."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.network.base import ResourceService, bump, flag, standard, tags_of, text
from core.network.errors import InvalidInput, NetworkNotFound, SubnetInUse, SubnetNotFound
from core.network.models import IpAllocation, Network, NetworkTag, Subnet
from core.network.networks import NetworkService
from core.network.query import Columns, as_int

Net4 = ipaddress.IPv4Network


def parse_cidr(value: Any, param: str = "cidr") -> Net4:
    try:
        net = ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        raise InvalidInput(f"'{value}' is not a valid IP subnet.", param) from None
    if not isinstance(net, Net4):
        raise errors.InvalidInput("Only IPv4 subnets are supported.", param=param)
    if str(net) != str(value).strip():
        raise InvalidInput(f"'{value}' isn't a recognized IP subnet cidr, '{net}' is "
                           "recommended", param)
    if net.prefixlen > 30:
        raise InvalidInput(f"'{value}' is too small: a subnet needs at least a /30.", param)
    return net


def parse_ip(value: Any, param: str) -> ipaddress.IPv4Address:
    try:
        ip = ipaddress.ip_address(str(value))
    except ValueError:
        raise InvalidInput(f"'{value}' is not a valid IP address.", param) from None
    if not isinstance(ip, ipaddress.IPv4Address):
        raise InvalidInput(f"'{value}' is not an IPv4 address.", param)
    return ip


def pools_of(cidr: Net4, gateway: str | None, given: Any) -> list[dict[str, str]]:
    """The allocation pools: as given (checked), or every host address but the gateway."""
    hosts_first, hosts_last = cidr.network_address + 1, cidr.broadcast_address - 1
    if given is None:
        gw = ipaddress.IPv4Address(gateway) if gateway else None
        if gw is None or not hosts_first <= gw <= hosts_last:
            return [{"start": str(hosts_first), "end": str(hosts_last)}]
        around = []
        if gw > hosts_first:
            around.append({"start": str(hosts_first), "end": str(gw - 1)})
        if gw < hosts_last:
            around.append({"start": str(gw + 1), "end": str(hosts_last)})
        return around
    if not isinstance(given, list):
        raise InvalidInput("allocation_pools must be a list.", "allocation_pools")
    pools: list[dict[str, str]] = []
    ranges: list[tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]] = []
    for pool in given:
        if not isinstance(pool, Mapping) or "start" not in pool or "end" not in pool:
            raise InvalidInput("Each allocation pool needs a start and an end.",
                               "allocation_pools")
        start = parse_ip(pool["start"], "allocation_pools")
        end = parse_ip(pool["end"], "allocation_pools")
        if not (hosts_first <= start <= end <= hosts_last):
            raise errors.InvalidInput(f"The allocation pool {start}-{end} spans beyond the "
                                      f"subnet cidr {cidr}.", param="allocation_pools")
        if gateway and start <= ipaddress.IPv4Address(gateway) <= end:
            raise errors.Conflict(f"Gateway ip {gateway} conflicts with allocation pool "
                                  f"{start}-{end}.", kind="subnet")
        for other_start, other_end in ranges:
            if start <= other_end and other_start <= end:
                raise errors.InvalidInput(f"Found overlapping allocation pools: {start}-{end}"
                                          f" and {other_start}-{other_end}.",
                                          param="allocation_pools")
        ranges.append((start, end))
        pools.append({"start": str(start), "end": str(end)})
    return pools


def check_gateway(cidr: Net4, value: Any) -> str | None:
    if value is None:
        return None
    gw = parse_ip(value, "gateway_ip")
    if gw not in cidr or gw in (cidr.network_address, cidr.broadcast_address):
        raise InvalidInput(f"Gateway is not valid on subnet: {gw} is not a host address of "
                           f"{cidr}.", "gateway_ip")
    return str(gw)


def check_nameservers(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise InvalidInput("dns_nameservers must be a list.", "dns_nameservers")
    out = [str(parse_ip(v, "dns_nameservers")) for v in value]
    if len(set(out)) != len(out):
        raise InvalidInput("Duplicate nameserver in dns_nameservers.", "dns_nameservers")
    return out


def check_routes(value: Any, param: str = "host_routes") -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise InvalidInput(f"{param} must be a list.", param)
    out = []
    for route in value:
        if not isinstance(route, Mapping) or set(route) - {"destination", "nexthop"} \
                or "destination" not in route or "nexthop" not in route:
            raise InvalidInput(f"Each of {param} needs a destination and a nexthop.", param)
        try:
            dest = ipaddress.ip_network(str(route["destination"]), strict=True)
        except ValueError:
            raise InvalidInput(f"'{route['destination']}' is not a valid IP subnet.",
                               param) from None
        out.append({"destination": str(dest),
                    "nexthop": str(parse_ip(route["nexthop"], param))})
    return out


class SubnetService(ResourceService):
    model = Subnet
    resource = "subnet"
    columns = Columns.of(Subnet, "subnet", texts=("network_id", "cidr", "gateway_ip"),
                         ints=("ip_version",), bools=("enable_dhcp",))
    not_found = SubnetNotFound

    def __init__(self, db, policy, quotas, networks: NetworkService) -> None:
        super().__init__(db, policy, quotas)
        self.networks = networks

    def visible(self, ctx: RequestContext) -> Any:
        if ctx.is_admin:
            return super().visible(ctx)
        return or_(Subnet.project_id == (ctx.project_id or ""), Subnet.network_id.in_(
            select(Network.id).where(or_(Network.shared.is_(True), Network.external.is_(True)))))

    def target(self, s: Session, row: Subnet) -> dict[str, Any]:
        net = s.get(Network, row.network_id)
        return {"project_id": row.project_id,
                "network_owner": net.project_id if net else "",
                "shared": str(bool(net and (net.shared or net.external)))}

    def _views(self, s: Session, rows: Sequence[Subnet]) -> list[dict[str, Any]]:
        tags = tags_of(s, [r.id for r in rows])
        return [{**standard(r, tags), "network_id": r.network_id, "ip_version": r.ip_version,
                 "cidr": r.cidr, "gateway_ip": r.gateway_ip,
                 "allocation_pools": list(r.allocation_pools or []),
                 "dns_nameservers": list(r.dns_nameservers or []),
                 "host_routes": list(r.host_routes or []), "enable_dhcp": r.enable_dhcp,
                 "ipv6_ra_mode": None, "ipv6_address_mode": None, "subnetpool_id": None,
                 "segment_id": None, "service_types": [], "dns_publish_fixed_ip": False}
                for r in rows]

    def create(self, ctx: RequestContext, attrs: Mapping[str, Any]) -> dict[str, Any]:
        if "network_id" not in attrs:
            raise InvalidInput("network_id is required.", "network_id")
        if as_int(attrs.get("ip_version", 4), "ip_version") != 4:
            raise errors.InvalidInput("Only IPv4 subnets are supported (ip_version 4).",
                                      param="ip_version")
        if attrs.get("subnetpool_id") is not None or attrs.get("use_default_subnetpool"):
            raise errors.InvalidInput("Subnet pools are not supported: give a cidr.",
                                      param="subnetpool_id")
        if attrs.get("cidr") is None:
            raise errors.InvalidInput("Bad subnet request: a cidr must be given.",
                                      param="cidr")
        cidr = parse_cidr(attrs["cidr"])
        project = self.owner_for_create(ctx, attrs)
        with self.db.session() as s:
            net = s.scalar(select(Network).where(Network.id == str(attrs["network_id"]),
                                                 self.networks.visible(ctx)))
            if net is None:
                raise NetworkNotFound(str(attrs["network_id"]))
            self.enforce(ctx, "create_subnet", {"project_id": project,
                                                "network_owner": net.project_id})
            if not ctx.is_admin and net.project_id != project:
                raise errors.Forbidden("Tenant cannot create subnet on another tenant's "
                                       "network.")
            gateway = check_gateway(cidr, attrs.get("gateway_ip", str(cidr.network_address + 1)))
            _refuse_overlap(s, net.id, cidr)
            row = Subnet(project_id=project, network_id=net.id, ip_version=4, cidr=str(cidr),
                         name=text(attrs, "name"), description=text(attrs, "description"),
                         gateway_ip=gateway,
                         allocation_pools=pools_of(cidr, gateway, attrs.get("allocation_pools")),
                         dns_nameservers=check_nameservers(attrs.get("dns_nameservers", [])),
                         host_routes=check_routes(attrs.get("host_routes", [])),
                         enable_dhcp=flag(attrs, "enable_dhcp", True))
            self.quotas.reserve(s, project, {"subnets": 1})
            s.add(row)
            bump(net)
            s.flush()
            return self._views(s, [row])[0]

    def update(self, ctx: RequestContext, id: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
        with self.db.session() as s:
            row = self.row(s, ctx, id, "update_subnet", lock=True)
            for key in ("cidr", "network_id", "ip_version", "project_id", "tenant_id",
                        "subnetpool_id"):
                if key in attrs and str(attrs[key]) != str(getattr(
                        row, key.replace("tenant", "project"), None)):
                    raise InvalidInput(f"Cannot update read-only attribute {key}", key)
            cidr = ipaddress.IPv4Network(row.cidr)
            for name in ("name", "description"):
                if name in attrs:
                    setattr(row, name, text(attrs, name))
            if "gateway_ip" in attrs:
                row.gateway_ip = check_gateway(cidr, attrs["gateway_ip"])
            if "allocation_pools" in attrs:
                row.allocation_pools = pools_of(cidr, row.gateway_ip, attrs["allocation_pools"])
            elif "gateway_ip" in attrs and row.gateway_ip:
                pools_of(cidr, row.gateway_ip, row.allocation_pools)  # still apart?
            if "dns_nameservers" in attrs:
                row.dns_nameservers = check_nameservers(attrs["dns_nameservers"] or [])
            if "host_routes" in attrs:
                row.host_routes = check_routes(attrs["host_routes"] or [])
            if "enable_dhcp" in attrs:
                row.enable_dhcp = flag(attrs, "enable_dhcp", True)
            bump(row)
            s.flush()
            return self._views(s, [row])[0]

    def delete(self, ctx: RequestContext, id: str) -> None:
        with self.db.session() as s:
            row = self.row(s, ctx, id, "delete_subnet", lock=True)
            if s.scalar(select(IpAllocation.port_id).where(
                    IpAllocation.subnet_id == row.id).limit(1)):
                raise SubnetInUse(row.id)
            s.execute(delete(NetworkTag).where(NetworkTag.resource_id == row.id))
            net = s.get(Network, row.network_id)
            if net is not None:
                bump(net)
            s.delete(row)
            self.quotas.release(s, row.project_id, {"subnets": 1})


def _refuse_overlap(s: Session, network_id: str, cidr: Net4) -> None:
    for other_id, other in s.execute(select(Subnet.id, Subnet.cidr).where(
            Subnet.network_id == network_id)):
        if ipaddress.ip_network(other).overlaps(cidr):
            raise InvalidInput(f"Requested subnet with cidr: {cidr} for network: {network_id} "
                               f"overlaps with another subnet ({other_id}, {other}).", "cidr")
