"""Floating IPs and security groups racing on SQLite, PostgreSQL and MariaDB:
no address twice, no project past its floating_ips quota, one ``default``
group per project, no duplicate group name or rule, and a release or an
instance's deletion gives the address back as it should."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

import pytest
from sqlalchemy import select

from core import errors
from core.compute.instance_records import InstanceRecords
from core.compute.instance_store import InstanceStore
from core.compute.models import Instance
from core.context import RequestContext
from core.idmap.ids import Ec2Ids, Kind
from core.network import security_groups as sg
from core.network.floating import AddressInUse, FloatingIpService, FloatingPool
from core.network.ipam import Ipam
from core.network.models import SecurityGroup, SecurityGroupRule
from core.policy import Enforcer
from core.policy.defaults import all_defaults
from core.quota.service import QuotaService


def member(project: str) -> RequestContext:
    return RequestContext(user_id=f"user-{project}", project_id=project, roles=("member", "reader"))


@pytest.fixture
def policy() -> Enforcer:
    return Enforcer(all_defaults(), None)


@pytest.fixture
def floating(db, settings, policy) -> FloatingIpService:
    pool = FloatingPool(db, "198.51.100.0/28", "public")  # 13 usable addresses
    return FloatingIpService(db, policy, QuotaService(db, settings), pool,
                             InstanceRecords(InstanceStore(db)))


@pytest.fixture
def groups(db, policy) -> sg.SecurityGroupService:
    return sg.SecurityGroupService(db, policy, InstanceRecords(InstanceStore(db)))


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
    results = race(13, lambda i: floating.allocate(member(f"p{i}")))
    addresses = [r.address for r in results if not isinstance(r, Exception)]
    assert len(addresses) == 13 and len(set(addresses)) == 13, results
    assert all(a.startswith("198.51.100.") and a != "198.51.100.1" for a in addresses)
    with pytest.raises(errors.Conflict):  # the range is exhausted
        floating.allocate(member("late"))


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


def test_association_moves_and_deletion_disassociates(db, floating):
    ctx = member("assoc")
    vm = _instance(db, "assoc")
    ipam = Ipam(db, "10.77.0.0/28", "public")
    ipam.ensure_pool()
    fixed = ipam.allocate(vm)
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


def test_concurrent_associations_of_one_address_pick_one_instance(db, floating):
    ctx = member("twice")
    ipam = Ipam(db, "10.78.0.0/28", "public")
    ipam.ensure_pool()
    vms = [_instance(db, "twice") for _ in range(4)]
    for vm in vms:
        ipam.allocate(vm)
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
    assert sorted((r.direction, r.cidr, r.remote_group_id) for r in rules) == [
        ("egress", "0.0.0.0/0", None), ("ingress", None, rows[0].id)]
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
    assert len(groups.get(ctx, made[0].uuid).rules) == 1


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
                replace(spec, cidr=None), replace(spec, cidr="10.0.0.0/33"),
                sg.RuleSpec(sg.INGRESS, None, 1, 2, cidr="0.0.0.0/0")):
        with pytest.raises(sg.InvalidRule):
            sg.check_spec(bad)
