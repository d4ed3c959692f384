"""Fixed-IP address management over the configured range (floating addresses:
``core.network.floating``).

Every usable address of the range is a row; an instance takes a free one with a
compare-and-swap on ``instance_uuid`` (retried on a lost race), so no address is
ever handed out twice, and gives it back when it is deleted.
"""

from __future__ import annotations

import ipaddress
import random
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import CursorResult, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from core import errors
from core.db import Database
from core.db.base import utcnow
from core.network.floating import FloatingPool
from core.network.models import FixedIP, FloatingIP

MAC_PREFIX = "fa:16:3e"  # OpenStack's locally administered prefix


@dataclass(frozen=True)
class Address:
    address: str
    network: str
    mac_address: str
    version: int = 4
    type: str = "fixed"


def random_mac() -> str:
    return MAC_PREFIX + "".join(f":{random.randrange(256):02x}" for _ in range(3))


class Ipam:
    """Fixed addresses of one network (``settings.network_name``, ``fixed_range``)."""

    def __init__(self, db: Database, cidr: str, network: str) -> None:
        self.db = db
        self.cidr = ipaddress.ip_network(cidr)
        self.network = network

    def ensure_pool(self) -> int:
        """Create the rows of addresses not yet known (idempotent); returns the pool size.

        The network address, the gateway (first host) and the broadcast are not handed out.
        """
        hosts = list(self.cidr.hosts())[1:]
        with self.db.session() as s:
            known = s.scalar(select(func.count()).select_from(FixedIP)
                             .where(FixedIP.network == self.network)) or 0
            if known >= len(hosts):
                return known
            existing = set(s.scalars(select(FixedIP.address)
                                     .where(FixedIP.network == self.network)))
            rows = [{"address": str(a), "network": self.network} for a in hosts
                    if str(a) not in existing]
            for start in range(0, len(rows), 1000):
                s.execute(insert(FixedIP), rows[start:start + 1000])
        return len(hosts)

    def fill_pool(self) -> None:
        """:meth:`ensure_pool`, safe when processes start side by side: each may
        find the pool empty and insert it; the loser's insert conflicts once the
        winner commits, and then the pool is complete."""
        try:
            self.ensure_pool()
        except IntegrityError:
            self.ensure_pool()

    def allocate(self, instance_uuid: str) -> Address:
        """The instance's address: the one it holds already, or a free one taken now."""
        for _attempt in range(20):
            with self.db.session() as s:
                held = s.execute(select(FixedIP).where(FixedIP.instance_uuid == instance_uuid)
                                 ).scalars().first()
                if held is not None:
                    return self._address(held)
                # A random window of free rows keeps concurrent takers apart.
                candidates = list(s.scalars(
                    select(FixedIP.address).where(FixedIP.network == self.network,
                                                  FixedIP.instance_uuid.is_(None))
                    .order_by(FixedIP.address).limit(16)))
                if not candidates:
                    raise errors.Conflict(f"No fixed IP addresses available on network "
                                          f"{self.network}.")
                address = random.choice(candidates)
                mac = random_mac()
                result = s.execute(update(FixedIP).where(
                    FixedIP.address == address, FixedIP.instance_uuid.is_(None)).values(
                    instance_uuid=instance_uuid, mac_address=mac, allocated_at=utcnow()))
                if isinstance(result, CursorResult) and result.rowcount == 1:
                    return Address(address, self.network, mac)
        raise errors.ServiceUnavailable("Could not allocate a fixed IP address; retry later.")

    def release(self, instance_uuid: str) -> None:
        """Give the instance's addresses back (idempotent): its fixed ones to the
        pool; its floating ones stay its project's, disassociated."""
        with self.db.session() as s:
            FloatingPool.disassociate_instance(s, instance_uuid)
            s.execute(update(FixedIP).where(FixedIP.instance_uuid == instance_uuid)
                      .values(instance_uuid=None, mac_address=None, allocated_at=None))

    def addresses_for(self, instance_uuids: list[str]) -> dict[str, list[Address]]:
        """Each instance's addresses, in one query."""
        out: dict[str, list[Address]] = defaultdict(list)
        if not instance_uuids:
            return out
        with self.db.session() as s:
            for row in s.execute(select(FixedIP.instance_uuid, FixedIP.address,
                                        FixedIP.network, FixedIP.mac_address)
                                 .where(FixedIP.instance_uuid.in_(instance_uuids))):
                out[row.instance_uuid].append(Address(row.address, row.network,
                                                      row.mac_address or ""))
        return out

    def addresses_with_floating(self, instance_uuids: list[str]) -> dict[str, list[Address]]:
        """Each instance's fixed addresses, then the floating address mapped to
        each (type ``floating``, listed under the fixed address's network with
        its MAC, as Nova shows them)."""
        out = self.addresses_for(instance_uuids)
        if not instance_uuids:
            return out
        with self.db.session() as s:
            rows = s.execute(select(FloatingIP.instance_uuid, FloatingIP.address,
                                    FloatingIP.fixed_address)
                             .where(FloatingIP.instance_uuid.in_(instance_uuids))
                             .order_by(FloatingIP.address)).all()
        for instance_uuid, address, fixed in rows:
            if instance_uuid is None:
                continue
            held = out.get(instance_uuid, [])
            mapped = next((a for a in held if a.address == fixed), held[0] if held else None)
            out[instance_uuid].append(Address(
                address, mapped.network if mapped else self.network,
                mapped.mac_address if mapped else "", 4, "floating"))
        return out

    def instance_with_address(self, address: str) -> str | None:
        with self.db.session() as s:
            return s.scalar(select(FixedIP.instance_uuid).where(FixedIP.address == address))

    @staticmethod
    def _address(row: FixedIP) -> Address:
        return Address(row.address, row.network, row.mac_address or "")
