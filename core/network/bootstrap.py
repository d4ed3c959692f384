"""The networks a new cloud starts with: the external network floating IPs
come from (over FLOATING_RANGE), a shared default network servers use when
they name none (over FIXED_RANGE, EC2's default subnet), and a router joining
the two, so a server on the default network can have a floating IP.

Idempotent and safe when two processes run it at once: the objects have fixed
ids derived from their names and ranges, so a second maker's insert fails and
it finds the first maker's. A database migrated from the flat pools has them
already (by name), from the migration.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.db import Database
from core.network.models import IpAllocation, Network, Router, Subnet
from core.network.ports import new_port
from core.network.routers import GATEWAY, INTERFACE
from core.settings import Settings

_NAMESPACE = uuid.UUID("8d1f7c52-54a4-4c54-9a51-1c0e5b2d7e93")


@dataclass(frozen=True)
class DefaultNetworks:
    external_id: str
    default_id: str
    router_id: str | None


def _fixed_id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def _subnet(network: Network, cidr: str, name: str) -> Subnet:
    net = ipaddress.IPv4Network(cidr, strict=False)
    hosts_first, hosts_last = net.network_address + 1, net.broadcast_address - 1
    return Subnet(id=_fixed_id("subnet", network.id, str(net)), project_id=network.project_id,
                  network_id=network.id, name=name, ip_version=4, cidr=str(net),
                  gateway_ip=str(hosts_first),
                  allocation_pools=[{"start": str(hosts_first + 1), "end": str(hosts_last)}],
                  dns_nameservers=[], host_routes=[], enable_dhcp=True)


def ensure_default_networks(db: Database, settings: Settings,
                            admin_project_id: str) -> DefaultNetworks:
    try:
        return _ensure(db, settings, admin_project_id)
    except IntegrityError:  # a concurrent maker won; take what it made
        return _ensure(db, settings, admin_project_id)


def _ensure(db: Database, settings: Settings, admin: str) -> DefaultNetworks:
    with db.session() as s:
        external = s.scalar(select(Network).where(Network.name == settings.external_network_name,
                                                  Network.external.is_(True)))
        if external is None:
            external = Network(id=_fixed_id("network", settings.external_network_name),
                               project_id=admin, name=settings.external_network_name,
                               external=True, shared=False, description="Floating IPs")
            s.add(external)
            s.flush()
            s.add(_subnet(external, settings.floating_range,
                          f"{settings.external_network_name}-subnet"))
        default = s.scalar(select(Network).where(Network.is_default.is_(True)))
        if default is None:
            default = Network(id=_fixed_id("network", settings.network_name), project_id=admin,
                              name=settings.network_name, shared=True, is_default=True,
                              description="The default network")
            s.add(default)
            s.flush()
            s.add(_subnet(default, settings.fixed_range, f"{settings.network_name}-subnet"))
        s.flush()
        router = s.scalar(select(Router).where(Router.gw_network_id == external.id,
                                               Router.project_id == admin))
        if router is None:
            router = Router(id=_fixed_id("router", external.id, default.id), project_id=admin,
                            name="router", description="The default network's way out")
            s.add(router)
            s.flush()
            port = new_port(s, project_id="", network=external, device_id=router.id,
                            device_owner=GATEWAY)
            router.gw_network_id, router.gw_port_id = external.id, port.id
            subnet = s.scalar(select(Subnet).where(Subnet.network_id == default.id))
            if subnet is not None and subnet.gateway_ip and not s.scalar(
                    select(IpAllocation.port_id).where(
                        IpAllocation.subnet_id == subnet.id,
                        IpAllocation.ip_address == subnet.gateway_ip)):
                new_port(s, project_id=admin, network=default, device_id=router.id,
                         device_owner=INTERFACE,
                         fixed_ips=[{"subnet_id": subnet.id, "ip_address": subnet.gateway_ip}])
        return DefaultNetworks(external.id, default.id, router.id)


