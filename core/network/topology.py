"""Where networks sit, as EC2 sees them: a network (with its subnet) is a
subnet of the VPC that is the router it is attached to by a router interface.
The shared default network, and every network routed by the router that
serves it (the bootstrap router), is in each project's default VPC.

Read-only and batched: the EC2 views of many interfaces or instances ask once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import Database
from core.network.ipam import ROUTER_OWNERS
from core.network.models import Network, Port

_CHUNK = 500


@dataclass(frozen=True)
class Placement:
    """A network's owner, whether it is the default network, the router it is
    attached to (None: none), and whether that router is in the default VPC."""

    network_id: str
    project_id: str
    is_default: bool
    router_id: str | None
    router_project_id: str
    default_vpc: bool


def routers_of_networks(s: Session, network_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """The (router id, router owner) each network is attached to by a router
    interface (its oldest one, when several), in ``s``."""
    wanted = list(dict.fromkeys(network_ids))
    out: dict[str, tuple[str, str]] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = s.execute(select(Port.network_id, Port.device_id, Port.project_id)
                         .where(Port.network_id.in_(wanted[start:start + _CHUNK]),
                                Port.device_owner.in_(ROUTER_OWNERS))
                         .order_by(Port.created_at.desc()))
        for network_id, router_id, project_id in rows:
            out[network_id] = (router_id, project_id)  # the oldest wins (last written)
    return out


def router_of_network(s: Session, network_id: str) -> str | None:
    """The router a network is attached to (its VPC), if any."""
    found = routers_of_networks(s, [network_id]).get(network_id)
    return found[0] if found else None


def default_routers(s: Session) -> set[str]:
    """The routers attached to the default network: the default VPC."""
    default = select(Network.id).where(Network.is_default.is_(True))
    return set(s.scalars(select(Port.device_id).where(Port.network_id.in_(default),
                                                      Port.device_owner.in_(ROUTER_OWNERS))))


class Topology:
    """Placements of networks and the default network, read in one go."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def placements(self, network_ids: Iterable[str]) -> dict[str, Placement]:
        wanted = list(dict.fromkeys(network_ids))
        if not wanted:
            return {}
        out: dict[str, Placement] = {}
        with self.db.session() as s:
            routers = routers_of_networks(s, wanted)
            defaults = default_routers(s)
            for start in range(0, len(wanted), _CHUNK):
                for net_id, project, is_default in s.execute(
                        select(Network.id, Network.project_id, Network.is_default)
                        .where(Network.id.in_(wanted[start:start + _CHUNK]))):
                    router, router_project = routers.get(net_id, (None, ""))
                    out[net_id] = Placement(net_id, project, bool(is_default), router,
                                            router_project,
                                            bool(is_default) or router in defaults)
        return out

    def default_network_id(self) -> str | None:
        with self.db.session() as s:
            return s.scalar(select(Network.id).where(Network.is_default.is_(True))
                            .order_by(Network.created_at).limit(1))
