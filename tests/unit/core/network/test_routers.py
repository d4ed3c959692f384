"""core/network/routers.py: a router's external gateway, its interfaces (a
subnet's gateway address, or a port given), refusals (a subnet twice,
overlapping subnets, a network that is not external), static routes through
its subnets, and a router with interfaces kept (RouterInUse)."""

from __future__ import annotations

import pytest

from core import errors
from core.network.errors import (
    BadRequest,
    RouterInterfaceNotFoundForSubnet,
    RouterInUse,
    RouterNotFound,
)
from core.network.query import ListQuery
from tests.support.core_services import ADMIN, MEMBER, OTHER


def public_id(core) -> str:
    return next(n["id"] for n in core.network.networks.list(MEMBER) if n["router:external"])


def subnet(core, cidr: str, name: str = "net") -> dict:
    net = core.network.networks.create(MEMBER, {"name": name})
    return core.network.subnets.create(MEMBER, {"network_id": net["id"], "cidr": cidr})


def test_create_with_a_gateway(core):
    router = core.network.routers.create(MEMBER, {
        "name": "r1", "external_gateway_info": {"network_id": public_id(core)}})
    info = router["external_gateway_info"]
    assert (router["project_id"], router["status"], info["network_id"], info["enable_snat"]) \
        == ("p1", "ACTIVE", public_id(core), True)
    (gw,) = info["external_fixed_ips"]
    assert gw["ip_address"].startswith("203.0.113.")
    assert core.network.routers.get(MEMBER, router["id"]) == router
    cleared = core.network.routers.update(MEMBER, router["id"], {"external_gateway_info": {}})
    assert cleared["external_gateway_info"] is None
    assert core.quotas.usage("p1")["routers"] == 1


def test_gateway_refusals(core):
    router = core.network.routers.create(MEMBER, {"name": "r1"})
    sub = subnet(core, "10.30.0.0/24")
    with pytest.raises(BadRequest, match="is not a valid external network"):
        core.network.routers.update(MEMBER, router["id"], {
            "external_gateway_info": {"network_id": sub["network_id"]}})
    with pytest.raises(errors.Forbidden):
        core.network.routers.update(MEMBER, router["id"], {"external_gateway_info": {
            "network_id": public_id(core), "enable_snat": False}})
    with pytest.raises(errors.NotFound):
        core.network.routers.update(MEMBER, router["id"], {"external_gateway_info": {
            "network_id": "no-such-network"}})


def test_interfaces(core):
    router = core.network.routers.create(MEMBER, {"name": "r1"})
    sub = subnet(core, "10.30.0.0/24")
    added = core.network.routers.add_interface(MEMBER, router["id"], {"subnet_id": sub["id"]})
    assert (added["subnet_id"], added["network_id"], added["subnet_ids"]) == \
        (sub["id"], sub["network_id"], [sub["id"]])
    port = core.network.ports.get(MEMBER, added["port_id"])
    assert (port["device_id"], port["device_owner"], port["fixed_ips"]) == \
        (router["id"], "network:router_interface",
         [{"subnet_id": sub["id"], "ip_address": "10.30.0.1"}])
    with pytest.raises(BadRequest, match="already has a port on subnet"):
        core.network.routers.add_interface(MEMBER, router["id"], {"subnet_id": sub["id"]})
    overlapping = subnet(core, "10.30.0.0/25", "other")
    with pytest.raises(BadRequest, match="overlaps with cidr"):
        core.network.routers.add_interface(MEMBER, router["id"],
                                           {"subnet_id": overlapping["id"]})
    with pytest.raises(BadRequest, match="Either subnet_id or port_id"):
        core.network.routers.add_interface(MEMBER, router["id"], {})
    with pytest.raises(errors.Conflict):  # the port API leaves a router's port alone
        core.network.ports.delete(MEMBER, port["id"])
    listed = core.network.ports.list(MEMBER, ListQuery(filters={"device_id": [router["id"]]}))
    assert [p["id"] for p in listed] == [port["id"]]


def test_a_given_port_as_interface(core):
    router = core.network.routers.create(MEMBER, {"name": "r1"})
    sub = subnet(core, "10.30.0.0/24")
    port = core.network.ports.create(MEMBER, {"network_id": sub["network_id"]})
    added = core.network.routers.add_interface(MEMBER, router["id"], {"port_id": port["id"]})
    assert added["port_id"] == port["id"] and added["subnet_ids"] == [sub["id"]]
    assert core.network.ports.get(MEMBER, port["id"])["device_owner"] == \
        "network:router_interface"
    removed = core.network.routers.remove_interface(MEMBER, router["id"],
                                                    {"port_id": port["id"]})
    assert removed["port_id"] == port["id"]


def test_a_router_with_interfaces_is_kept(core):
    router = core.network.routers.create(MEMBER, {"name": "r1"})
    sub = subnet(core, "10.30.0.0/24")
    core.network.routers.add_interface(MEMBER, router["id"], {"subnet_id": sub["id"]})
    with pytest.raises(RouterInUse, match="still has ports"):
        core.network.routers.delete(MEMBER, router["id"])
    core.network.routers.remove_interface(MEMBER, router["id"], {"subnet_id": sub["id"]})
    with pytest.raises(RouterInterfaceNotFoundForSubnet):
        core.network.routers.remove_interface(MEMBER, router["id"], {"subnet_id": sub["id"]})
    core.network.routers.delete(MEMBER, router["id"])
    with pytest.raises(RouterNotFound):
        core.network.routers.get(MEMBER, router["id"])
    assert core.quotas.usage("p1")["routers"] == 0


def test_static_routes_go_through_its_subnets(core):
    router = core.network.routers.create(MEMBER, {"name": "r1"})
    sub = subnet(core, "10.30.0.0/24")
    core.network.routers.add_interface(MEMBER, router["id"], {"subnet_id": sub["id"]})
    route = {"destination": "192.168.0.0/24", "nexthop": "10.30.0.9"}
    with pytest.raises(errors.InvalidInput, match="nexthop is not connected"):
        core.network.routers.add_extraroutes(MEMBER, router["id"], [
            {"destination": "192.168.0.0/24", "nexthop": "10.99.0.9"}])
    assert core.network.routers.add_extraroutes(MEMBER, router["id"], [route])["routes"] == \
        [route]
    assert core.network.routers.add_extraroutes(MEMBER, router["id"], [route])["routes"] == \
        [route]  # not twice
    assert core.network.routers.remove_extraroutes(MEMBER, router["id"], [route])[
        "routes"] == []
    assert core.network.routers.update(MEMBER, router["id"], {"routes": [route]})[
        "routes"] == [route]


def test_another_projects_router_is_not_found(core):
    router = core.network.routers.create(MEMBER, {"name": "r1"})
    with pytest.raises(RouterNotFound):
        core.network.routers.get(OTHER, router["id"])
    with pytest.raises(RouterNotFound):
        core.network.routers.add_interface(OTHER, router["id"], {"subnet_id": "x"})
    assert core.network.routers.get(ADMIN, router["id"])["name"] == "r1"
    assert [r["name"] for r in core.network.routers.list(MEMBER)] == ["r1"]


def test_the_router_quota(core):
    core.quotas.set_limits("p1", {"routers": 1})
    core.network.routers.create(MEMBER, {"name": "r1"})
    with pytest.raises(errors.QuotaExceeded, match="routers"):
        core.network.routers.create(MEMBER, {"name": "r2"})
