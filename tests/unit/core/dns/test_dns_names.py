"""core/dns/names.py: aliases derived from addresses, and parsed back only when
spelled canonically."""

from __future__ import annotations

import pytest

from core.compute.servers import hostname_for
from core.dns.names import (
    address_from_reverse,
    address_in_label,
    dns_label,
    private_dns_name,
    public_dns_name,
    reverse_zone,
)


def test_aliases_spell_the_address_with_hyphens():
    assert private_dns_name("10.0.0.5", "RegionOne") == "ip-10-0-0-5.RegionOne.compute.internal"
    assert public_dns_name("203.0.113.25", "compute.nimbus.test") == \
        "ec2-203-0-113-25.compute.nimbus.test"


def test_no_address_no_alias():
    assert private_dns_name(None, "r") == "" and private_dns_name("", "r") == ""
    assert public_dns_name(None, "d") == ""


@pytest.mark.parametrize("label, prefix, address", [
    ("ip-10-0-0-5", "ip", "10.0.0.5"),
    ("IP-10-0-0-5", "ip", "10.0.0.5"),
    ("ec2-203-0-113-25", "ec2", "203.0.113.25"),
    ("ip-10-0-0-05", "ip", None),      # not canonical
    ("ip-10-0-0-256", "ip", None),
    ("ip-10-0-0", "ip", None),
    ("ip-10-0-0-5-6", "ip", None),
    ("ec2-10-0-0-5", "ip", None),      # wrong prefix
    ("ip", "ip", None),
    ("ip-", "ip", None),
])
def test_address_in_label(label, prefix, address):
    assert address_in_label(label, prefix) == address


def test_reverse_names():
    assert address_from_reverse(("5", "0", "0", "10", "in-addr", "arpa")) == "10.0.0.5"
    assert address_from_reverse(("5", "0", "0", "10", "IN-ADDR", "ARPA")) == "10.0.0.5"
    assert address_from_reverse(("05", "0", "0", "10", "in-addr", "arpa")) is None
    assert address_from_reverse(("0", "0", "10", "in-addr", "arpa")) is None
    assert address_from_reverse(("5", "0", "0", "10", "ip6", "arpa")) is None
    assert reverse_zone("10.0.0.0/22") == "0.10.in-addr.arpa"
    assert reverse_zone("192.168.7.0/24") == "7.168.192.in-addr.arpa"
    assert reverse_zone("10.0.0.0/8") == "10.in-addr.arpa"


@pytest.mark.parametrize("name, label", [
    ("demo", "demo"),
    ("My Project", "my-project"),
    ("team_a.prod", "team-a-prod"),
    ("--x--", "x"),
    ("!!!", ""),
    ("a" * 80, "a" * 63),
])
def test_project_names_become_one_label(name, label):
    assert dns_label(name) == label


def test_server_names_follow_novas_hostname():
    # The responder matches stored hostnames, which compute made with hostname_for.
    assert hostname_for("Web_Server 1") == "web-server-1"
