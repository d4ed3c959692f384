"""core/network/ipam.py: fixed addresses taken once per instance, given back on
release (with the instance's floating addresses disassociated), exhaustion, and
the addresses listed with their floating ones as Nova shows them (concurrency:
tests/db/test_ipam.py)."""

from __future__ import annotations

import ipaddress
import uuid

import pytest

from core import errors
from core.network.ipam import Ipam, random_mac
from core.services import CoreServices
from tests.support.core_services import MEMBER, add_instance


@pytest.fixture
def ipam(core: CoreServices) -> Ipam:
    return core.ipam


def test_pool_is_made_once(ipam):
    assert ipam.ensure_pool() == 5
    assert ipam.ensure_pool() == 5
    taken = {ipam.allocate(str(uuid.uuid4())).address for _ in range(5)}
    assert taken == {f"10.9.0.{i}" for i in range(2, 7)}


def test_allocate_is_idempotent_per_instance(core, ipam):
    first = ipam.allocate("i-1")
    assert ipam.allocate("i-1") == first
    assert ipaddress.ip_address(first.address) in ipaddress.ip_network(
        core.settings.fixed_range)
    assert (first.network, first.version, first.type) == ("private", 4, "fixed")
    assert first.mac_address.startswith("fa:16:3e:") and len(first.mac_address) == 17
    assert ipam.allocate("i-2").address != first.address


def test_exhaustion_is_a_conflict_until_an_address_is_released(ipam):
    held = [ipam.allocate(f"i-{n}") for n in range(5)]
    with pytest.raises(errors.Conflict, match="^No fixed IP addresses available on network "
                                              "private.$"):
        ipam.allocate("i-late")
    ipam.release("i-0")
    ipam.release("i-0")  # idempotent
    assert ipam.allocate("i-late").address == held[0].address
    assert ipam.instance_with_address(held[0].address) == "i-late"


def test_addresses_for_several_instances(ipam):
    a, b = ipam.allocate("i-a"), ipam.allocate("i-b")
    assert dict(ipam.addresses_for(["i-a", "i-b", "i-none"])) == {"i-a": [a], "i-b": [b]}
    assert ipam.addresses_for([]) == {}
    assert ipam.instance_with_address("10.9.0.200") is None


def test_floating_addresses_follow_their_fixed_one(core, ipam):
    uuid_ = add_instance(core.db)
    fixed = ipam.allocate(uuid_)
    floating = core.floating_ips.allocate(MEMBER)
    core.floating_ips.associate(MEMBER, uuid_, allocation_id=floating.allocation_id)
    listed = ipam.addresses_with_floating([uuid_])[uuid_]
    assert [(a.address, a.type) for a in listed] == [(fixed.address, "fixed"),
                                                     (floating.address, "floating")]
    assert (listed[1].network, listed[1].mac_address) == ("private", fixed.mac_address)


def test_release_keeps_the_floating_address_in_the_project(core, ipam):
    uuid_ = add_instance(core.db)
    ipam.allocate(uuid_)
    floating = core.floating_ips.allocate(MEMBER)
    core.floating_ips.associate(MEMBER, uuid_, address=floating.address)
    ipam.release(uuid_)
    assert ipam.addresses_with_floating([uuid_]) == {}
    (mine,) = core.floating_ips.list_addresses(MEMBER)
    assert (mine.address, mine.instance_uuid, mine.association_id) == \
        (floating.address, None, None)


def test_random_macs_differ():
    macs = {random_mac() for _ in range(50)}
    assert len(macs) > 45 and all(m.startswith("fa:16:3e:") for m in macs)
