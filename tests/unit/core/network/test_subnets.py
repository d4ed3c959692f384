"""core/network/subnets.py: IPv4 subnets of a project's network, their
gateway and pools, overlaps refused (InvalidInput), only the network's owner
adding one, and a subnet with addresses in use kept (SubnetInUse)."""

from __future__ import annotations

import pytest

from core import errors
from core.network.errors import InvalidInput, NetworkNotFound, SubnetInUse, SubnetNotFound
from tests.support.core_services import ADMIN, MEMBER, OTHER


@pytest.fixture
def net1(core) -> str:
    return core.network.networks.create(MEMBER, {"name": "net1"})["id"]


def test_create_with_defaults(core, net1):
    sub = core.network.subnets.create(MEMBER, {"network_id": net1, "cidr": "10.30.0.0/24",
                                               "name": "sub1"})
    assert (sub["project_id"], sub["ip_version"], sub["cidr"], sub["gateway_ip"],
            sub["allocation_pools"], sub["dns_nameservers"], sub["host_routes"],
            sub["enable_dhcp"], sub["name"]) == \
        ("p1", 4, "10.30.0.0/24", "10.30.0.1",
         [{"start": "10.30.0.2", "end": "10.30.0.254"}], [], [], True, "sub1")
    assert core.network.networks.get(MEMBER, net1)["subnets"] == [sub["id"]]
    assert core.network.subnets.get(MEMBER, sub["id"]) == sub
    assert core.quotas.usage("p1")["subnets"] == 1


def test_given_gateway_pools_and_servers(core, net1):
    sub = core.network.subnets.create(MEMBER, {
        "network_id": net1, "cidr": "10.30.0.0/24", "gateway_ip": "10.30.0.254",
        "allocation_pools": [{"start": "10.30.0.10", "end": "10.30.0.20"}],
        "dns_nameservers": ["8.8.8.8"],
        "host_routes": [{"destination": "0.0.0.0/0", "nexthop": "10.30.0.254"}]})
    assert (sub["gateway_ip"], sub["allocation_pools"], sub["dns_nameservers"]) == \
        ("10.30.0.254", [{"start": "10.30.0.10", "end": "10.30.0.20"}], ["8.8.8.8"])
    no_gateway = core.network.subnets.create(MEMBER, {
        "network_id": net1, "cidr": "10.31.0.0/29", "gateway_ip": None})
    assert no_gateway["gateway_ip"] is None
    assert no_gateway["allocation_pools"] == [{"start": "10.31.0.1", "end": "10.31.0.6"}]


@pytest.mark.parametrize(("attrs", "message"), [
    ({"cidr": "10.30.0.128/25"}, "overlaps with another subnet"),
    ({"cidr": "10.30.0.0/16"}, "overlaps with another subnet"),
    ({"cidr": "10.40.0.1/24"}, "isn't a recognized IP subnet cidr"),
    ({"cidr": "not-a-cidr"}, "is not a valid IP subnet"),
    ({"cidr": "10.40.0.0/31"}, "too small"),
    ({"cidr": "10.40.0.0/24", "gateway_ip": "10.41.0.1"}, "Gateway is not valid"),
    ({"cidr": "10.40.0.0/24", "dns_nameservers": ["x"]}, "not a valid IP address"),
    ({"cidr": "10.40.0.0/24", "host_routes": [{"destination": "1.2.3.4/8",
                                               "nexthop": "10.40.0.1"}]},
     "not a valid IP subnet"),
])
def test_bad_subnets_are_invalid_input(core, net1, attrs, message):
    core.network.subnets.create(MEMBER, {"network_id": net1, "cidr": "10.30.0.0/24"})
    with pytest.raises(InvalidInput, match=message):
        core.network.subnets.create(MEMBER, {"network_id": net1, **attrs})
    assert len(core.network.networks.get(MEMBER, net1)["subnets"]) == 1


def test_pools_outside_the_cidr_or_overlapping(core, net1):
    base = {"network_id": net1, "cidr": "10.30.0.0/24"}
    with pytest.raises(errors.InvalidInput, match="spans beyond the subnet cidr"):
        core.network.subnets.create(MEMBER, {**base, "allocation_pools": [
            {"start": "10.30.0.2", "end": "10.30.1.5"}]})
    with pytest.raises(errors.InvalidInput, match="overlapping allocation pools"):
        core.network.subnets.create(MEMBER, {**base, "allocation_pools": [
            {"start": "10.30.0.2", "end": "10.30.0.9"},
            {"start": "10.30.0.5", "end": "10.30.0.12"}]})
    with pytest.raises(errors.Conflict, match="conflicts with allocation pool"):
        core.network.subnets.create(MEMBER, {**base, "allocation_pools": [
            {"start": "10.30.0.1", "end": "10.30.0.9"}]})
    with pytest.raises(errors.InvalidInput, match="Only IPv4"):
        core.network.subnets.create(MEMBER, {**base, "ip_version": 6})


def test_subnets_of_networks_the_project_does_not_own(core, net1):
    with pytest.raises(NetworkNotFound):
        core.network.subnets.create(OTHER, {"network_id": net1, "cidr": "10.30.0.0/24"})
    private = next(n["id"] for n in core.network.networks.list(MEMBER)
                   if n["name"] == "private")
    with pytest.raises(errors.Forbidden):  # shared, but the admin's
        core.network.subnets.create(MEMBER, {"network_id": private, "cidr": "10.60.0.0/24"})
    sub = core.network.subnets.create(MEMBER, {"network_id": net1, "cidr": "10.30.0.0/24"})
    with pytest.raises(SubnetNotFound):
        core.network.subnets.get(OTHER, sub["id"])
    # the shared network's subnet is seen by everyone
    assert any(s["network_id"] == private for s in core.network.subnets.list(OTHER))
    assert core.network.subnets.get(ADMIN, sub["id"])["id"] == sub["id"]


def test_update_and_read_only_attributes(core, net1):
    sub = core.network.subnets.create(MEMBER, {"network_id": net1, "cidr": "10.30.0.0/24"})
    changed = core.network.subnets.update(MEMBER, sub["id"], {
        "name": "renamed", "dns_nameservers": ["1.1.1.1"], "enable_dhcp": False})
    assert (changed["name"], changed["dns_nameservers"], changed["enable_dhcp"],
            changed["revision_number"]) == ("renamed", ["1.1.1.1"], False, 1)
    with pytest.raises(InvalidInput, match="read-only attribute cidr"):
        core.network.subnets.update(MEMBER, sub["id"], {"cidr": "10.31.0.0/24"})


def test_a_subnet_with_addresses_in_use_is_kept(core, net1):
    sub = core.network.subnets.create(MEMBER, {"network_id": net1, "cidr": "10.30.0.0/24"})
    port = core.network.ports.create(MEMBER, {"network_id": net1})
    with pytest.raises(SubnetInUse, match="One or more ports have an IP allocation"):
        core.network.subnets.delete(MEMBER, sub["id"])
    core.network.ports.delete(MEMBER, port["id"])
    core.network.subnets.delete(MEMBER, sub["id"])
    assert core.network.networks.get(MEMBER, net1)["subnets"] == []
    assert core.quotas.usage("p1")["subnets"] == 0
