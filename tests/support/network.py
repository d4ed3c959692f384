"""Addresses for instances in tests, made through the network model as the
conductor makes them: the default networks (``ensure_networks``), a port with
a given address on the default network for an instance (``give_port``), and
a floating IP of the external network mapped to it (``give_floating_ip``)."""

from __future__ import annotations

import uuid as uuidlib

from sqlalchemy import select

from core.context import RequestContext
from core.db import Database
from core.idmap.ids import Kind, mint_new
from core.network.bootstrap import DefaultNetworks, ensure_default_networks
from core.network.floating import associate
from core.network.instance_ports import COMPUTE_OWNER
from core.network.models import FloatingIp, IpAllocation, Network, Port
from core.network.ports import new_port
from core.network.services import NetworkServices, build_network
from core.policy import Enforcer
from core.policy.defaults import all_defaults
from core.quota.service import QuotaService
from core.settings import Settings, load_settings

SYSTEM = RequestContext(user_id="test", project_id="p-admin", roles=("admin",), is_admin=True)


def ensure_networks(db: Database, fixed_range: str = "10.0.0.0/22",
                    floating_range: str = "203.0.113.0/24",
                    admin_project_id: str = "p-admin") -> DefaultNetworks:
    """The bootstrap's networks (public, the shared default one, the router)."""
    settings = load_settings({}, fixed_range=fixed_range, floating_range=floating_range)
    return ensure_default_networks(db, settings, admin_project_id)


def give_port(db: Database, instance_uuid: str, address: str | None = None,
              project_id: str = "p1", network_id: str | None = None) -> str:
    """A port of the instance (``compute:nova``, made by compute) holding
    ``address`` (any free one if None) on the default network; its id."""
    with db.session() as s:
        if network_id is None:
            net = s.scalar(select(Network).where(Network.is_default.is_(True)))
        else:
            net = s.get(Network, network_id)
        assert net is not None, "no default network: call ensure_networks first"
        port = new_port(s, project_id=project_id, network=net, device_id=instance_uuid,
                        device_owner=COMPUTE_OWNER, compute_made=True,
                        fixed_ips=[{"ip_address": address}] if address else None)
        return port.id


def address_of(db: Database, port_id: str) -> str:
    with db.session() as s:
        found = s.scalar(select(IpAllocation.ip_address).where(IpAllocation.port_id == port_id))
        assert found is not None
        return found


def give_floating_ip(db: Database, address: str, project_id: str = "p1",
                     instance_uuid: str | None = None) -> str:
    """A floating IP of the external network at ``address``, the project's
    (with its ``eipalloc-`` ID), mapped to the instance's first port if one is
    named; its id (the allocation id)."""
    with db.session() as s:
        net = s.scalar(select(Network).where(Network.external.is_(True))
                       .order_by(Network.created_at))
        assert net is not None, "no external network: call ensure_networks first"
        row = FloatingIp(id=str(uuidlib.uuid4()), project_id=project_id,
                         floating_network_id=net.id, floating_ip_address=address,
                         status="DOWN")
        port = new_port(s, project_id="", network=net, device_id=row.id,
                        device_owner="network:floatingip", fixed_ips=[{"ip_address": address}])
        row.floating_port_id = port.id
        s.add(row)
        s.flush()
        mint_new(s, Kind.ADDRESS, [(row.id, project_id)])
        if instance_uuid is not None:
            target = s.scalar(select(Port.id).where(Port.device_id == instance_uuid,
                                                    Port.device_owner.like("compute:%"))
                              .order_by(Port.created_at))
            assert target is not None, f"instance {instance_uuid} has no port"
            associate(s, SYSTEM, row, target)
        return row.id


def network_services(db: Database, settings: Settings) -> NetworkServices:
    """The network domain's services on ``db`` alone (no identity, no bus), with
    the default policy and compute's instance records (dispose ``.quotas.quotas``
    — the quota service — after use)."""
    from core.compute.instance_records import InstanceRecords
    from core.compute.instance_store import InstanceStore

    return build_network(db, Enforcer(all_defaults(), None), QuotaService(db, settings),
                         InstanceRecords(InstanceStore(db)))
