"""Alembic migrations: the schema they build is the schema the models describe,
and 0010 turns the flat address pools' rows into Neutron's objects."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, String, inspect, select

import core.db.migrations.all_models  # noqa: F401  (every table into Base.metadata)
from core.compute.models import Instance
from core.db.base import Base
from core.db.migrate import alembic_config, downgrade, upgrade
from core.identity.models import Domain, Project
from core.idmap.ids import Ec2Ids, Kind
from core.idmap.models import Ec2Id
from core.network.models import (
    FloatingIp,
    IpAllocation,
    Network,
    Port,
    PortSecurityGroup,
    Router,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
)
from core.quota.models import QuotaUsage

MODEL_TABLES = set(Base.metadata.tables)
VERSION_TABLE = "alembic_version"


def tables(db) -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {VERSION_TABLE}


def current_revision(db) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(db) -> str:
    return ScriptDirectory.from_config(alembic_config(db.url)).get_current_head()


def schema_differences(db, metadata: MetaData = Base.metadata) -> list:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, metadata)


def test_empty_database_has_no_tables(empty_db):
    assert tables(empty_db) == set()


def test_upgrade_to_head_creates_every_model_table(empty_db):
    upgrade(empty_db)
    assert tables(empty_db) == MODEL_TABLES
    assert current_revision(empty_db) == head_revision(empty_db)


def test_migrated_schema_matches_the_models(db):
    assert schema_differences(db) == []


def test_schema_comparison_notices_a_changed_model(db):
    """Guards the test above against comparing nothing: a model edit shows up."""
    edited = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(edited)
    edited.tables["users"].c.name.type = String(100)
    edited.tables["roles"].c.description.nullable = False
    changed = {(d[0][0], d[0][2], d[0][3]) for d in schema_differences(db, edited)}
    assert changed == {("modify_type", "users", "name"),
                       ("modify_nullable", "roles", "description")}


def test_downgrade_to_base_drops_every_table(db):
    downgrade(db, "base")
    assert tables(db) == set()
    assert current_revision(db) is None


def test_upgrade_twice_is_a_no_op(db):
    upgrade(db)
    assert tables(db) == MODEL_TABLES
    assert current_revision(db) == head_revision(db)
    assert schema_differences(db) == []


def test_upgrade_after_downgrade_rebuilds_the_schema(db):
    downgrade(db, "base")
    upgrade(db)
    assert tables(db) == MODEL_TABLES
    assert schema_differences(db) == []


# ---- 0010: the flat pools become Neutron's objects, keeping every EC2 ID -------------
ALLOC, ASSOC = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"
SPARE = "cccccccc-0000-4000-8000-000000000003"


def _flat_pools_at_0009(db) -> dict[str, str]:
    """A database at 0009 as the flat pools left it: two live instances with
    fixed addresses (one with groups), a deleted one still holding one, an
    allocated and associated floating IP and an allocated spare, with their
    EC2 IDs and usage rows. Returns the instances' uuids."""
    upgrade(db, "0009")
    now = datetime(2026, 12, 1, 12, 0, 0)
    t = sa.table
    c = sa.column
    with db.engine.begin() as conn:
        conn.execute(sa.insert(Domain.__table__), [{"id": "default", "name": "Default"}])
        conn.execute(sa.insert(Project.__table__), [
            {"id": "p-admin", "name": "admin", "domain_id": "default", "enabled": True,
             "tags": [], "extra": {}, "created_at": now},
            {"id": "p1", "name": "demo", "domain_id": "default", "enabled": True,
             "tags": [], "extra": {}, "created_at": now}])
        uuids = {"web": "11111111-0000-4000-8000-000000000001",
                 "db": "11111111-0000-4000-8000-000000000002",
                 "gone": "11111111-0000-4000-8000-000000000003"}
        for name, uuid in uuids.items():
            conn.execute(sa.insert(Instance.__table__).values(
                uuid=uuid, display_name=name, hostname=name, project_id="p1", user_id="u",
                flavor={}, flavorid="1", vcpus=1, memory_mb=64, root_gb=1,
                reservation_id="r-1", host="h1", deleted=name == "gone",
                security_groups=["default", "web"] if name == "web" else ["default"]))
        groups = t("security_groups", c("id"), c("uuid"), c("project_id"), c("name"),
                   c("description"), c("generation"), c("created_at"), c("updated_at"))
        conn.execute(sa.insert(groups), [
            {"id": 1, "uuid": "g-default", "project_id": "p1", "name": "default",
             "description": "", "generation": 0, "created_at": now, "updated_at": now},
            {"id": 2, "uuid": "g-web", "project_id": "p1", "name": "web",
             "description": "", "generation": 0, "created_at": now, "updated_at": now}])
        rules = t("security_group_rules", c("uuid"), c("group_id"), c("direction"),
                  c("protocol"), c("cidr"), c("remote_group_id"), c("fingerprint"),
                  c("created_at"))
        conn.execute(sa.insert(rules), [
            {"uuid": "r1", "group_id": 1, "direction": "ingress", "protocol": None,
             "cidr": None, "remote_group_id": 1, "fingerprint": "i", "created_at": now},
            {"uuid": "r2", "group_id": 1, "direction": "egress", "protocol": None,
             "cidr": "0.0.0.0/0", "remote_group_id": None, "fingerprint": "e",
             "created_at": now},
            {"uuid": "r3", "group_id": 2, "direction": "ingress", "protocol": "tcp",
             "cidr": "0.0.0.0/0", "remote_group_id": None, "fingerprint": "t",
             "created_at": now}])
        fixed = t("fixed_ips", c("address"), c("network"), c("instance_uuid"),
                  c("mac_address"), c("allocated_at"))
        holders = {"10.9.0.2": (uuids["web"], "fa:16:3e:00:00:02"),
                   "10.9.0.3": (uuids["db"], "fa:16:3e:00:00:03"),
                   "10.9.0.4": (uuids["gone"], "fa:16:3e:00:00:04")}
        conn.execute(sa.insert(fixed), [
            {"address": f"10.9.0.{i}", "network": "public",
             "instance_uuid": holders.get(f"10.9.0.{i}", (None, None))[0],
             "mac_address": holders.get(f"10.9.0.{i}", (None, None))[1],
             "allocated_at": now if f"10.9.0.{i}" in holders else None}
            for i in range(2, 15)])  # the pool: every host of 10.9.0.0/28 but the first
        floating = t("floating_ips", c("address"), c("pool"), c("project_id"),
                     c("allocation_id"), c("instance_uuid"), c("fixed_address"),
                     c("association_id"), c("allocated_at"), c("associated_at"))
        rows = [{"address": f"203.0.113.{i}", "pool": "public", "project_id": None,
                 "allocation_id": None, "instance_uuid": None, "fixed_address": None,
                 "association_id": None, "allocated_at": None, "associated_at": None}
                for i in range(2, 7)]  # every host of 203.0.113.0/29 but the first
        rows[0].update(project_id="p1", allocation_id=ALLOC, instance_uuid=uuids["web"],
                       fixed_address="10.9.0.2", association_id=ASSOC, allocated_at=now,
                       associated_at=now)
        rows[1].update(project_id="p1", allocation_id=SPARE, allocated_at=now)
        conn.execute(sa.insert(floating), rows)
        conn.execute(sa.insert(Ec2Id.__table__), [
            {"ec2_id": "eipalloc-0123456789abcdef0", "kind": "eipalloc", "os_uuid": ALLOC,
             "project_id": "p1", "created_at": now},
            {"ec2_id": "eipassoc-0123456789abcdef0", "kind": "eipassoc", "os_uuid": ASSOC,
             "project_id": "p1", "created_at": now},
            {"ec2_id": "eipalloc-0fedcba987654321f", "kind": "eipalloc", "os_uuid": SPARE,
             "project_id": "p1", "created_at": now}])
        conn.execute(sa.insert(QuotaUsage.__table__), [
            {"project_id": "p1", "resource": "floating_ips", "in_use": 2},
            {"project_id": "p1", "resource": "instances", "in_use": 2}])
    return uuids


def test_0010_turns_the_flat_pools_into_ports_and_floating_ips(empty_db):
    db = empty_db
    uuids = _flat_pools_at_0009(db)
    upgrade(db)
    with db.session() as s:
        nets = {n.name: n for n in s.scalars(select(Network))}
        assert set(nets) == {"private", "public"}
        private, public = nets["private"], nets["public"]
        assert (private.shared, private.external, private.is_default) == (True, False, True)
        assert (public.external, public.is_default) == (True, False)
        assert private.project_id == public.project_id == "p-admin"
        subnets = {sub.network_id: sub for sub in s.scalars(select(Subnet))}
        assert (subnets[private.id].cidr, subnets[private.id].gateway_ip) == \
            ("10.9.0.0/28", "10.9.0.1")
        assert (subnets[public.id].cidr, subnets[public.id].gateway_ip) == \
            ("203.0.113.0/29", "203.0.113.1")
        ports = {p.device_id: p for p in s.scalars(select(Port).where(
            Port.device_owner == "compute:nova"))}
        assert set(ports) == {uuids["web"], uuids["db"]}  # not the deleted instance's
        web = ports[uuids["web"]]
        assert (web.mac_address, web.project_id, web.binding_host_id, web.compute_made,
                web.network_id) == ("fa:16:3e:00:00:02", "p1", "h1", True, private.id)
        held = dict(s.execute(select(IpAllocation.port_id, IpAllocation.ip_address))
                    .tuples().all())
        assert held[web.id] == "10.9.0.2" and held[ports[uuids["db"]].id] == "10.9.0.3"
        assert "10.9.0.4" not in held.values()
        assert sorted(s.scalars(select(SecurityGroup.name).join(
            PortSecurityGroup, PortSecurityGroup.group_id == SecurityGroup.id).where(
            PortSecurityGroup.port_id == web.id))) == ["default", "web"]
        (router,) = s.scalars(select(Router))
        assert router.gw_network_id == public.id
        interface = s.scalar(select(Port).where(Port.device_id == router.id,
                                                Port.device_owner == "network:router_interface"))
        assert held[interface.id] == "10.9.0.1"
        assert held[router.gw_port_id] not in ("203.0.113.2", "203.0.113.3")
        fips = {f.id: f for f in s.scalars(select(FloatingIp))}
        assert set(fips) == {ALLOC, SPARE}  # the free addresses are no objects
        on = fips[ALLOC]
        assert (on.floating_ip_address, on.project_id, on.port_id, on.fixed_ip_address,
                on.router_id, on.status, on.association_id) == \
            ("203.0.113.2", "p1", web.id, "10.9.0.2", router.id, "ACTIVE", ASSOC)
        spare = fips[SPARE]
        assert (spare.floating_ip_address, spare.port_id, spare.association_id,
                spare.status) == ("203.0.113.3", None, None, "DOWN")
        assert held[spare.floating_port_id] == "203.0.113.3"
        usage = dict(s.execute(select(QuotaUsage.resource, QuotaUsage.in_use)
                               .where(QuotaUsage.project_id == "p1")).tuples().all())
    assert usage == {"floating_ips": 2, "instances": 2, "ports": 2, "security_groups": 2,
                     "security_group_rules": 3}
    ids = Ec2Ids(db)
    assert ids.existing(Kind.ADDRESS, [ALLOC, SPARE]) == {
        ALLOC: "eipalloc-0123456789abcdef0", SPARE: "eipalloc-0fedcba987654321f"}
    assert ids.existing(Kind.ASSOCIATION, [ASSOC]) == {ASSOC: "eipassoc-0123456789abcdef0"}
    assert schema_differences(db) == []


def test_0010_downgrade_keeps_the_groups_rules(db):
    with db.session() as s:
        group = SecurityGroup(project_id="p1", name="default")
        s.add(group)
        s.flush()
        s.add(SecurityGroupRule(group_id=group.id, direction="ingress", fingerprint="f"))
    downgrade(db, "0009")
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM security_group_rules")).scalar() == 1
        assert conn.execute(sa.text("SELECT COUNT(*) FROM security_groups")).scalar() == 1
