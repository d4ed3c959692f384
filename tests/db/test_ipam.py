"""Addresses handed out to ports on every database back end, under concurrency
(issue 11): 100 concurrent port creates on a /26 give 61 ports with 61
distinct addresses and 39 clean IpAddressGenerationFailure errors; two ports
asking for one fixed IP: one gets it, the other IpAddressInUse; servers'
ports taken at once never share an address, and a released one is free again."""

from __future__ import annotations

import ipaddress
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from core.context import RequestContext
from core.network.errors import IpAddressGenerationFailure, IpAddressInUse
from core.network.models import IpAllocation, Port
from core.network.services import NetworkServices
from tests.support.network import ensure_networks, network_services

ADMIN = RequestContext(user_id="admin", project_id="p-admin",
                       roles=("admin", "member", "reader"), is_admin=True)


def member(project: str) -> RequestContext:
    return RequestContext(user_id=f"user-{project}", project_id=project,
                          roles=("member", "reader"))


@pytest.fixture
def net(db, settings) -> Iterator[NetworkServices]:
    services = network_services(db, settings)
    yield services
    services.quotas.quotas.dispose()


def shared_network(net: NetworkServices, cidr: str) -> tuple[str, str]:
    """A shared network (made by an admin) whose only subnet is ``cidr``."""
    network = net.networks.create(ADMIN, {"name": "shared", "shared": True})
    subnet = net.subnets.create(ADMIN, {"network_id": network["id"], "cidr": cidr})
    return network["id"], subnet["id"]


def at_once(count: int, work: Callable[[int], object], workers: int = 20) -> list[object]:
    """``work(i)`` for ``i`` in ``range(count)`` on ``workers`` threads released
    together; results or the exceptions raised."""
    start = threading.Barrier(min(workers, count))

    def run(i: int) -> object:
        if i < workers:
            start.wait(30)
        try:
            return work(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects them
            return exc

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, range(count)))


def test_100_concurrent_port_creates_on_a_slash_26(db, net):
    network_id, subnet_id = shared_network(net, "10.50.0.0/26")
    results = at_once(100, lambda i: net.ports.create(member(f"p{i}"), {
        "network_id": network_id, "security_groups": []}))
    ports = [r for r in results if isinstance(r, dict)]
    failures = [r for r in results if isinstance(r, IpAddressGenerationFailure)]
    others = [r for r in results if not isinstance(r, dict | IpAddressGenerationFailure)]
    assert others == [], others[:3]
    assert (len(ports), len(failures)) == (61, 39)
    addresses = [p["fixed_ips"][0]["ip_address"] for p in ports]
    assert len(set(addresses)) == 61
    cidr = ipaddress.ip_network("10.50.0.0/26")
    assert all(ipaddress.ip_address(a) in cidr for a in addresses)
    assert "10.50.0.1" not in addresses  # the gateway
    assert all(str(f) == f"No more IP addresses available on network {network_id}."
               for f in failures)
    with db.session() as s:  # nothing half-made by the failures
        assert s.scalar(select(func.count()).select_from(Port)) == 61
        assert s.scalar(select(func.count()).select_from(IpAllocation)
                        .where(IpAllocation.subnet_id == subnet_id)) == 61
    assert sum(net.quotas.quotas.usage(f"p{i}").get("ports", 0) for i in range(100)) == 61


def test_two_ports_asking_for_one_fixed_ip(net):
    network_id, subnet_id = shared_network(net, "10.51.0.0/28")
    wanted = {"network_id": network_id, "security_groups": [],
              "fixed_ips": [{"ip_address": "10.51.0.7"}]}
    results = at_once(2, lambda i: net.ports.create(member(f"q{i}"), wanted))
    won = [r for r in results if isinstance(r, dict)]
    lost = [r for r in results if not isinstance(r, dict)]
    assert len(won) == 1 and won[0]["fixed_ips"] == [{"subnet_id": subnet_id,
                                                      "ip_address": "10.51.0.7"}]
    assert len(lost) == 1 and isinstance(lost[0], IpAddressInUse), lost
    assert "The IP address 10.51.0.7 is in use." in str(lost[0])


def test_servers_ports_taken_at_once_never_share_an_address(db, net):
    ensure_networks(db, fixed_range="10.9.0.0/27")  # .2 to .30: 29 addresses
    instances = [str(uuid.uuid4()) for _ in range(29)]
    at_once(29, lambda i: net.instances.allocate(instances[i], "p1", None), workers=10)
    held = net.instances.addresses_for(instances)
    addresses = [a.address for i in instances for a in held[i]]
    assert len(addresses) == 29 and len(set(addresses)) == 29
    with pytest.raises(IpAddressGenerationFailure):
        net.instances.allocate("late", "p1", None)
    assert net.instances.ports_of("late") == []
    net.instances.release(instances[0])
    net.instances.allocate("late", "p1", None)
    assert [a.address for a in net.instances.addresses_for(["late"])["late"]] == \
        [a.address for a in held[instances[0]]]
    assert net.quotas.quotas.usage("p1")["ports"] == 29
