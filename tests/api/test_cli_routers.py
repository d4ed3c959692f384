"""The real `openstack` CLI against routers and floating IPs: a router from a
project network to the bootstrap's external network ``public``, interfaces,
static routes, and floating IPs allocated from ``public`` and associated with
a port behind the router."""

from __future__ import annotations

import pytest

from tests.conftest import unique

# The tests build one topology in turn (gateway, interface, routes, teardown).
pytestmark = [pytest.mark.usefixtures("no_server_errors"), pytest.mark.xdist_group("cli-routers")]


@pytest.fixture(scope="module")
def topology(cli):
    """net1 with sub1 (10.31.0.0/24), and router r1 not yet connected."""
    net = cli.json("demo", "network", "create", unique("rnet"))
    sub = cli.json("demo", "subnet", "create", "--network", net["id"], "--subnet-range",
                   "10.31.0.0/24", unique("rsub"))
    router = cli.json("demo", "router", "create", unique("r1"))
    return {"net": net, "sub": sub, "router": router}


def test_router_create_shows_neutrons_fields(topology):
    router = topology["router"]
    assert router["status"] == "ACTIVE" and router["admin_state_up"] is True
    assert router["external_gateway_info"] is None
    assert router["routes"] == []


def test_router_gateway_interface_and_show(cli, topology):
    rid, sub = topology["router"]["id"], topology["sub"]
    cli.run("demo", "router", "set", "--external-gateway", "public", rid)
    public = cli.json("demo", "network", "show", "public")
    shown = cli.json("demo", "router", "show", rid)
    gateway = shown["external_gateway_info"]
    assert gateway["network_id"] == public["id"]
    assert gateway["enable_snat"] is True and gateway["external_fixed_ips"]
    cli.run("demo", "router", "add", "subnet", rid, sub["name"])
    shown = cli.json("demo", "router", "show", rid)
    assert [i["subnet_id"] for i in shown["interfaces_info"]] == [sub["id"]]
    assert shown["interfaces_info"][0]["ip_address"] == "10.31.0.1"
    ports = cli.json("demo", "port", "list", "--router", rid, "--long")
    owners = {p["Device Owner"] for p in ports}
    assert "network:router_interface" in owners
    again = cli.run("demo", "router", "add", "subnet", rid, sub["id"], check=False)
    assert again.returncode != 0 and "400" in again.stderr
    busy = cli.run("demo", "router", "delete", rid, check=False)
    assert busy.returncode != 0 and "409" in busy.stderr


def test_router_static_routes(cli, topology):
    rid = topology["router"]["id"]
    cli.run("demo", "router", "add", "route", "--route",
            "destination=10.99.0.0/24,gateway=10.31.0.7", rid)
    assert cli.json("demo", "router", "show", rid)["routes"] == [
        {"destination": "10.99.0.0/24", "nexthop": "10.31.0.7"}]
    cli.run("demo", "router", "remove", "route", "--route",
            "destination=10.99.0.0/24,gateway=10.31.0.7", rid)
    assert cli.json("demo", "router", "show", rid)["routes"] == []


def test_floating_ip_create_associate_and_delete(cli, topology):
    fip = cli.json("demo", "floating", "ip", "create", "public")
    public = cli.json("demo", "network", "show", "public")
    assert fip["floating_network_id"] == public["id"]
    assert fip["port_id"] is None and fip["status"] == "DOWN"
    port = cli.json("demo", "port", "create", "--network", topology["net"]["id"],
                    unique("fport"))
    cli.run("demo", "floating", "ip", "set", "--port", port["id"],
            fip["floating_ip_address"])
    shown = cli.json("demo", "floating", "ip", "show", fip["floating_ip_address"])
    assert shown["port_id"] == port["id"] and shown["status"] == "ACTIVE"
    assert shown["fixed_ip_address"] == port["fixed_ips"][0]["ip_address"]
    assert shown["router_id"] == topology["router"]["id"]
    listed = cli.json("demo", "floating", "ip", "list", "--port", port["id"])
    assert [r["ID"] for r in listed] == [fip["id"]]
    cli.run("demo", "floating", "ip", "unset", "--port", fip["id"])
    assert cli.json("demo", "floating", "ip", "show", fip["id"])["port_id"] is None
    cli.run("demo", "floating", "ip", "delete", fip["floating_ip_address"])
    cli.run("demo", "port", "delete", port["id"])


def test_floating_ip_from_a_project_network_is_refused(cli, topology):
    refused = cli.run("demo", "floating", "ip", "create", topology["net"]["id"], check=False)
    assert refused.returncode != 0 and "400" in refused.stderr


def test_floating_ip_without_a_router_path_is_refused(cli):
    net = cli.json("demo", "network", "create", unique("island"))
    cli.run("demo", "subnet", "create", "--network", net["id"], "--subnet-range",
            "10.32.0.0/24", unique("island"))
    port = cli.json("demo", "port", "create", "--network", net["id"], unique("iport"))
    fip = cli.json("demo", "floating", "ip", "create", "public")
    refused = cli.run("demo", "floating", "ip", "set", "--port", port["id"], fip["id"],
                      check=False)
    assert refused.returncode != 0 and "404" in refused.stderr
    cli.run("demo", "floating", "ip", "delete", fip["id"])
    cli.run("demo", "port", "delete", port["id"])
    cli.run("demo", "network", "delete", net["id"])


def test_router_teardown(cli, topology):
    rid, sub = topology["router"]["id"], topology["sub"]
    cli.run("demo", "router", "remove", "subnet", rid, sub["id"])
    cli.run("demo", "router", "unset", "--external-gateway", rid)
    assert cli.json("demo", "router", "show", rid)["external_gateway_info"] is None
    cli.run("demo", "router", "delete", rid)
    cli.run("demo", "network", "delete", topology["net"]["id"])
    assert topology["router"]["name"] not in {r["Name"] for r in
                                              cli.json("demo", "router", "list")}
