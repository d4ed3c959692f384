"""gateway/openstack/compute/interfaces.py: a boot's ``networks`` as Nova
parses them, per microversion (2.37's "auto" and "none" included, which the
served range reaches once the compute-breadth work raises it)."""

from __future__ import annotations

import pytest

from core import errors
from gateway.openstack.compute.interfaces import boot_networks
from gateway.openstack.compute.microversions import APIVersion

NET = "5f89c3a2-7b1e-4c6e-9a0d-2f4b8c1d3e5a"
PORT = "0c1d2e3f-4a5b-4c6d-8e9f-a0b1c2d3e4f5"
OLD, NEW = APIVersion(2, 26), APIVersion(2, 37)


@pytest.mark.parametrize(("given", "expected"), [
    (None, None),  # Nova's choice
    ([], None),  # what OSC sends below 2.37 with no --nic
    ([{"uuid": NET}], [{"uuid": NET}]),
    ([{"uuid": NET, "fixed_ip": "10.1.0.5"}], [{"uuid": NET, "fixed_ip": "10.1.0.5"}]),
    ([{"port": PORT}], [{"port": PORT}]),
    ([{"port": PORT, "uuid": NET}], [{"port": PORT}]),  # the port wins, as in Nova
    ([{"uuid": NET.replace("-", "")}], [{"uuid": NET.replace("-", "")}]),
])
def test_accepted_below_2_37(given, expected):
    assert boot_networks(given, OLD) == expected


@pytest.mark.parametrize(("given", "message"), [
    ("auto", "'auto' is not of type 'array'"),
    ("none", "'none' is not of type 'array'"),
    ([{"uuid": "net1"}], "network uuid is not in proper format (net1)"),
    ([{"port": "p1"}], "port uuid is not in proper format (p1)"),
    ([{"uuid": NET, "fixed_ip": "10.1.0.300"}], "Invalid fixed IP address (10.1.0.300)"),
    ([{"fixed_ip": "10.1.0.5"}], "each network needs a uuid or a port"),
])
def test_refused_below_2_37(given, message):
    with pytest.raises(errors.InvalidInput) as caught:
        boot_networks(given, OLD)
    assert message in str(caught.value)


def test_auto_and_none_from_2_37_and_networks_required():
    assert boot_networks("auto", NEW) == "auto"
    assert boot_networks("none", NEW) == "none"
    with pytest.raises(errors.InvalidInput, match="'networks' is a required property"):
        boot_networks(None, NEW)
