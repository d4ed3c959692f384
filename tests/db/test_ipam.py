"""Fixed-IP allocation on every database back end: no address twice, released on delete."""

from __future__ import annotations

import ipaddress
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from core import errors
from core.network.ipam import Ipam


@pytest.fixture
def ipam(db) -> Ipam:
    pool = Ipam(db, "10.9.0.0/27", "public")
    pool.ensure_pool()
    return pool


def test_pool_skips_network_gateway_and_broadcast(ipam):
    assert ipam.ensure_pool() == 29  # 32 - network - gateway - broadcast
    first = ipam.allocate(str(uuid.uuid4()))
    address = ipaddress.ip_address(first.address)
    assert address in ipaddress.ip_network("10.9.0.0/27")
    assert first.address not in ("10.9.0.0", "10.9.0.1", "10.9.0.31")
    assert first.mac_address.startswith("fa:16:3e:")


def test_allocate_is_idempotent_and_release_frees(ipam):
    inst = str(uuid.uuid4())
    a = ipam.allocate(inst)
    assert ipam.allocate(inst) == a
    assert ipam.addresses_for([inst])[inst] == [a]
    assert ipam.instance_with_address(a.address) == inst
    ipam.release(inst)
    ipam.release(inst)  # twice is fine
    assert ipam.addresses_for([inst]).get(inst, []) == []


def test_concurrent_allocations_never_share_an_address(ipam):
    instances = [str(uuid.uuid4()) for _ in range(29)]
    with ThreadPoolExecutor(8) as pool:
        addresses = list(pool.map(ipam.allocate, instances))
    assert len({a.address for a in addresses}) == 29
    with pytest.raises(errors.Conflict):
        ipam.allocate(str(uuid.uuid4()))  # the pool is exhausted
    ipam.release(instances[0])
    assert ipam.allocate("late").address == addresses[0].address
