"""Addresses of subnets, handed out to ports.

An address is a row of ``ip_allocations`` keyed by (subnet, address): taking
one is an INSERT, in a savepoint, that a concurrent taker of the same address
makes fail, after which the loser picks another. So no address is ever given
twice, on any database, and an exhausted subnet answers
``IpAddressGenerationFailure`` rather than waiting. Free addresses are chosen
at random from the first few of the pools, which keeps concurrent takers apart.
"""

from __future__ import annotations

import contextlib
import ipaddress
import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.network.errors import (
    InvalidInput,
    InvalidIpForNetwork,
    InvalidIpForSubnet,
    IpAddressGenerationFailure,
    IpAddressInUse,
    SubnetNotFound,
)
from core.network.models import IpAllocation, Subnet

MAC_PREFIX = "fa:16:3e"  # OpenStack's locally administered prefix
WINDOW = 16  # free addresses a taker picks from
ROUTER_OWNERS = ("network:router_interface", "network:router_interface_distributed",
                 "network:ha_router_replicated_interface")


def random_mac() -> str:
    return MAC_PREFIX + "".join(f":{random.randrange(256):02x}" for _ in range(3))


def pool_addresses(subnet: Subnet) -> Iterator[ipaddress.IPv4Address]:
    for pool in subnet.allocation_pools or []:
        start = ipaddress.IPv4Address(pool["start"])
        end = ipaddress.IPv4Address(pool["end"])
        for n in range(int(start), int(end) + 1):
            yield ipaddress.IPv4Address(n)


def _taken(s: Session, subnet_id: str) -> set[str]:
    return set(s.scalars(select(IpAllocation.ip_address).where(
        IpAllocation.subnet_id == subnet_id)))


@contextlib.contextmanager
def savepoint(s: Session) -> Iterator[None]:
    """``s.begin_nested()`` that nests on SQLite too. pysqlite (legacy
    transaction control) opens a transaction only at the first write, so a
    SAVEPOINT before any write is the transaction's outermost level and its
    RELEASE commits: a port made that way stayed behind when the request then
    failed. On SQLite the write transaction is begun first (IMMEDIATE: it
    takes the write lock now, waiting for it, rather than failing on upgrade)."""
    conn = s.connection()
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    with s.begin_nested():
        yield


def _insert(s: Session, subnet: Subnet, address: str, port_id: str) -> bool:
    """Take ``address`` for the port; False if someone holds it."""
    try:
        with savepoint(s):
            s.add(IpAllocation(subnet_id=subnet.id, ip_address=address, port_id=port_id,
                               network_id=subnet.network_id))
            s.flush()
        return True
    except IntegrityError:
        return False


def take_any(s: Session, subnet: Subnet, port_id: str) -> str | None:
    """A free address of the subnet's pools, now the port's; None when none is left."""
    for _attempt in range(64):
        taken = _taken(s, subnet.id)
        free = []
        for address in pool_addresses(subnet):
            text = str(address)
            if text not in taken and text != subnet.gateway_ip:
                free.append(text)
                if len(free) >= WINDOW:
                    break
        if not free:
            return None
        chosen = random.choice(free)
        if _insert(s, subnet, chosen, port_id):
            return chosen
    return None


def take_address(s: Session, subnet: Subnet, address: str, port_id: str,
                 device_owner: str) -> str:
    """The given address of the subnet, now the port's (IpAddressInUse if held)."""
    ip = ipaddress.IPv4Address(address)
    net = ipaddress.IPv4Network(subnet.cidr)
    if ip not in net or ip in (net.network_address, net.broadcast_address):
        raise InvalidIpForSubnet(address)
    if address == subnet.gateway_ip and device_owner not in ROUTER_OWNERS:
        raise IpAddressInUse(address, subnet.network_id)
    if not _insert(s, subnet, address, port_id):
        raise IpAddressInUse(address, subnet.network_id)
    return address


def allocate(s: Session, network_id: str, port_id: str, requested: Sequence[Mapping] | None,
             device_owner: str = "") -> list[dict[str, str]]:
    """The port's fixed IPs: as ``requested`` (``subnet_id`` and/or
    ``ip_address`` each), or one address of the first subnet with room."""
    subnets = list(s.scalars(select(Subnet).where(Subnet.network_id == network_id)
                             .order_by(Subnet.created_at, Subnet.id)))
    out: list[dict[str, str]] = []
    if requested is None:
        for candidate in subnets:
            address = take_any(s, candidate, port_id)
            if address is not None:
                return [{"subnet_id": candidate.id, "ip_address": address}]
        if subnets:
            raise IpAddressGenerationFailure(network_id)
        return out
    by_id = {sub.id: sub for sub in subnets}
    for item in requested:
        if not isinstance(item, Mapping) or not (set(item) <= {"subnet_id", "ip_address"}):
            raise InvalidInput("Each of fixed_ips takes a subnet_id and/or an ip_address.",
                               "fixed_ips")
        subnet_id, address = item.get("subnet_id"), item.get("ip_address")
        subnet: Subnet | None
        if address is not None:
            address = _check_ip(address)
        if subnet_id is not None:
            subnet = by_id.get(str(subnet_id))
            if subnet is None:
                if s.get(Subnet, str(subnet_id)) is not None:
                    raise InvalidInput(f"Failed to create port on network {network_id}, "
                                       f"because fixed_ips included invalid subnet "
                                       f"{subnet_id}.", "fixed_ips")
                raise SubnetNotFound(str(subnet_id))
        elif address is not None:
            subnet = next((sub for sub in subnets if ipaddress.IPv4Address(address)
                           in ipaddress.IPv4Network(sub.cidr)), None)
            if subnet is None:
                raise InvalidIpForNetwork(address)
        else:
            raise InvalidInput("Each of fixed_ips needs a subnet_id or an ip_address.",
                               "fixed_ips")
        assert subnet is not None
        if address is not None:
            out.append({"subnet_id": subnet.id,
                        "ip_address": take_address(s, subnet, address, port_id, device_owner)})
        else:
            taken = take_any(s, subnet, port_id)
            if taken is None:
                raise IpAddressGenerationFailure(network_id)
            out.append({"subnet_id": subnet.id, "ip_address": taken})
    return out


def _check_ip(value: Any) -> str:
    try:
        ip = ipaddress.ip_address(str(value))
    except ValueError:
        raise InvalidInput(f"'{value}' is not a valid IP address.", "fixed_ips") from None
    if not isinstance(ip, ipaddress.IPv4Address):
        raise InvalidInput(f"'{value}' is not an IPv4 address.", "fixed_ips")
    return str(ip)
