"""The real `openstack` CLI against Neutron's security groups and rules: the
lazily made ``default`` group, new groups with their two egress rules, rules
by protocol name and number, remote groups, and the conflicts. In a project
of the module's own: a network with a subnet in ``demo`` would be where every
other test's server there boots."""

from __future__ import annotations

import pytest

from tests.conftest import unique
from tests.support.project_cloud import ProjectCli, project_cloud

pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.fixture(scope="module")
def osc(cli, server, admin_session, tmp_path_factory) -> ProjectCli:
    tenant = project_cloud(server, admin_session, tmp_path_factory.mktemp("cloud"), "clisg")
    return tenant.osc(cli)


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


def test_rule_create_tcp_22(osc, web):
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
    gone = osc.run("security", "group", "rule", "show", rule["id"], check=False)
    assert gone.returncode != 0


def test_rules_by_number_range_icmp_and_remote_group(osc, web):
    udp = osc.json("security", "group", "rule", "create", "--protocol", "17",
                   "--dst-port", "1000:2000", web["id"])
    assert (udp["port_range_min"], udp["port_range_max"]) == (1000, 2000)
    icmp = osc.json("security", "group", "rule", "create", "--protocol", "icmp",
                    "--icmp-type", "8", "--icmp-code", "0", web["id"])
    assert (icmp["protocol"], icmp["port_range_min"], icmp["port_range_max"]) == (
        "icmp", 8, 0)
    peer = osc.json("security", "group", "rule", "create", "--remote-group",
                    "default", "--egress", "--ethertype", "IPv6", web["id"])
    default = osc.json("security", "group", "show", "default")
    assert peer["remote_group_id"] == default["id"] and peer["direction"] == "egress"
    bad = osc.run("security", "group", "rule", "create", "--protocol", "tcp",
                  "--ethertype", "IPv6", "--remote-ip", "10.0.0.0/8", web["id"], check=False)
    assert bad.returncode != 0 and "400" in bad.stderr
    for rule in (udp, icmp, peer):
        osc.run("security", "group", "rule", "delete", rule["id"])


def test_group_set_and_delete(osc):
    name = unique("sgset")
    osc.json("security", "group", "create", "--description", "first", name)
    osc.run("security", "group", "set", "--name", f"{name}-b", "--description",
            "second", name)
    assert osc.json("security", "group", "show", f"{name}-b")["description"] == \
        "second"
    osc.run("security", "group", "delete", f"{name}-b")


def test_default_group_and_groups_in_use_are_not_deleted(osc):
    refused = osc.run("security", "group", "delete", "default", check=False)
    assert refused.returncode != 0 and "409" in refused.stderr
    group = osc.json("security", "group", "create", unique("inuse"))
    net = osc.json("network", "create", unique("sgnet"))
    osc.run("subnet", "create", "--network", net["id"], "--subnet-range",
            "10.41.0.0/24", unique("sgsub"))
    port = osc.json("port", "create", "--network", net["id"], "--security-group",
                    group["id"], unique("sgport"))
    busy = osc.run("security", "group", "delete", group["id"], check=False)
    assert busy.returncode != 0 and "409" in busy.stderr
    osc.run("port", "delete", port["id"])
    osc.run("security", "group", "delete", group["id"])
    osc.run("network", "delete", net["id"])
