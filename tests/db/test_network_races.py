"""Floating IPs and security groups racing on SQLite, PostgreSQL and MariaDB:
no address twice (EC2's face and the Network API's), no project past its
floating_ips quota, one ``default`` group per project, no duplicate group
name or rule, and a release or an instance's deletion gives the address back
as it should."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

import pytest
from sqlalchemy import select

from core import errors
from core.compute.models import Instance
from core.context import RequestContext
from core.idmap.ids import Ec2Ids, Kind
from core.network import security_groups as sg
from core.network.errors import IpAddressGenerationFailure
from core.network.floating import AddressInUse, FloatingIpService, NoAddressesLeft
from core.network.models import SecurityGroup, SecurityGroupRule
from core.network.services import NetworkServices
from tests.support.network import ensure_networks, network_services

ADMIN = RequestContext(user_id="admin", project_id="p-admin",
                       roles=("admin", "member", "reader"), is_admin=True)


def member(project: str) -> RequestContext:
    return RequestContext(user_id=f"user-{project}", project_id=project, roles=("member", "reader"))


@pytest.fixture
def net(db, settings):
    # 198.51.100.2 to .14: 13 addresses, one the router's gateway
    ensure_networks(db, fixed_range="10.77.0.0/28", floating_range="198.51.100.0/28")
    services = network_services(db, settings)
    yield services
    services.quotas.quotas.dispose()


@pytest.fixture
def floating(net: NetworkServices) -> FloatingIpService:
    return net.elastic_ips


@pytest.fixture
def groups(net: NetworkServices) -> sg.SecurityGroupService:
    return net.nova_security_groups


def race(threads: int, work: Callable[[int], object]) -> list[object]:
    """``work(i)`` on ``threads`` threads started at once; results or exceptions."""
    start = threading.Barrier(threads)
    out: list[object] = [None] * threads

    def run(i: int) -> None:
        start.wait()
        try:
            out[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the caller inspects them
            out[i] = exc

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(60)
    return out


def test_concurrent_allocations_never_share_an_address(floating):
    results = race(14, lambda i: floating.allocate(member(f"p{i}")))
    addresses = [r.address for r in results if not isinstance(r, Exception)]
    assert len(addresses) == 12 and len(set(addresses)) == 12, results
    assert all(a.startswith("198.51.100.") and a != "198.51.100.1" for a in addresses)
    assert [type(r) for r in results if isinstance(r, Exception)] == [NoAddressesLeft] * 2
    with pytest.raises(errors.Conflict):  # the range is exhausted
        floating.allocate(member("late"))


def test_concurrent_floating_ips_from_a_small_external_subnet(net):
    """The Network API's face on a network of its own: a /29 holds five."""
    ext = net.networks.create(ADMIN, {"name": "ext", "router:external": True})
    net.subnets.create(ADMIN, {"network_id": ext["id"], "cidr": "192.0.2.0/29"})
    results = race(8, lambda i: net.floating_ips.create(member(f"f{i}"), {
        "floating_network_id": ext["id"]}))
    made = [r for r in results if isinstance(r, dict)]
    failed = [r for r in results if not isinstance(r, dict)]
    addresses = [r["floating_ip_address"] for r in made]
    assert len(made) == 5 and sorted(addresses) == [f"192.0.2.{i}" for i in range(2, 7)]
    assert len(failed) == 3 and all(isinstance(r, IpAddressGenerationFailure)
                                    for r in failed), failed
    assert sum(net.quotas.quotas.usage(f"f{i}").get("floating_ips", 0)
               for i in range(8)) == 5


def test_concurrent_allocations_stop_at_the_quota(floating, settings):
    limit = settings.quota_floating_ips
    ctx = member("quota")
    results = race(limit + 3, lambda i: floating.allocate(ctx))
    ok = [r for r in results if not isinstance(r, Exception)]
    over = [r for r in results if isinstance(r, errors.QuotaExceeded)]
    assert len(ok) == limit and len(over) == 3, results
    assert len(floating.list_addresses(ctx)) == limit
    floating.release(ctx, allocation_id=ok[0].allocation_id)
    assert floating.allocate(ctx).address  # the quota room came back


def test_allocation_ids_are_minted_and_forgotten(db, floating):
    ctx = member("mint")
    address = floating.allocate(ctx)
    ids = Ec2Ids(db)
    assert ids.existing(Kind.ADDRESS, [address.allocation_id])[address.allocation_id] \
        .startswith("eipalloc-")
    floating.release(ctx, allocation_id=address.allocation_id)
    assert ids.existing(Kind.ADDRESS, [address.allocation_id]) == {}
    with pytest.raises(errors.NotFound):
        floating.release(ctx, allocation_id=address.allocation_id)


def _instance(db, project: str) -> str:
    inst = Instance(display_name="vm", project_id=project, user_id=f"user-{project}",
                    flavor={}, flavorid="1", vcpus=1, memory_mb=64, root_gb=1,
                    reservation_id="r-test", security_groups=["default"])
    with db.session() as s:
        s.add(inst)
        s.flush()
        return inst.uuid


def test_association_moves_and_deletion_disassociates(db, net, floating):
    ctx = member("assoc")
    vm = _instance(db, "assoc")
    ipam = net.instances
    ipam.allocate(vm, "assoc", None)
    (fixed,) = ipam.addresses_for([vm])[vm]
    first, second = floating.allocate(ctx), floating.allocate(ctx)
    one = floating.associate(ctx, vm, allocation_id=first.allocation_id)
    assert one.fixed_address == fixed.address and one.association_id
    assert floating.associate(ctx, vm, allocation_id=first.allocation_id) == one  # no-op
    with pytest.raises(AddressInUse):
        floating.release(ctx, allocation_id=first.allocation_id)
    # A second address takes the instance over: the first lets go.
    floating.associate(ctx, vm, allocation_id=second.allocation_id)
    listed = {a.address: a for a in floating.list_addresses(ctx)}
    assert listed[first.address].instance_uuid is None
    assert listed[second.address].instance_uuid == vm
    shown = ipam.addresses_with_floating([vm])[vm]
    assert [(a.address, a.type) for a in shown] == [(fixed.address, "fixed"),
                                                   (second.address, "floating")]
    assert shown[1].mac_address == fixed.mac_address
    ipam.release(vm)  # what deleting the instance does
    assert all(a.instance_uuid is None for a in floating.list_addresses(ctx))
    assert len(floating.list_addresses(ctx)) == 2  # still the project's


def test_concurrent_associations_of_one_address_pick_one_instance(db, net, floating):
    ctx = member("twice")
    vms = [_instance(db, "twice") for _ in range(4)]
    for vm in vms:
        net.instances.allocate(vm, "twice", None)
    address = floating.allocate(ctx)
    results = race(4, lambda i: floating.associate(ctx, vms[i],
                                                   allocation_id=address.allocation_id))
    ok = [r for r in results if not isinstance(r, Exception)]
    assert len(ok) >= 1
    assert all(isinstance(r, errors.Conflict) for r in results if isinstance(r, Exception))
    (final,) = floating.list_addresses(ctx)
    assert final.instance_uuid in vms


def test_one_default_group_when_many_ask_at_once(db, groups):
    project = "defaults"
    race(6, lambda i: groups.ensure_default(project))
    with db.session() as s:
        rows = list(s.scalars(select(SecurityGroup).where(SecurityGroup.project_id == project)))
        assert [r.name for r in rows] == ["default"]
        rules = list(s.scalars(select(SecurityGroupRule).where(
            SecurityGroupRule.group_id == rows[0].id)))
    assert sorted((r.direction, r.ethertype, r.cidr, r.remote_group_id) for r in rules) == [
        ("egress", "IPv4", None, None), ("egress", "IPv6", None, None),
        ("ingress", "IPv4", None, rows[0].id), ("ingress", "IPv6", None, rows[0].id)]
    assert Ec2Ids(db).existing(Kind.SECURITY_GROUP, [rows[0].uuid])


def test_one_group_per_name_and_one_copy_of_a_rule(groups):
    ctx = member("names")
    results = race(5, lambda i: groups.create(ctx, "web", "web servers"))
    made = [r for r in results if isinstance(r, sg.Group)]
    assert len(made) == 1
    assert all(isinstance(r, sg.DuplicateGroup) for r in results if r not in made)
    spec = sg.RuleSpec(sg.INGRESS, "tcp", 22, 22, cidr="10.0.0.0/8")
    results = race(5, lambda i: groups.add_rules(ctx, made[0].uuid, [spec]))
    assert sum(isinstance(r, list) for r in results) == 1
    assert all(isinstance(r, sg.DuplicateRule) for r in results if not isinstance(r, list))
    assert len(groups.get(ctx, made[0].uuid).rules) == 3  # and its two egress rules


def test_a_group_in_use_is_not_deleted_and_a_deleted_one_does_not_boot(db, groups):
    ctx = member("inuse")
    group = groups.create(ctx, "app", "")
    assert groups.prepare_boot("inuse", ["app", group.uuid, "default"]) == ["app", "default"]
    with db.session() as s:  # a boot's transaction holds the groups it names
        groups.hold_for_boot(s, "inuse", ["app"])
        s.add(boot_row("inuse", ["app"]))
    with pytest.raises(sg.GroupInUse):
        groups.delete(ctx, group.uuid)
    other = groups.create(ctx, "gone", "")
    groups.delete(ctx, other.uuid)
    with db.session() as s, pytest.raises(sg.UnknownSecurityGroup):
        groups.hold_for_boot(s, "inuse", ["gone"])
    with pytest.raises(sg.UnknownSecurityGroup):
        groups.prepare_boot("inuse", ["nope"])


def boot_row(project: str, names: list[str]) -> Instance:
    return Instance(display_name="vm", project_id=project, user_id=f"user-{project}",
                    flavor={}, flavorid="1", vcpus=1, memory_mb=64, root_gb=1,
                    reservation_id="r-test", security_groups=names)


def test_rule_specs_are_checked_and_canonical():
    spec = sg.check_spec(sg.RuleSpec(sg.INGRESS, "tcp", 80, 80, cidr="10.0.0.28/29"))
    assert spec.cidr == "10.0.0.24/29"
    for bad in (replace(spec, port_min=90), replace(spec, protocol="gre"),
                replace(spec, remote_group="g"), replace(spec, cidr="10.0.0.0/33"),
                sg.RuleSpec(sg.INGRESS, None, 1, 2, cidr="0.0.0.0/0")):
        with pytest.raises(sg.InvalidRule):
            sg.check_spec(bad)
