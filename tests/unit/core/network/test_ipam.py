"""core/network/instance_ports.py (and ipam.py under it): the networks a boot
resolves to (Nova's rule when none is named), the server's ports made once per
build and released with it (given ports unbound, not deleted), exhaustion, and
the addresses with their floating ones as Nova shows them (concurrency:
tests/db/test_ipam.py)."""

from __future__ import annotations

import ipaddress
import uuid

import pytest

from core import errors
from core.network.errors import IpAddressGenerationFailure
from core.network.instance_ports import (
    BootNetworkNotFound,
    BootPortInUse,
    BootPortNotFound,
    FixedIpInUse,
    FixedIpInvalid,
    InstanceNetworking,
    NetworkAmbiguous,
)
from core.network.ipam import random_mac
from core.services import CoreServices
from tests.support.core_services import ADMIN, MEMBER, OTHER, add_instance


@pytest.fixture
def ipam(core: CoreServices) -> InstanceNetworking:
    return core.ipam


def default_id(core: CoreServices) -> str:
    (net,) = [n for n in core.network.networks.list(ADMIN) if n["is_default"]]
    return net["id"]


def own_network(core: CoreServices, ctx=MEMBER, cidr="10.20.0.0/24", name="mine") -> str:
    net = core.network.networks.create(ctx, {"name": name})
    core.network.subnets.create(ctx, {"network_id": net["id"], "cidr": cidr})
    return net["id"]


def test_the_default_network_hands_out_its_pool(core, ipam):
    taken = set()
    for _ in range(5):
        inst = str(uuid.uuid4())
        ipam.allocate(inst, "p1", None)
        taken |= {a.address for a in ipam.addresses_for([inst])[inst]}
    assert taken == {f"10.9.0.{i}" for i in range(2, 7)}  # not .1, the router's


def test_allocate_is_idempotent_per_instance(core, ipam):
    ipam.allocate("i-1", "p1", None)
    (first,) = ipam.addresses_for(["i-1"])["i-1"]
    ipam.allocate("i-1", "p1", None)  # a redelivered build
    assert ipam.addresses_for(["i-1"])["i-1"] == [first]
    assert ipaddress.ip_address(first.address) in ipaddress.ip_network(
        core.settings.fixed_range)
    assert (first.network, first.version, first.type) == ("private", 4, "fixed")
    assert first.mac_address.startswith("fa:16:3e:") and len(first.mac_address) == 17
    assert len(ipam.ports_of("i-1")) == 1
    assert core.quotas.usage("p1")["ports"] == 1


def test_exhaustion_until_an_address_is_released(core, ipam):
    for n in range(5):
        ipam.allocate(f"i-{n}", "p1", None)
    held = ipam.addresses_for(["i-0"])["i-0"][0].address
    with pytest.raises(IpAddressGenerationFailure, match="^No more IP addresses available"):
        ipam.allocate("i-late", "p1", None)
    assert ipam.ports_of("i-late") == []  # nothing half-made
    ipam.release("i-0")
    ipam.release("i-0")  # idempotent
    assert core.quotas.usage("p1")["ports"] == 4
    ipam.allocate("i-late", "p1", None)
    assert ipam.addresses_for(["i-late"])["i-late"][0].address == held
    assert ipam.instance_with_address(held) == "i-late"


def test_addresses_for_several_instances(ipam):
    ipam.allocate("i-a", "p1", None)
    ipam.allocate("i-b", "p1", None)
    got = ipam.addresses_for(["i-a", "i-b", "i-none"])
    assert set(got) == {"i-a", "i-b"} and all(len(v) == 1 for v in got.values())
    assert ipam.addresses_for([]) == {}
    assert ipam.instance_with_address("10.9.0.200") is None


def test_a_fixed_ip_and_a_named_network(core, ipam):
    net = default_id(core)
    (entry,) = ipam.resolve(MEMBER, [{"uuid": net, "fixed_ip": "10.9.0.5"}])
    assert entry == {"network_id": net, "fixed_ip": "10.9.0.5"}
    ipam.allocate("i-f", "p1", [entry])
    assert [a.address for a in ipam.addresses_for(["i-f"])["i-f"]] == ["10.9.0.5"]
    with pytest.raises(FixedIpInUse):
        ipam.resolve(MEMBER, [{"uuid": net, "fixed_ip": "10.9.0.5"}])
    with pytest.raises(FixedIpInvalid):
        ipam.resolve(MEMBER, [{"uuid": net, "fixed_ip": "10.99.0.5"}])
    with pytest.raises(errors.InvalidInput):
        ipam.resolve(MEMBER, [{"uuid": net, "fixed_ip": "10.9.0.6"}], count=2)


def test_nova_chooses_the_projects_own_network_then_the_shared_one(core, ipam):
    assert ipam.resolve(MEMBER, None) == [{"network_id": default_id(core)}]
    assert ipam.resolve(MEMBER, "auto") == [{"network_id": default_id(core)}]
    assert ipam.resolve(MEMBER, "none") == []
    assert ipam.resolve(MEMBER, "default") == [{"network_id": default_id(core)}]
    mine = own_network(core)
    assert ipam.resolve(MEMBER, None) == [{"network_id": mine}]
    assert ipam.resolve(OTHER, None) == [{"network_id": default_id(core)}]
    own_network(core, cidr="10.21.0.0/24", name="second")
    with pytest.raises(NetworkAmbiguous, match="^Multiple possible networks found"):
        ipam.resolve(MEMBER, None)


def test_an_external_network_is_never_chosen_and_others_are_not_found(core, ipam):
    public = [n["id"] for n in core.network.networks.list(ADMIN) if n["router:external"]]
    assert all(e["network_id"] not in public for e in ipam.resolve(MEMBER, None))
    theirs = own_network(core, OTHER, name="theirs")
    with pytest.raises(BootNetworkNotFound):
        ipam.resolve(MEMBER, [{"uuid": theirs}])
    with pytest.raises(BootNetworkNotFound):
        ipam.resolve(MEMBER, [{"uuid": "not-a-uuid"}])
    assert ipam.resolve(ADMIN, [{"uuid": theirs}]) == [{"network_id": theirs}]


def test_a_given_port_is_bound_and_unbound_not_deleted(core, ipam):
    port = core.network.ports.create(MEMBER, {"network_id": default_id(core)})
    (entry,) = ipam.resolve(MEMBER, [{"port": port["id"]}])
    assert entry == {"port_id": port["id"]}
    with pytest.raises(BootPortNotFound):
        ipam.resolve(OTHER, [{"port": port["id"]}])
    with pytest.raises(errors.InvalidInput):
        ipam.resolve(MEMBER, [{"port": port["id"]}], count=2)
    ipam.allocate("i-p", "p1", [entry], host="h1")
    bound = core.network.ports.get(MEMBER, port["id"])
    assert (bound["device_id"], bound["device_owner"], bound["binding:host_id"]) == \
        ("i-p", "compute:nova", "h1")
    with pytest.raises(BootPortInUse):
        ipam.resolve(MEMBER, [{"port": port["id"]}])
    ipam.release("i-p")
    unbound = core.network.ports.get(MEMBER, port["id"])
    assert (unbound["device_id"], unbound["device_owner"], unbound["status"]) == \
        ("", "", "DOWN")
    assert unbound["fixed_ips"] == port["fixed_ips"]


def test_the_servers_groups_are_its_ports_groups(core, ipam):
    web = core.security_groups.create(MEMBER, "web", "")
    default = core.security_groups.find(MEMBER, "default")  # the boot's prepare_boot made it
    ipam.allocate("i-g", "p1", None, ["default", "web"])
    (port_id,) = ipam.ports_of("i-g")
    assert sorted(core.network.ports.get(MEMBER, port_id)["security_groups"]) == \
        sorted([default.uuid, web.uuid])
    with core.db.session() as s:
        ipam.set_security_groups(s, "i-g", "p1", ["web"])
    assert core.network.ports.get(MEMBER, port_id)["security_groups"] == [web.uuid]


def test_floating_addresses_follow_their_fixed_one(core, ipam):
    uuid_ = add_instance(core.db)
    ipam.allocate(uuid_, "p1", None)
    (fixed,) = ipam.addresses_for([uuid_])[uuid_]
    floating = core.floating_ips.allocate(MEMBER)
    core.floating_ips.associate(MEMBER, uuid_, allocation_id=floating.allocation_id)
    listed = ipam.addresses_with_floating([uuid_])[uuid_]
    assert [(a.address, a.type) for a in listed] == [(fixed.address, "fixed"),
                                                     (floating.address, "floating")]
    assert (listed[1].network, listed[1].mac_address) == ("private", fixed.mac_address)


def test_release_keeps_the_floating_address_in_the_project(core, ipam):
    uuid_ = add_instance(core.db)
    ipam.allocate(uuid_, "p1", None)
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
