"""core/network/floating.py, the Network API's face (FloatingIpApi): floating
IPs only from an external network (ExternalNetworkRequired), associated with
a port's fixed address only behind a router with a gateway to that network
(ExternalGatewayForFloatingIPNotFound), one per fixed address, moved,
disassociated, deleted, with their EC2 IDs and the quota."""

from __future__ import annotations

import pytest

from core import errors
from core.idmap.ids import Kind
from core.network.errors import (
    ExternalGatewayForFloatingIPNotFound,
    ExternalNetworkRequired,
    FloatingIPNotFound,
    FloatingIPPortAlreadyAssociated,
    NetworkNotFound,
    PortNotFound,
)
from tests.support.core_services import ADMIN, MEMBER, OTHER


def public_id(core) -> str:
    return next(n["id"] for n in core.network.networks.list(MEMBER) if n["router:external"])


def private_port(core, ctx=MEMBER) -> dict:
    """A port on the shared default network, which the bootstrap routes to public."""
    private = next(n["id"] for n in core.network.networks.list(ctx) if n["is_default"])
    return core.network.ports.create(ctx, {"network_id": private})


def routed_port(core) -> dict:
    """A port on a network of the project's own with its own router to public."""
    net = core.network.networks.create(MEMBER, {"name": "net1"})
    sub = core.network.subnets.create(MEMBER, {"network_id": net["id"],
                                               "cidr": "10.30.0.0/24"})
    router = core.network.routers.create(MEMBER, {
        "name": "r1", "external_gateway_info": {"network_id": public_id(core)}})
    core.network.routers.add_interface(MEMBER, router["id"], {"subnet_id": sub["id"]})
    return core.network.ports.create(MEMBER, {"network_id": net["id"]})


def test_create_from_the_external_network(core):
    fip = core.network.floating_ips.create(MEMBER, {"floating_network_id": public_id(core)})
    assert (fip["project_id"], fip["floating_network_id"], fip["status"], fip["port_id"],
            fip["fixed_ip_address"], fip["router_id"]) == \
        ("p1", public_id(core), "DOWN", None, None, None)
    assert fip["floating_ip_address"].startswith("203.0.113.")
    assert core.ids.existing(Kind.ADDRESS, [fip["id"]])[fip["id"]].startswith("eipalloc-")
    assert core.network.floating_ips.get(MEMBER, fip["id"]) == fip
    assert core.quotas.usage("p1")["floating_ips"] == 1
    # the EC2 face sees the same address
    assert [a.allocation_id for a in core.floating_ips.list_addresses(MEMBER)] == [fip["id"]]
    with pytest.raises(FloatingIPNotFound):
        core.network.floating_ips.get(OTHER, fip["id"])


def test_only_from_an_external_network(core):
    net = core.network.networks.create(MEMBER, {"name": "net1"})
    core.network.subnets.create(MEMBER, {"network_id": net["id"], "cidr": "10.30.0.0/24"})
    with pytest.raises(ExternalNetworkRequired, match="is not a valid external network"):
        core.network.floating_ips.create(MEMBER, {"floating_network_id": net["id"]})
    with pytest.raises(NetworkNotFound):  # another project's network
        core.network.floating_ips.create(OTHER, {"floating_network_id": net["id"]})
    with pytest.raises(errors.InvalidInput):
        core.network.floating_ips.create(MEMBER, {})
    assert core.quotas.usage("p1").get("floating_ips", 0) == 0


def test_choosing_the_address_is_for_admins(core):
    # A free address: the router's gateway holds one of the small range's, at random.
    held = {ip["ip_address"] for r in core.network.routers.list(ADMIN)
            if r["external_gateway_info"]
            for ip in r["external_gateway_info"]["external_fixed_ips"]}
    free = next(f"203.0.113.{n}" for n in range(2, 7) if f"203.0.113.{n}" not in held)
    with pytest.raises(errors.Forbidden):
        core.network.floating_ips.create(MEMBER, {"floating_network_id": public_id(core),
                                                  "floating_ip_address": free})
    fip = core.network.floating_ips.create(ADMIN, {"floating_network_id": public_id(core),
                                                   "floating_ip_address": free,
                                                   "project_id": "p1"})
    assert (fip["floating_ip_address"], fip["project_id"]) == (free, "p1")


def test_association_needs_a_router_path(core):
    net = core.network.networks.create(MEMBER, {"name": "island"})
    core.network.subnets.create(MEMBER, {"network_id": net["id"], "cidr": "10.40.0.0/24"})
    port = core.network.ports.create(MEMBER, {"network_id": net["id"]})
    fip = core.network.floating_ips.create(MEMBER, {"floating_network_id": public_id(core)})
    with pytest.raises(ExternalGatewayForFloatingIPNotFound, match="is not reachable from"):
        core.network.floating_ips.update(MEMBER, fip["id"], {"port_id": port["id"]})
    with pytest.raises(ExternalGatewayForFloatingIPNotFound):
        core.network.floating_ips.create(MEMBER, {"floating_network_id": public_id(core),
                                                  "port_id": port["id"]})
    assert core.network.floating_ips.get(MEMBER, fip["id"])["port_id"] is None
    assert core.quotas.usage("p1")["floating_ips"] == 1  # the refused create took none


def test_associate_move_and_disassociate(core):
    port = routed_port(core)
    fixed = port["fixed_ips"][0]["ip_address"]
    fip = core.network.floating_ips.create(MEMBER, {"floating_network_id": public_id(core),
                                                    "port_id": port["id"]})
    assert (fip["port_id"], fip["fixed_ip_address"], fip["status"]) == \
        (port["id"], fixed, "ACTIVE")
    router = next(r for r in core.network.routers.list(MEMBER) if r["name"] == "r1")
    assert fip["router_id"] == router["id"]
    second = core.network.floating_ips.create(MEMBER, {"floating_network_id": public_id(core)})
    with pytest.raises(FloatingIPPortAlreadyAssociated):
        core.network.floating_ips.update(MEMBER, second["id"], {"port_id": port["id"]})
    other = private_port(core)  # on the default network, routed by the bootstrap's router
    moved = core.network.floating_ips.update(MEMBER, fip["id"], {"port_id": other["id"]})
    assert (moved["port_id"], moved["fixed_ip_address"]) == \
        (other["id"], other["fixed_ips"][0]["ip_address"])
    assert moved["router_id"] != router["id"]
    off = core.network.floating_ips.update(MEMBER, fip["id"], {"port_id": None})
    assert (off["port_id"], off["fixed_ip_address"], off["router_id"], off["status"]) == \
        (None, None, None, "DOWN")


def test_another_projects_port_is_not_found(core):
    theirs = private_port(core, OTHER)
    fip = core.network.floating_ips.create(MEMBER, {"floating_network_id": public_id(core)})
    with pytest.raises(PortNotFound):
        core.network.floating_ips.update(MEMBER, fip["id"], {"port_id": theirs["id"]})


def test_deleting_a_port_or_the_floating_ip(core):
    port = private_port(core)
    fip = core.network.floating_ips.create(MEMBER, {"floating_network_id": public_id(core),
                                                    "port_id": port["id"]})
    core.network.ports.delete(MEMBER, port["id"])
    assert core.network.floating_ips.get(MEMBER, fip["id"])["port_id"] is None  # still mine
    core.network.floating_ips.delete(MEMBER, fip["id"])
    with pytest.raises(FloatingIPNotFound):
        core.network.floating_ips.get(MEMBER, fip["id"])
    assert core.quotas.usage("p1")["floating_ips"] == 0
    assert core.ids.existing(Kind.ADDRESS, [fip["id"]]) == {}
    again = core.network.floating_ips.create(ADMIN, {
        "floating_network_id": public_id(core), "project_id": "p1",
        "floating_ip_address": fip["floating_ip_address"]})  # the address is free again
    assert again["floating_ip_address"] == fip["floating_ip_address"]


def test_the_floating_ip_quota(core):
    core.quotas.set_limits("p1", {"floating_ips": 1})
    core.network.floating_ips.create(MEMBER, {"floating_network_id": public_id(core)})
    with pytest.raises(errors.QuotaExceeded, match="floating_ips"):
        core.network.floating_ips.create(MEMBER, {"floating_network_id": public_id(core)})
