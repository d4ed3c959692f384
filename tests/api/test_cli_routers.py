"""The real `openstack` CLI against routers and floating IPs: a router from a
project network to the bootstrap's external network ``public``, interfaces,
static routes, and floating IPs allocated from ``public`` and associated with
a port behind the router.

The module works in a project of its own (its networks would otherwise be
where ``demo``'s servers boot), and every test builds the topology it needs:
none depends on another having run first, or on the same worker."""

from __future__ import annotations

import pytest

from tests.conftest import unique
from tests.support.project_cloud import ProjectCli, project_cloud

pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.fixture(scope="module")
def tenant(server, admin_session, tmp_path_factory):
    return project_cloud(server, admin_session, tmp_path_factory.mktemp("cloud"), "routers")


@pytest.fixture(scope="module")
def osc(cli, tenant) -> ProjectCli:
    return tenant.osc(cli)


@pytest.fixture(scope="module")
def conn(tenant):
    c = tenant.connection()
    yield c
    c.close()


@pytest.fixture
def topology(conn):
    """A fresh net with a subnet (10.31.0.0/24) and a router, not yet
    connected, all made with openstacksdk (what is under test here is the CLI's
    router and floating IP commands; ``router create`` has a test of its own);
    all taken down afterwards."""
    net = conn.network.create_network(name=unique("rnet"))
    sub = conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.31.0.0/24",
                                     name=unique("rsub"))
    router = conn.network.create_router(name=unique("r1"))
    yield {"net": {"id": net.id, "name": net.name}, "sub": {"id": sub.id, "name": sub.name},
           "router": {"id": router.id, "name": router.name}}
    _take_down(conn, router.id, sub.id, net.id)


def _take_down(conn, router_id: str, subnet_id: str, network_id: str) -> None:
    if conn.network.find_router(router_id) is not None:
        try:
            conn.network.remove_interface_from_router(router_id, subnet_id=subnet_id)
        except Exception:  # not attached (any more)
            pass
        conn.network.delete_router(router_id)
    conn.network.delete_network(network_id, ignore_missing=True)


@pytest.fixture
def connected(conn, topology):
    """The topology with the router's gateway on ``public`` and an interface on
    the subnet."""
    rid = topology["router"]["id"]
    public = conn.network.find_network("public")
    conn.network.update_router(rid, external_gateway_info={"network_id": public.id})
    conn.network.add_interface_to_router(rid, subnet_id=topology["sub"]["id"])
    return topology


@pytest.fixture(scope="module")
def public_id(conn) -> str:
    return conn.network.find_network("public").id


def test_router_create_shows_neutrons_fields(osc, conn):
    router = osc.json("router", "create", unique("r1"))
    try:
        assert router["status"] == "ACTIVE" and router["admin_state_up"] is True
        assert router["external_gateway_info"] is None
        assert router["routes"] == []
    finally:
        conn.network.delete_router(router["id"])


def test_router_gateway_interface_and_show(osc, conn, topology, public_id):
    rid, sub = topology["router"]["id"], topology["sub"]
    osc.run("router", "set", "--external-gateway", "public", rid)
    shown = osc.json("router", "show", rid)
    gateway = shown["external_gateway_info"]
    assert gateway["network_id"] == public_id
    assert gateway["enable_snat"] is True and gateway["external_fixed_ips"]
    osc.run("router", "add", "subnet", rid, sub["name"])
    shown = conn.network.get_router(rid)
    interfaces = [p for p in conn.network.ports(device_id=rid)
                  if p.device_owner == "network:router_interface"]
    assert [ip["subnet_id"] for p in interfaces for ip in p.fixed_ips] == [sub["id"]]
    assert interfaces[0].fixed_ips[0]["ip_address"] == "10.31.0.1"
    assert shown.external_gateway_info["network_id"] == public_id  # kept
    again = osc.run("router", "add", "subnet", rid, sub["id"], check=False)
    assert again.returncode != 0 and "400" in again.stderr
    busy = osc.run("router", "delete", rid, check=False)
    assert busy.returncode != 0 and "409" in busy.stderr


def test_router_static_routes(osc, conn, connected):
    rid = connected["router"]["id"]
    osc.run("router", "add", "route", "--route",
            "destination=10.99.0.0/24,gateway=10.31.0.7", rid)
    assert conn.network.get_router(rid).routes == [
        {"destination": "10.99.0.0/24", "nexthop": "10.31.0.7"}]
    osc.run("router", "remove", "route", "--route",
            "destination=10.99.0.0/24,gateway=10.31.0.7", rid)
    assert conn.network.get_router(rid).routes == []


def test_floating_ip_create_associate_and_delete(osc, conn, connected, public_id):
    fip = osc.json("floating", "ip", "create", "public")
    assert fip["floating_network_id"] == public_id
    assert fip["port_id"] is None and fip["status"] == "DOWN"
    port = conn.network.create_port(network_id=connected["net"]["id"], name=unique("fport"))
    osc.run("floating", "ip", "set", "--port", port.id, fip["floating_ip_address"])
    shown = osc.json("floating", "ip", "show", fip["floating_ip_address"])
    assert shown["port_id"] == port.id and shown["status"] == "ACTIVE"
    assert shown["fixed_ip_address"] == port.fixed_ips[0]["ip_address"]
    assert shown["router_id"] == connected["router"]["id"]
    listed = osc.json("floating", "ip", "list", "--port", port.id)
    assert [r["ID"] for r in listed] == [fip["id"]]
    osc.run("floating", "ip", "unset", "--port", fip["id"])
    assert conn.network.get_ip(fip["id"]).port_id is None
    osc.run("floating", "ip", "delete", fip["floating_ip_address"])
    assert conn.network.find_ip(fip["id"]) is None
    conn.network.delete_port(port)


def test_floating_ip_from_a_project_network_is_refused(osc, topology):
    refused = osc.run("floating", "ip", "create", topology["net"]["id"], check=False)
    assert refused.returncode != 0 and "400" in refused.stderr


def test_floating_ip_without_a_router_path_is_refused(osc, conn, public_id):
    net = conn.network.create_network(name=unique("island"))
    conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.32.0.0/24",
                               name=unique("island"))
    port = conn.network.create_port(network_id=net.id, name=unique("iport"))
    fip = conn.network.create_ip(floating_network_id=public_id)
    refused = osc.run("floating", "ip", "set", "--port", port.id, fip.id, check=False)
    assert refused.returncode != 0 and "404" in refused.stderr
    assert conn.network.get_ip(fip.id).port_id is None
    conn.network.delete_ip(fip)
    conn.network.delete_port(port)
    conn.network.delete_network(net)


def test_router_teardown(osc, conn, connected):
    rid, sub = connected["router"]["id"], connected["sub"]
    osc.run("router", "remove", "subnet", rid, sub["id"])
    osc.run("router", "unset", "--external-gateway", rid)
    assert conn.network.get_router(rid).external_gateway_info is None
    osc.run("router", "delete", rid)
    conn.network.delete_network(connected["net"]["id"])
    # gone: read with the sdk (no second CLI start for `router list`)
    assert connected["router"]["name"] not in {r.name for r in conn.network.routers()}
