"""The real `openstack` CLI (OSC 10.5) against the Network API: networks,
subnets, ports, tags, quotas and extensions, as the issue's checks name them.
The module works in a project of its own: a network with a subnet in ``demo``
would be where every other test's server there boots."""

from __future__ import annotations

import openstack.exceptions
import pytest

from tests.conftest import unique
from tests.support.project_cloud import ProjectCli, ProjectCloud, project_cloud

pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.fixture(scope="module")
def tenant(server, admin_session, tmp_path_factory) -> ProjectCloud:
    return project_cloud(server, admin_session, tmp_path_factory.mktemp("cloud"), "clinet")


@pytest.fixture(scope="module")
def osc(cli, tenant) -> ProjectCli:
    return tenant.osc(cli)


@pytest.fixture(scope="module")
def conn(tenant):
    """openstacksdk in the same project, for setup and for reading state back:
    one CLI start costs seconds, and only the command under test needs one."""
    c = tenant.connection()
    yield c
    c.close()


@pytest.fixture(scope="module")
def net1(osc, conn):
    name = unique("net1")
    created = osc.json("network", "create", name)
    yield created
    conn.network.delete_network(created["id"])  # teardown: no CLI start for it


@pytest.fixture(scope="module")
def sub1(osc, net1):
    return osc.json("subnet", "create", "--network", net1["name"],
                    "--subnet-range", "10.1.0.0/24", unique("sub1"))


# ---------------------------------------------------------------- networks

def test_network_create_shows_neutrons_fields(net1, tenant):
    assert net1["admin_state_up"] is True
    assert net1["status"] == "ACTIVE"
    assert net1["router:external"] is False and net1["shared"] is False
    assert net1["project_id"] == tenant.project_id
    assert net1["subnets"] == [] and net1["mtu"]
    assert net1["created_at"].endswith("Z") and net1["revision_number"] >= 0


def test_network_list_and_show_by_name_and_id(osc, net1):
    listed = {r["Name"]: r for r in osc.json("network", "list")}
    assert listed[net1["name"]]["ID"] == net1["id"]
    assert "public" in listed  # the bootstrap's external network
    assert osc.json("network", "show", net1["name"])["id"] == net1["id"]
    assert osc.json("network", "show", net1["id"])["name"] == net1["name"]


def test_network_list_long_and_external_filter(osc, net1):
    external = osc.json("network", "list", "--external")
    assert "public" in {r["Name"] for r in external}
    assert net1["name"] not in {r["Name"] for r in external}
    long = {r["Name"]: r for r in osc.json("network", "list", "--long")}
    assert long[net1["name"]]["State"] in ("UP", True)


def test_network_set_and_unset(osc, conn):
    name = unique("nset")
    made = conn.network.create_network(name=name)
    new = unique("renamed")
    osc.run("network", "set", "--name", new, "--description", "about", "--mtu",
            "1400", name)
    shown = conn.network.get_network(made.id)
    assert (shown.name, shown.description, shown.mtu) == (new, "about", 1400)
    assert shown.revision_number >= 1
    osc.run("network", "set", "--tag", "blue", "--tag", "green", new)
    assert sorted(conn.network.get_network(made.id).tags) == ["blue", "green"]
    tagged = osc.json("network", "list", "--tags", "blue,green")
    assert [r["Name"] for r in tagged] == [new]
    assert new not in {r["Name"] for r in osc.json("network", "list",
                                                   "--not-tags", "blue")}
    osc.run("network", "unset", "--tag", "blue", new)
    assert conn.network.get_network(made.id).tags == ["green"]
    osc.run("network", "delete", new)
    # What OSC's `network show NAME` asks (by ID, then by name) finds nothing.
    assert conn.network.find_network(new) is None
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.network.get_network(made.id)


def test_network_show_of_a_missing_network_says_so(osc):
    gone = osc.run("network", "show", unique("missing"), check=False)
    assert gone.returncode != 0 and "No Network found" in gone.stderr


def test_network_create_with_tags(osc, conn):
    name = unique("ntag")
    made = osc.json("network", "create", "--tag", "x", name)
    assert made["name"] == name
    assert conn.network.get_network(made["id"]).tags == ["x"]
    conn.network.delete_network(made["id"], ignore_missing=False)


# ---------------------------------------------------------------- subnets

def test_subnet_create_gets_neutrons_defaults(sub1, net1, conn):
    assert sub1["cidr"] == "10.1.0.0/24" and sub1["ip_version"] == 4
    assert sub1["gateway_ip"] == "10.1.0.1"
    assert sub1["allocation_pools"] == [{"start": "10.1.0.2", "end": "10.1.0.254"}]
    assert sub1["enable_dhcp"] is True and sub1["network_id"] == net1["id"]
    assert conn.network.get_network(net1["id"]).subnet_ids == [sub1["id"]]


def test_subnet_list_by_network(osc, sub1, net1):
    rows = osc.json("subnet", "list", "--network", net1["id"])
    assert [(r["ID"], r["Subnet"]) for r in rows] == [(sub1["id"], "10.1.0.0/24")]


def test_subnet_options(osc, conn, net1):
    name = unique("subopt")
    sub = osc.json("subnet", "create", "--network", net1["id"], "--subnet-range",
                   "10.9.0.0/24", "--gateway", "none", "--no-dhcp",
                   "--allocation-pool", "start=10.9.0.10,end=10.9.0.20",
                   "--dns-nameserver", "192.0.2.53",
                   "--host-route", "destination=10.10.0.0/16,gateway=10.9.0.5", name)
    assert sub["gateway_ip"] is None and sub["enable_dhcp"] is False
    assert sub["allocation_pools"] == [{"start": "10.9.0.10", "end": "10.9.0.20"}]
    assert sub["dns_nameservers"] == ["192.0.2.53"]
    assert sub["host_routes"] == [{"destination": "10.10.0.0/16", "nexthop": "10.9.0.5"}]
    osc.run("subnet", "set", "--name", f"{name}-b", name)
    osc.run("subnet", "delete", f"{name}-b")  # found by its new name
    assert conn.network.find_subnet(sub["id"]) is None


def test_overlapping_subnet_is_refused(osc, sub1, net1):
    refused = osc.run("subnet", "create", "--network", net1["id"], "--subnet-range",
                      "10.1.0.128/25", unique("overlap"), check=False)
    assert refused.returncode != 0
    assert "overlaps with another subnet" in refused.stderr


# ---------------------------------------------------------------- ports

def test_port_create_and_list(osc, conn, net1, sub1):
    name = unique("p1")
    port = osc.json("port", "create", "--network", net1["name"], name)
    assert port["network_id"] == net1["id"]
    assert port["mac_address"].startswith("fa:16:3e:")
    [fixed] = port["fixed_ips"]
    assert fixed["subnet_id"] == sub1["id"] and fixed["ip_address"].startswith("10.1.0.")
    rows = {r["Name"]: r for r in osc.json("port", "list", "--network", net1["id"])}
    assert rows[name]["MAC Address"] == port["mac_address"]
    by_ip = osc.json("port", "list", "--fixed-ip", f"ip-address={fixed['ip_address']}")
    assert [r["ID"] for r in by_ip] == [port["id"]]
    osc.run("port", "set", "--name", f"{name}-x", "--description", "d", port["id"])
    assert osc.json("port", "show", f"{name}-x")["description"] == "d"
    osc.run("port", "delete", port["id"])
    assert conn.network.find_port(port["id"]) is None


def test_port_with_a_fixed_address_and_conflicts(osc, conn, net1, sub1):
    a = osc.json("port", "create", "--network", net1["id"], "--fixed-ip",
                 f"subnet={sub1['id']},ip-address=10.1.0.50", unique("pfix"))
    assert a["fixed_ips"][0]["ip_address"] == "10.1.0.50"
    taken = osc.run("port", "create", "--network", net1["id"], "--fixed-ip",
                    f"subnet={sub1['id']},ip-address=10.1.0.50", unique("pdup"), check=False)
    assert taken.returncode != 0 and "409" in taken.stderr
    outside = osc.run("port", "create", "--network", net1["id"], "--fixed-ip",
                      f"subnet={sub1['id']},ip-address=10.2.0.5", unique("pout"), check=False)
    assert outside.returncode != 0 and "400" in outside.stderr
    with pytest.raises(openstack.exceptions.ConflictException):  # it has a port
        conn.network.delete_network(net1["id"], ignore_missing=False)
    conn.network.delete_port(a["id"], ignore_missing=False)


def test_port_with_default_security_group(osc, conn, net1, sub1):
    port = osc.json("port", "create", "--network", net1["id"], "--security-group",
                    "default", unique("psg"))
    default = conn.network.find_security_group("default", ignore_missing=False)
    assert port["security_group_ids"] == [default.id]
    conn.network.delete_port(port["id"], ignore_missing=False)


# ---------------------------------------------------------------- quotas, extensions

def test_quota_show_includes_network_quotas(osc):
    rows = {r["Resource"]: r["Limit"] for r in osc.json("quota", "show")}
    for resource in ("networks", "subnets", "ports", "routers", "floating_ips",
                     "security_groups", "security_group_rules"):
        assert isinstance(rows.get(resource), int), resource


def test_quota_show_usage(osc, net1):
    rows = {r["Resource"]: r for r in osc.json("quota", "show", "--usage")}
    assert rows["networks"]["In Use"] >= 1


def test_quota_set_by_admin(cli, admin_client):
    project = admin_client.identity.create_project(name=unique("nq"), domain_id="default")
    try:
        cli.run("admin", "quota", "set", "--networks", "3", "--ports", "7", project.id)
        quota = admin_client.network.get_quota(project.id)
        assert (quota.networks, quota.ports) == (3, 7)
    finally:
        admin_client.identity.delete_project(project)


def test_extension_list_network(osc):
    aliases = {r["Alias"] for r in osc.json("extension", "list", "--network")}
    assert {"security-group", "router", "external-net", "quotas", "standard-attr-tag"} <= \
        aliases
    assert "external-gateway-multihoming" not in aliases
    shown = osc.json("extension", "show", "router")
    assert shown["alias"] == "router"
