"""core/network/security_group_types.py: the last guard on a rule spec
(direction, protocol, ports or ICMP type and code, one peer, CIDR made
canonical), group names, and the values the service hands out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from core import errors
from core.network.security_group_types import (
    EGRESS,
    INGRESS,
    Group,
    InvalidRule,
    Rule,
    RuleSpec,
    check_name,
    check_spec,
)

TCP = RuleSpec(INGRESS, "tcp", 80, 443, cidr="0.0.0.0/0")


@pytest.mark.parametrize(("spec", "cidr"), [
    (TCP, "0.0.0.0/0"),
    (RuleSpec(EGRESS, "udp", 0, 65535, cidr="192.168.1.77/24"), "192.168.1.0/24"),
    (RuleSpec(INGRESS, "icmp", -1, -1, cidr="10.0.0.1"), "10.0.0.1/32"),
    (RuleSpec(INGRESS, "icmp", 8, 0, cidr="2001:db8::1/32", ethertype="IPv6"),
     "2001:db8::/32"),
    (RuleSpec(INGRESS, "gre", cidr="10.0.0.0/8"), "10.0.0.0/8"),  # Neutron's protocols
    (RuleSpec(INGRESS, "47", cidr="10.0.0.0/8"), "10.0.0.0/8"),  # ...and their numbers
    (RuleSpec(EGRESS, None), None),  # anywhere
    (RuleSpec(INGRESS, "tcp"), None),  # every port
    (RuleSpec(INGRESS, None, remote_group="g-uuid"), None),
])
def test_valid_specs(spec, cidr):
    checked = check_spec(spec)
    assert checked.cidr == cidr
    assert replace(checked, cidr=spec.cidr) == spec  # nothing else changes


@pytest.mark.parametrize(("spec", "message"), [
    (replace(TCP, direction="inbound"), "^Invalid direction inbound.$"),
    (replace(TCP, protocol="bogus"), "^Invalid IP protocol bogus.$"),
    (replace(TCP, protocol="256"), "^Invalid IP protocol 256.$"),
    (replace(TCP, ethertype="IPv6"), "^Conflicting value ethertype IPv6 for CIDR 0.0.0.0/0$"),
    (replace(TCP, port_min=443, port_max=80), "^Invalid port range 443:80.$"),
    (replace(TCP, port_max=65536), "^Invalid port range 80:65536.$"),
    (replace(TCP, port_min=None), "^Invalid port range None:443.$"),
    (replace(TCP, protocol="icmp", port_min=256, port_max=0), "^Invalid ICMP type and code"),
    (replace(TCP, protocol="icmp", port_min=-2, port_max=0), "^Invalid ICMP type and code"),
    (replace(TCP, protocol=None), "^Ports are only given for protocols that have them"),
    (replace(TCP, protocol="gre"), "^Ports are only given for protocols that have them"),
    (replace(TCP, remote_group="g-uuid"), "^A rule names either a CIDR or a source group, "
                                          "not both.$"),
    (replace(TCP, cidr="10.0.0.0/33"), "^Invalid cidr 10.0.0.0/33.$"),
    (replace(TCP, cidr="everywhere"), "^Invalid cidr everywhere.$"),
    (replace(TCP, description="d" * 256), "at most 255 characters"),
])
def test_invalid_specs(spec, message):
    with pytest.raises(InvalidRule, match=message):
        check_spec(spec)
    assert issubclass(InvalidRule, errors.InvalidInput)


def test_the_key_spells_out_the_rule():
    # Anywhere is one rule, given as 0.0.0.0/0 or without a prefix (as Neutron).
    assert TCP.key(None) == "ingress|tcp|80|443||" == replace(TCP, cidr=None).key(None)
    assert replace(TCP, cidr="10.0.0.0/8").key(None) == "ingress|tcp|80|443|10.0.0.0/8|"
    assert replace(TCP, ethertype="IPv6", cidr=None).key(None) == "ingress|tcp|80|443|||IPv6"
    assert RuleSpec(EGRESS, None, remote_group="g").key(7) == "egress|-1||||7"
    assert TCP.key(None) == replace(TCP, description="other").key(None)


def test_a_rule_gives_back_its_spec():
    rule = Rule("r", "g", INGRESS, "tcp", 22, 22, None, "peer", "web", "p1", "ssh")
    assert rule.spec() == RuleSpec(INGRESS, "tcp", 22, 22, None, "peer", "ssh")


def test_the_default_group():
    now = datetime.now(UTC)
    assert Group("u", "p", "default", "", now).is_default
    assert not Group("u", "p", "Default", "", now).is_default


@pytest.mark.parametrize("name", ["web", "a" * 255, "with spaces", "ünïcode"])
def test_valid_names(name):
    check_name(name)


@pytest.mark.parametrize(("name", "message"), [
    ("", "^Security group name cannot be empty.$"),
    ("   ", "^Security group name cannot be empty.$"),
    (None, "^Security group name cannot be empty.$"),
    ("a" * 256, "^Security group name should not be greater than 255 characters.$")])
def test_invalid_names(name, message):
    with pytest.raises(errors.InvalidInput, match=message):
        check_name(name)
    with pytest.raises(errors.InvalidInput, match=message.replace("name", "description")):
        check_name(name, "description")
