"""core/network/floating.py, EC2's face (FloatingIpService): floating IPs of
the external network allocated under the project's quota (with their EC2
IDs), associated with an instance's port through the default router, moved,
disassociated and released, and the errors on the way (the Network API's
face: test_floating_api.py)."""

from __future__ import annotations

import pytest

from core import errors
from core.idmap.ids import Kind
from core.network.floating import (
    AddressInUse,
    AddressNotFound,
    AlreadyAssociated,
    FloatingIpService,
    InstanceNotReady,
    NoAddressesLeft,
)
from core.services import CoreServices
from tests.support.core_services import ADMIN, MEMBER, OTHER, READER, add_instance


@pytest.fixture
def floating(core: CoreServices) -> FloatingIpService:
    return core.floating_ips


def server(core: CoreServices, project_id: str = "p1") -> str:
    """A live instance with a fixed address."""
    uuid = add_instance(core.db, project_id=project_id)
    core.ipam.allocate(uuid, project_id, None)
    return uuid


def router_gateway_address(core: CoreServices) -> str:
    (router,) = core.network.routers.list(ADMIN)
    return router["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]


def test_allocate_takes_a_free_address_under_quota(core, floating):
    got = floating.allocate(MEMBER)
    assert got.address.startswith("203.0.113.") and got.address != "203.0.113.1"
    assert (got.project_id, got.pool, got.instance_uuid) == ("p1", "public", None)
    assert core.ids.existing(Kind.ADDRESS, [got.allocation_id])[got.allocation_id] \
        .startswith("eipalloc-")
    assert core.quotas.usage("p1")["floating_ips"] == 1
    assert [a.address for a in floating.list_addresses(MEMBER)] == [got.address]
    assert floating.list_addresses(OTHER) == []


def test_allocate_stops_at_the_quota(core, floating):
    core.quotas.set_limits("p1", {"floating_ips": 1})
    floating.allocate(MEMBER)
    with pytest.raises(errors.QuotaExceeded, match="floating_ips"):
        floating.allocate(MEMBER)
    assert len(floating.list_addresses(MEMBER)) == 1


def test_an_exhausted_range_takes_no_quota(core, floating):
    for _ in range(4):  # .2 to .6 but the router's gateway address
        floating.allocate(MEMBER)
    with pytest.raises(NoAddressesLeft, match="^There are no more free floating IP addresses.$"):
        floating.allocate(OTHER)
    assert core.quotas.usage("p2")["floating_ips"] == 0


def test_allocate_needs_a_member(floating):
    with pytest.raises(errors.Forbidden):
        floating.allocate(READER)


def test_associate_and_disassociate(core, floating):
    uuid = server(core)
    got = floating.allocate(MEMBER)
    on = floating.associate(MEMBER, uuid, allocation_id=got.allocation_id)
    assert (on.instance_uuid, on.fixed_address) == (uuid, core.ipam.addresses_for([uuid])[uuid][0]
                                                    .address)
    assert core.ids.existing(Kind.ASSOCIATION, [on.association_id])
    assert floating.associate(MEMBER, uuid, address=got.address) == on  # no change
    assert floating.pool.instance_with_address(got.address) == uuid
    floating.disassociate(MEMBER, association_id=on.association_id)
    assert floating.list_addresses(MEMBER)[0].instance_uuid is None
    assert core.ids.existing(Kind.ASSOCIATION, [on.association_id]) == {}
    with pytest.raises(AddressNotFound, match="is not associated.$"):
        floating.disassociate(MEMBER, address=got.address)


def test_reassociation_must_be_allowed(core, floating):
    first, second = server(core), server(core)
    got = floating.allocate(MEMBER)
    on = floating.associate(MEMBER, first, address=got.address)
    with pytest.raises(AlreadyAssociated, match=f"^resource {got.allocation_id} is already "
                                                f"associated with associate-id "
                                                f"{on.association_id}$"):
        floating.associate(MEMBER, second, address=got.address)
    moved = floating.associate(MEMBER, second, address=got.address, allow_reassociation=True)
    assert moved.instance_uuid == second and moved.association_id != on.association_id


def test_an_instance_holds_one_floating_address(core, floating):
    uuid = server(core)
    a, b = floating.allocate(MEMBER), floating.allocate(MEMBER)
    floating.associate(MEMBER, uuid, address=a.address)
    floating.associate(MEMBER, uuid, address=b.address)
    assert floating.pool.addresses_for([uuid])[uuid] == [
        (b.address, core.ipam.addresses_for([uuid])[uuid][0].address)]


def test_associate_needs_an_own_live_instance_with_a_fixed_address(core, floating):
    got = floating.allocate(MEMBER)
    no_address = add_instance(core.db)
    with pytest.raises(InstanceNotReady, match="has no fixed address"):
        floating.associate(MEMBER, no_address, address=got.address)
    with pytest.raises(errors.NotFound, match="could not be found.$"):
        floating.associate(MEMBER, server(core, "p2"), address=got.address)
    with pytest.raises(AddressNotFound):  # another project's address
        floating.associate(OTHER, server(core, "p2"), address=got.address)


def test_release_gives_the_address_and_the_quota_back(core, floating):
    uuid = server(core)
    got = floating.allocate(MEMBER)
    floating.associate(MEMBER, uuid, address=got.address)
    with pytest.raises(AddressInUse, match=f"^Address {got.address} is in use.$"):
        floating.release(MEMBER, address=got.address)
    floating.disassociate(MEMBER, address=got.address)
    with pytest.raises(AddressNotFound):
        floating.release(OTHER, address=got.address)
    floating.release(MEMBER, allocation_id=got.allocation_id)
    assert floating.list_addresses(MEMBER) == []
    assert core.quotas.usage("p1")["floating_ips"] == 0
    assert core.ids.existing(Kind.ADDRESS, [got.allocation_id]) == {}
    with pytest.raises(AddressNotFound):
        floating.release(MEMBER, address=got.address)


def test_the_range_skips_its_gateway_and_the_routers_address(core, floating):
    taken = {floating.allocate(MEMBER).address for _ in range(4)}
    assert taken == {f"203.0.113.{i}" for i in range(2, 7)} - {router_gateway_address(core)}


def test_another_projects_instance_is_not_found(core, floating):
    got = floating.allocate(MEMBER)
    with pytest.raises(errors.NotFound) as caught:
        floating.associate(MEMBER, server(core, "p2"), address=got.address)
    assert not isinstance(caught.value, AddressNotFound)
    assert floating.list_addresses(MEMBER)[0].instance_uuid is None
