"""The real `openstack` CLI against Neutron's security groups and rules: the
lazily made ``default`` group, new groups with their two egress rules, rules
by protocol name and number, remote groups, and the conflicts. In a project
of the module's own: a network with a subnet in ``demo`` would be where every
other test's server there boots."""

from __future__ import annotations

import openstack.exceptions
import pytest

from tests.conftest import unique
from tests.support.project_cloud import ProjectCli, ProjectCloud, project_cloud

pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.fixture(scope="module")
def tenant(server, admin_session, tmp_path_factory) -> ProjectCloud:
    return project_cloud(server, admin_session, tmp_path_factory.mktemp("cloud"), "clisg")


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
def web(osc):
    return osc.json("security", "group", "create", unique("web"))


def test_default_group_has_neutrons_four_rules(osc):
    default = osc.json("security", "group", "show", "default")
    assert default["description"] == "Default security group"
    rules = osc.json("security", "group", "rule", "list", default["id"], "--long")
    shape = sorted((r["Direction"], r["Ethertype"], r["Remote Security Group"] is not None)
                   for r in rules)
    assert shape == [("egress", "IPv4", False), ("egress", "IPv6", False),
                     ("ingress", "IPv4", True), ("ingress", "IPv6", True)]


def test_new_group_gets_two_egress_rules(web):
    assert web["description"] == web["name"] and web["stateful"] is True
    rules = web["rules"]
    assert sorted((r["direction"], r["ethertype"]) for r in rules) == [
        ("egress", "IPv4"), ("egress", "IPv6")]


def test_group_list_and_show(osc, web):
    rows = {r["Name"]: r for r in osc.json("security", "group", "list")}
    assert rows[web["name"]]["ID"] == web["id"] and "default" in rows
    assert osc.json("security", "group", "show", web["name"])["id"] == web["id"]


def test_rule_create_tcp_22(osc, conn, web):
    rule = osc.json("security", "group", "rule", "create", "--protocol", "tcp",
                    "--dst-port", "22", "--remote-ip", "0.0.0.0/0", web["name"])
    assert (rule["direction"], rule["ether_type"], rule["protocol"]) == (
        "ingress", "IPv4", "tcp")
    assert (rule["port_range_min"], rule["port_range_max"]) == (22, 22)
    assert rule["remote_ip_prefix"] == "0.0.0.0/0"
    assert rule["security_group_id"] == web["id"]
    dup = osc.run("security", "group", "rule", "create", "--protocol", "tcp",
                  "--dst-port", "22", "--remote-ip", "0.0.0.0/0", web["id"], check=False)
    assert dup.returncode != 0 and "409" in dup.stderr
    rows = osc.json("security", "group", "rule", "list", "--ingress", web["id"])
    assert [r["ID"] for r in rows] == [rule["id"]]
    osc.run("security", "group", "rule", "delete", rule["id"])
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.network.get_security_group_rule(rule["id"])


def test_rules_by_number_range_icmp_and_remote_group(osc, conn, web):
    udp = osc.json("security", "group", "rule", "create", "--protocol", "17",
                   "--dst-port", "1000:2000", web["id"])
    assert (udp["port_range_min"], udp["port_range_max"]) == (1000, 2000)
    icmp = osc.json("security", "group", "rule", "create", "--protocol", "icmp",
                    "--icmp-type", "8", "--icmp-code", "0", web["id"])
    assert (icmp["protocol"], icmp["port_range_min"], icmp["port_range_max"]) == (
        "icmp", 8, 0)
    peer = osc.json("security", "group", "rule", "create", "--remote-group",
                    "default", "--egress", "--ethertype", "IPv6", web["id"])
    default = conn.network.find_security_group("default", ignore_missing=False)
    assert peer["remote_group_id"] == default.id and peer["direction"] == "egress"
    bad = osc.run("security", "group", "rule", "create", "--protocol", "tcp",
                  "--ethertype", "IPv6", "--remote-ip", "10.0.0.0/8", web["id"], check=False)
    assert bad.returncode != 0 and "400" in bad.stderr
    for rule in (udp, icmp, peer):
        conn.network.delete_security_group_rule(rule["id"], ignore_missing=False)


def test_group_set_and_delete(osc, conn):
    name = unique("sgset")
    conn.network.create_security_group(name=name, description="first")
    osc.run("security", "group", "set", "--name", f"{name}-b", "--description",
            "second", name)
    renamed = conn.network.find_security_group(f"{name}-b", ignore_missing=False)
    assert renamed.description == "second"
    osc.run("security", "group", "delete", f"{name}-b")
    assert conn.network.find_security_group(renamed.id) is None


def test_default_group_and_groups_in_use_are_not_deleted(osc, conn):
    refused = osc.run("security", "group", "delete", "default", check=False)
    assert refused.returncode != 0 and "409" in refused.stderr
    group = conn.network.create_security_group(name=unique("inuse"))
    net = conn.network.create_network(name=unique("sgnet"))
    conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.41.0.0/24",
                               name=unique("sgsub"))
    port = conn.network.create_port(network_id=net.id, security_group_ids=[group.id],
                                    name=unique("sgport"))
    busy = osc.run("security", "group", "delete", group.id, check=False)
    assert busy.returncode != 0 and "409" in busy.stderr
    conn.network.delete_port(port)
    conn.network.delete_security_group(group, ignore_missing=False)  # free again
    conn.network.delete_network(net)
