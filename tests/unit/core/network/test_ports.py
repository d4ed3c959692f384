"""core/network/ports.py: ports with addresses from their network's subnets
(any free one, or the one asked for: outside the CIDR InvalidIpForSubnet /
InvalidIpForNetwork, held IpAddressInUse), MACs, the default security group,
filters, readdressing, and deletes giving the address back."""

from __future__ import annotations

import pytest

from core import errors
from core.network.errors import (
    InvalidIpForNetwork,
    InvalidIpForSubnet,
    IpAddressGenerationFailure,
    IpAddressInUse,
    MacAddressInUse,
    NetworkNotFound,
    PortNotFound,
)
from core.network.query import ListQuery
from tests.support.core_services import ADMIN, MEMBER, OTHER


@pytest.fixture
def net1(core) -> tuple[str, str]:
    net = core.network.networks.create(MEMBER, {"name": "net1"})
    sub = core.network.subnets.create(MEMBER, {"network_id": net["id"],
                                               "cidr": "10.30.0.0/29"})  # .2 to .6
    return net["id"], sub["id"]


def test_create_takes_an_address_a_mac_and_the_default_group(core, net1):
    net, sub = net1
    port = core.network.ports.create(MEMBER, {"network_id": net, "name": "p1"})
    (fixed,) = port["fixed_ips"]
    assert fixed["subnet_id"] == sub and fixed["ip_address"] in {
        f"10.30.0.{i}" for i in range(2, 7)}
    assert port["mac_address"].startswith("fa:16:3e:")
    assert (port["project_id"], port["status"], port["device_id"], port["device_owner"],
            port["admin_state_up"], port["binding:vif_type"]) == \
        ("p1", "DOWN", "", "", True, "unbound")
    default = core.security_groups.find(MEMBER, "default")
    assert port["security_groups"] == [default.uuid]
    assert core.network.ports.get(MEMBER, port["id"]) == port
    assert core.quotas.usage("p1")["ports"] == 1


def test_asked_for_addresses(core, net1):
    net, sub = net1
    port = core.network.ports.create(MEMBER, {"network_id": net, "fixed_ips": [
        {"ip_address": "10.30.0.5"}]})
    assert port["fixed_ips"] == [{"subnet_id": sub, "ip_address": "10.30.0.5"}]
    with pytest.raises(IpAddressInUse, match="The IP address 10.30.0.5 is in use."):
        core.network.ports.create(MEMBER, {"network_id": net, "fixed_ips": [
            {"ip_address": "10.30.0.5"}]})
    with pytest.raises(IpAddressInUse):  # the gateway's, kept for a router
        core.network.ports.create(MEMBER, {"network_id": net, "fixed_ips": [
            {"subnet_id": sub, "ip_address": "10.30.0.1"}]})
    with pytest.raises(InvalidIpForSubnet, match="not a valid IP for the specified subnet"):
        core.network.ports.create(MEMBER, {"network_id": net, "fixed_ips": [
            {"subnet_id": sub, "ip_address": "10.99.0.5"}]})
    with pytest.raises(InvalidIpForNetwork, match="not a valid IP for any of the subnets"):
        core.network.ports.create(MEMBER, {"network_id": net, "fixed_ips": [
            {"ip_address": "10.99.0.5"}]})
    with pytest.raises(errors.InvalidInput):
        core.network.ports.create(MEMBER, {"network_id": net, "fixed_ips": [
            {"ip_address": "nope"}]})
    assert len(core.network.ports.list(MEMBER, ListQuery(filters={"network_id": [net]}))) == 1
    assert core.quotas.usage("p1")["ports"] == 1  # the refused ones took nothing


def test_exhaustion(core, net1):
    net, _ = net1
    for _ in range(5):
        core.network.ports.create(MEMBER, {"network_id": net})
    with pytest.raises(IpAddressGenerationFailure, match="^No more IP addresses available"):
        core.network.ports.create(MEMBER, {"network_id": net})
    assert len(core.network.ports.list(MEMBER, ListQuery(filters={"network_id": [net]}))) == 5


def test_networks_another_project_owns(core, net1):
    net, _ = net1
    with pytest.raises(NetworkNotFound):
        core.network.ports.create(OTHER, {"network_id": net})
    private = next(n["id"] for n in core.network.networks.list(OTHER) if n["is_default"])
    shared = core.network.ports.create(OTHER, {"network_id": private})
    assert shared["fixed_ips"][0]["ip_address"].startswith("10.9.0.")
    mine = core.network.ports.create(MEMBER, {"network_id": net})
    with pytest.raises(PortNotFound):
        core.network.ports.get(OTHER, mine["id"])
    with pytest.raises(errors.Forbidden):
        core.network.ports.create(MEMBER, {"network_id": net, "binding:host_id": "h1"})
    assert core.network.ports.create(ADMIN, {"network_id": net, "project_id": "p1",
                                             "binding:host_id": "h1"})["binding:host_id"] == "h1"


def test_macs(core, net1):
    net, _ = net1
    port = core.network.ports.create(MEMBER, {"network_id": net,
                                              "mac_address": "FA:16:3E:AA:BB:CC"})
    assert port["mac_address"] == "fa:16:3e:aa:bb:cc"
    with pytest.raises(MacAddressInUse):
        core.network.ports.create(MEMBER, {"network_id": net,
                                           "mac_address": "fa:16:3e:aa:bb:cc"})
    with pytest.raises(errors.InvalidInput, match="not a valid MAC address"):
        core.network.ports.create(MEMBER, {"network_id": net, "mac_address": "nope"})
    with pytest.raises(errors.Conflict):
        core.network.ports.update(MEMBER, port["id"], {"mac_address": "fa:16:3e:00:00:01"})


def test_filters(core, net1):
    net, _ = net1
    a = core.network.ports.create(MEMBER, {"network_id": net, "device_id": "vm-a",
                                           "fixed_ips": [{"ip_address": "10.30.0.3"}]})
    core.network.ports.create(MEMBER, {"network_id": net, "device_id": "vm-b"})
    ports = core.network.ports
    assert [p["id"] for p in ports.list(MEMBER, ListQuery(filters={
        "fixed_ips": ["ip_address=10.30.0.3"]}))] == [a["id"]]
    assert [p["id"] for p in ports.list(MEMBER, ListQuery(filters={
        "device_id": ["vm-a"]}))] == [a["id"]]
    assert len(ports.list(MEMBER, ListQuery(filters={"device_id": ["vm-a", "vm-b"]}))) == 2
    default = core.security_groups.find(MEMBER, "default")
    assert len(ports.list(MEMBER, ListQuery(filters={"security_groups": [default.uuid]}))) == 2
    with pytest.raises(errors.InvalidInput):
        ports.list(MEMBER, ListQuery(filters={"fixed_ips": ["mac=1"]}))


def test_update_readdresses_and_regroups(core, net1):
    net, sub = net1
    port = core.network.ports.create(MEMBER, {"network_id": net, "fixed_ips": [
        {"ip_address": "10.30.0.3"}]})
    moved = core.network.ports.update(MEMBER, port["id"], {"fixed_ips": [
        {"ip_address": "10.30.0.4"}], "name": "renamed"})
    assert moved["fixed_ips"] == [{"subnet_id": sub, "ip_address": "10.30.0.4"}]
    assert (moved["name"], moved["revision_number"]) == ("renamed", 1)
    again = core.network.ports.create(MEMBER, {"network_id": net, "fixed_ips": [
        {"ip_address": "10.30.0.3"}]})  # free again
    with pytest.raises(IpAddressInUse):
        core.network.ports.update(MEMBER, port["id"], {"fixed_ips": [
            {"ip_address": "10.30.0.3"}]})
    web = core.security_groups.create(MEMBER, "web", "")
    assert core.network.ports.update(MEMBER, again["id"], {"security_groups": [web.uuid]})[
        "security_groups"] == [web.uuid]
    with pytest.raises(errors.Conflict, match="Port has security group associated"):
        core.network.ports.update(MEMBER, again["id"], {"port_security_enabled": False})
    bare = core.network.ports.update(MEMBER, again["id"], {"security_groups": [],
                                                           "port_security_enabled": False})
    assert (bare["security_groups"], bare["port_security_enabled"]) == ([], False)


def test_delete_gives_the_address_back(core, net1):
    net, _ = net1
    port = core.network.ports.create(MEMBER, {"network_id": net, "fixed_ips": [
        {"ip_address": "10.30.0.6"}]})
    with pytest.raises(PortNotFound):
        core.network.ports.delete(OTHER, port["id"])
    core.network.ports.delete(MEMBER, port["id"])
    with pytest.raises(PortNotFound):
        core.network.ports.get(MEMBER, port["id"])
    assert core.quotas.usage("p1")["ports"] == 0
    core.network.ports.create(MEMBER, {"network_id": net, "fixed_ips": [
        {"ip_address": "10.30.0.6"}]})


def test_the_port_quota(core, net1):
    net, _ = net1
    core.quotas.set_limits("p1", {"ports": 1})
    core.network.ports.create(MEMBER, {"network_id": net})
    with pytest.raises(errors.QuotaExceeded, match="ports"):
        core.network.ports.create(MEMBER, {"network_id": net})
