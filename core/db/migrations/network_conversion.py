"""Migration 0010's data step: the addresses and groups of the flat network
become Neutron's objects, keeping every EC2 ID.

- The fixed range's rows become a shared default network with one subnet;
  each address an instance held becomes that instance's port (same MAC), with
  the groups the instance names.
- The floating range's rows become the external network ``public`` with its
  subnet and a router joining the default subnet to it; each allocated address
  becomes a floating IP whose id is its old allocation id (so its ``eipalloc-``
  ID stays), mapped, if it was, to the instance's port under the same
  association id (``eipassoc-``).
- Quota usage rows count what each project now holds.

The ranges are read back from the rows (the pool filled every host address
but the first), so the step needs no settings.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

PRIVATE, PUBLIC = "private", "public"


JSON_COLUMNS = {"allocation_pools", "dns_nameservers", "host_routes", "binding_profile",
                "allowed_address_pairs", "extra_dhcp_opts", "routes"}


def _t(name: str, *cols: str) -> sa.TableClause:
    # JSON columns typed, so their lists and dicts are serialised on insert.
    return sa.table(name, *(sa.column(c, sa.JSON()) if c in JSON_COLUMNS else sa.column(c)
                            for c in cols))


STD = ("id", "project_id", "name", "description", "created_at", "updated_at",
       "revision_number")
NETWORKS = _t("networks", *STD, "admin_state_up", "status", "shared", "external", "mtu",
              "port_security_enabled", "is_default")
SUBNETS = _t("subnets", *STD, "network_id", "ip_version", "cidr", "gateway_ip",
             "allocation_pools", "dns_nameservers", "host_routes", "enable_dhcp")
PORTS = _t("ports", *STD, "network_id", "mac_address", "admin_state_up", "status",
           "device_id", "device_owner", "port_security_enabled", "binding_host_id",
           "binding_vnic_type", "binding_profile", "allowed_address_pairs", "extra_dhcp_opts",
           "compute_made")
ALLOCATIONS = _t("ip_allocations", "subnet_id", "ip_address", "port_id", "network_id")
ROUTERS = _t("routers", *STD, "admin_state_up", "status", "gw_network_id", "gw_port_id",
             "enable_snat", "routes")
FLOATING = _t("floatingips", *STD, "floating_network_id", "floating_port_id",
              "floating_ip_address", "port_id", "fixed_ip_address", "router_id", "status",
              "association_id", "associated_at")
PORT_GROUPS = _t("port_security_groups", "port_id", "group_id")
USAGES = _t("quota_usages", "project_id", "resource", "in_use")


def covering_cidr(addresses: list[str]) -> ipaddress.IPv4Network:
    """The smallest network holding every address and one below the lowest
    (the gateway the pool left out)."""
    ips = sorted(ipaddress.IPv4Address(a) for a in addresses)
    low, high = ips[0] - 1, ips[-1]
    for prefix in range(32, -1, -1):
        net = ipaddress.IPv4Network(f"{low}/{prefix}", strict=False)
        if high in net and net.network_address < low:
            return net
    return ipaddress.IPv4Network("0.0.0.0/0")


def _std(project: str, name: str, now: datetime) -> dict:
    return {"id": str(uuid.uuid4()), "project_id": project, "name": name, "description": "",
            "created_at": now, "updated_at": now, "revision_number": 0}


def _network(conn: Connection, project: str, name: str, cidr: ipaddress.IPv4Network,
             now: datetime, *, shared: bool, external: bool) -> tuple[str, str]:
    net = _std(project, name, now)
    conn.execute(sa.insert(NETWORKS).values(
        **net, admin_state_up=True, status="ACTIVE", shared=shared, external=external,
        mtu=1500, port_security_enabled=True, is_default=not external))
    hosts = list(cidr.hosts())
    sub = _std(project, f"{name}-subnet", now)
    conn.execute(sa.insert(SUBNETS).values(
        **sub, network_id=net["id"], ip_version=4, cidr=str(cidr), gateway_ip=str(hosts[0]),
        allocation_pools=[{"start": str(hosts[1]), "end": str(hosts[-1])}],
        dns_nameservers=[], host_routes=[], enable_dhcp=True))
    return net["id"], sub["id"]


def _port(conn: Connection, project: str, network_id: str, subnet_id: str, address: str,
          mac: str, now: datetime, *, device_id: str, owner: str, host: str = "",
          compute_made: bool = False) -> str:
    port = _std(project, "", now)
    conn.execute(sa.insert(PORTS).values(
        **port, network_id=network_id, mac_address=mac, admin_state_up=True, status="ACTIVE",
        device_id=device_id, device_owner=owner, port_security_enabled=True,
        binding_host_id=host, binding_vnic_type="normal", binding_profile={},
        allowed_address_pairs=[], extra_dhcp_opts=[], compute_made=compute_made))
    conn.execute(sa.insert(ALLOCATIONS).values(subnet_id=subnet_id, ip_address=address,
                                               port_id=port["id"], network_id=network_id))
    return port["id"]


def _mac(n: int) -> str:
    return "fa:16:3e:" + ":".join(f"{b:02x}" for b in n.to_bytes(3, "big"))


def _anywhere_fingerprints(conn: Connection) -> None:
    """Rules to 0.0.0.0/0 are spelled as rules to anywhere now (their
    fingerprint's CIDR part is empty, as a rule given without a prefix)."""
    for rule_id, fingerprint in conn.execute(sa.text(
            "SELECT id, fingerprint FROM security_group_rules "
            "WHERE cidr IN ('0.0.0.0/0', '::/0')")).all():
        parts = fingerprint.split("|")
        if len(parts) >= 6:
            parts[4] = ""
            conn.execute(sa.text("UPDATE security_group_rules SET fingerprint = :f "
                                 "WHERE id = :i"), {"f": "|".join(parts), "i": rule_id})


def convert(conn: Connection) -> None:
    _anywhere_fingerprints(conn)
    now = datetime.now(UTC).replace(tzinfo=None)
    fixed = conn.execute(sa.text("SELECT address, network, instance_uuid, mac_address "
                                 "FROM fixed_ips")).all()
    floating = conn.execute(sa.text(
        "SELECT address, project_id, allocation_id, instance_uuid, fixed_address, "
        "association_id, associated_at FROM floating_ips")).all()
    if not fixed and not floating:
        return  # a new database: the bootstrap makes the networks
    admin = conn.execute(sa.text("SELECT id FROM projects WHERE name = 'admin'")).scalar() or ""
    instances = {r.uuid: r for r in conn.execute(sa.text(
        "SELECT uuid, project_id, host, security_groups FROM instances WHERE NOT deleted"))}
    groups = {(r.project_id, r.name): r.id for r in conn.execute(sa.text(
        "SELECT id, project_id, name FROM security_groups"))}
    usage: Counter = Counter()
    port_of: dict[str, str] = {}  # fixed address -> the instance's port
    macs = 0
    if fixed:
        name = fixed[0].network if fixed[0].network != PUBLIC else PRIVATE
        net_id, sub_id = _network(conn, admin, name, covering_cidr([r.address for r in fixed]),
                                  now, shared=True, external=False)
        for row in fixed:
            inst = instances.get(row.instance_uuid or "")
            if inst is None:
                continue
            macs += 1
            port_id = _port(conn, inst.project_id, net_id, sub_id, row.address,
                            row.mac_address or _mac(macs), now, device_id=inst.uuid,
                            owner="compute:nova", host=inst.host or "", compute_made=True)
            port_of[row.address] = port_id
            usage[(inst.project_id, "ports")] += 1
            names = inst.security_groups
            if isinstance(names, str):
                import json
                names = json.loads(names)
            for group in dict.fromkeys(names or []):
                gid = groups.get((inst.project_id, group))
                if gid is not None:
                    conn.execute(sa.insert(PORT_GROUPS).values(port_id=port_id, group_id=gid))
    if floating:
        cidr = covering_cidr([r.address for r in floating])
        ext_id, ext_sub = _network(conn, admin, PUBLIC, cidr, now, shared=False, external=True)
        router = _std(admin, "router", now)
        taken = {r.address for r in floating if r.project_id}
        free = next(str(a) for a in reversed(list(cidr.hosts())[1:]) if str(a) not in taken)
        macs += 1
        gw_port = _port(conn, "", ext_id, ext_sub, free, _mac(macs), now,
                        device_id=router["id"], owner="network:router_gateway")
        conn.execute(sa.insert(ROUTERS).values(**router, admin_state_up=True, status="ACTIVE",
                                               gw_network_id=ext_id, gw_port_id=gw_port,
                                               enable_snat=True, routes=[]))
        if fixed:
            hosts = list(covering_cidr([r.address for r in fixed]).hosts())
            macs += 1
            _port(conn, admin, net_id, sub_id, str(hosts[0]), _mac(macs), now,
                  device_id=router["id"], owner="network:router_interface")
        for row in floating:
            if not row.project_id:
                continue
            fip = _std(row.project_id, "", now)
            fip["id"] = row.allocation_id or fip["id"]
            macs += 1
            fport = _port(conn, "", ext_id, ext_sub, row.address, _mac(macs), now,
                          device_id=fip["id"], owner="network:floatingip")
            port = port_of.get(row.fixed_address or "") if row.instance_uuid else None
            conn.execute(sa.insert(FLOATING).values(
                **fip, floating_network_id=ext_id, floating_port_id=fport,
                floating_ip_address=row.address, port_id=port,
                fixed_ip_address=row.fixed_address if port else None,
                router_id=router["id"] if port else None,
                status="ACTIVE" if port else "DOWN",
                association_id=row.association_id if port else None,
                associated_at=row.associated_at if port else None))
    for row in conn.execute(sa.text("SELECT project_id, COUNT(*) AS n FROM security_groups "
                                    "GROUP BY project_id")):
        usage[(row.project_id, "security_groups")] += row.n
    for row in conn.execute(sa.text(
            "SELECT g.project_id AS project_id, COUNT(*) AS n FROM security_group_rules r "
            "JOIN security_groups g ON g.id = r.group_id GROUP BY g.project_id")):
        usage[(row.project_id, "security_group_rules")] += row.n
    _record_usage(conn, usage)


def _record_usage(conn: Connection, usage: Counter) -> None:
    known = defaultdict(set)
    for row in conn.execute(sa.text("SELECT project_id, resource FROM quota_usages")):
        known[row.project_id].add(row.resource)
    for (project, resource), n in usage.items():
        if resource in known[project]:
            conn.execute(sa.update(USAGES).where(USAGES.c.project_id == project,
                                                 USAGES.c.resource == resource)
                         .values(in_use=n))
        else:
            conn.execute(sa.insert(USAGES).values(project_id=project, resource=resource,
                                                  in_use=n))
