"""What the DNS responder knows, read from the live database (read-only).

``RecordSource`` is the contract the zone logic asks; ``DatabaseRecords`` answers
it with small indexed queries per lookup, so every answer reflects the database
as it is now (no cache to go stale; the answers' TTL bounds what resolvers keep).
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import func, or_, select

from core.compute.models import Instance
from core.compute.servers import hostname_for
from core.db import Database
from core.dns.names import dns_label
from core.identity.models import Project
from core.network.models import FloatingIp, IpAllocation, Port


class RecordSource(Protocol):
    def fixed_ip_in_use(self, address: str) -> bool:
        """Whether a live instance holds this fixed address."""

    def floating_ip_in_use(self, address: str) -> bool:
        """Whether this floating address is associated with a live instance."""

    def projects_labelled(self, label: str) -> list[str]:
        """Ids of the projects whose name, as a DNS label, is ``label``."""

    def server_addresses(self, project_ids: list[str], hostname: str) -> list[str] | None:
        """Fixed addresses of the live servers of those projects whose hostname is
        ``hostname`` (lower case); None if there is no such server."""


def _like_pattern(text: str) -> str:
    """A LIKE pattern every name that sanitises to ``text`` matches (hyphens and the
    ends stand for whatever the sanitising replaced); callers re-check exactly."""
    return "%" + text.replace("-", "%") + "%"


class DatabaseRecords:
    """``RecordSource`` over the controller's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def fixed_ip_in_use(self, address: str) -> bool:
        with self.db.session() as s:
            held = s.scalar(
                select(IpAllocation.ip_address)
                .join(Port, Port.id == IpAllocation.port_id)
                .join(Instance, Instance.uuid == Port.device_id)
                .where(IpAllocation.ip_address == address, Port.device_owner.like("compute:%"),
                       Instance.deleted.is_(False)).limit(1))
        return held is not None

    def floating_ip_in_use(self, address: str) -> bool:
        with self.db.session() as s:
            held = s.scalar(
                select(FloatingIp.floating_ip_address)
                .join(Port, Port.id == FloatingIp.port_id)
                .join(Instance, Instance.uuid == Port.device_id)
                .where(FloatingIp.floating_ip_address == address,
                       Instance.deleted.is_(False)).limit(1))
        return held is not None

    def projects_labelled(self, label: str) -> list[str]:
        with self.db.session() as s:
            rows = s.execute(select(Project.id, Project.name)
                             .where(Project.name.ilike(_like_pattern(label)))).all()
        return sorted(pid for pid, name in rows if dns_label(name) == label)

    def server_addresses(self, project_ids: list[str], hostname: str) -> list[str] | None:
        if not project_ids:
            return None
        with self.db.session() as s:
            rows = s.execute(
                select(Instance.uuid, Instance.hostname, Instance.display_name)
                .where(Instance.project_id.in_(project_ids), Instance.deleted.is_(False),
                       or_(func.lower(Instance.hostname) == hostname,
                           Instance.hostname.is_(None)
                           & Instance.display_name.ilike(_like_pattern(hostname))))).all()
            uuids = [uuid for uuid, host, name in rows
                     if (host or hostname_for(name)).lower() == hostname]
            if not uuids:
                return None
            addresses = s.scalars(select(IpAllocation.ip_address)
                                  .join(Port, Port.id == IpAllocation.port_id)
                                  .where(Port.device_id.in_(uuids),
                                         Port.device_owner.like("compute:%"))).all()
        return sorted(addresses, key=_address_key)


def _address_key(address: str) -> tuple[int, ...]:
    return tuple(int(part) for part in address.split("."))
