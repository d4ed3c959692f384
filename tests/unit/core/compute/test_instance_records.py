"""core/compute/instance_records.py: compute's answers to what the network
domain asks of instances (owner, liveness, security group names)."""

from __future__ import annotations

import pytest

from core import errors
from core.compute import states
from core.compute.instance_records import InstanceRecords
from core.services import CoreServices
from tests.support.core_services import add_instance


@pytest.fixture
def records(core: CoreServices) -> InstanceRecords:
    return InstanceRecords(core.instances)


def test_project_of_a_live_instance(core, records):
    uuid = add_instance(core.db, project_id="p7")
    assert records.project_of(uuid) == "p7"
    gone = add_instance(core.db, deleted=True, vm_state=states.DELETED)
    for missing in (gone, "no-such-uuid"):
        with pytest.raises(errors.NotFound, match=f"^Instance {missing} could not be found.$"):
            records.project_of(missing)


def test_is_live_reads_in_the_callers_transaction(core, records):
    live = add_instance(core.db)
    gone = add_instance(core.db, deleted=True)
    with core.db.session() as s:
        assert records.is_live(s, live)
        assert not records.is_live(s, gone) and not records.is_live(s, "no-such-uuid")


def test_security_groups_in_use_by_live_instances_of_the_project(core, records):
    a = add_instance(core.db, security_groups=["default", "web"])
    b = add_instance(core.db, security_groups=None)
    add_instance(core.db, security_groups=["db"], deleted=True)
    add_instance(core.db, project_id="p2", security_groups=["other"])
    with core.db.session() as s:
        assert sorted(records.security_groups_in_use(s, "p1")) == sorted(
            [(a, ["default", "web"]), (b, [])])


def test_set_security_groups(core, records):
    uuid = add_instance(core.db)
    before = core.instances.get(uuid).generation
    with core.db.session() as s:
        records.set_security_groups(s, uuid, ("web", "db"))
    inst = core.instances.get(uuid)
    assert inst.security_groups == ["web", "db"] and inst.generation == before + 1
