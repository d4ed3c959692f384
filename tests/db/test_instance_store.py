"""InstanceStore.update on every database: the guarded change and what it
returns (read back by UPDATE ... RETURNING where the database has it, by a
second read on MariaDB) agree, and a change that does not apply changes
nothing."""

from __future__ import annotations

import pytest

from core.compute import states
from core.compute.instance_store import InstanceNotFound, InstanceStore, UnexpectedState
from core.compute.models import Instance


def make(db) -> str:
    with db.session() as s:
        inst = Instance(display_name="vm", hostname="vm", project_id="p", user_id="u",
                        image_ref="img", flavor={}, flavorid="1", vcpus=1, memory_mb=64,
                        root_gb=1, vm_state=states.BUILDING, task_state=states.SCHEDULING,
                        power_state=states.NOSTATE, reservation_id="r-1")
        s.add(inst)
        s.flush()
        return inst.uuid


def test_update_returns_the_changed_instance(db):
    store = InstanceStore(db)
    uuid = make(db)
    before = store.get(uuid)
    with db.session() as s:
        store.get(uuid, s)  # in the session's identity map already: still refreshed
        changed = store.update(uuid, {"host": "compute-1", "task_state": states.SPAWNING},
                               expected_task_state=[states.SCHEDULING], s=s)
        assert (changed.host, changed.task_state) == ("compute-1", states.SPAWNING)
        assert changed.generation == before.generation + 1
    after = store.get(uuid)
    assert (after.host, after.task_state, after.generation) == (
        "compute-1", states.SPAWNING, before.generation + 1)


def test_an_update_in_another_state_changes_nothing(db):
    store = InstanceStore(db)
    uuid = make(db)
    with pytest.raises(UnexpectedState):
        store.update(uuid, {"vm_state": states.ACTIVE},
                     expected_task_state=[states.SPAWNING])
    with pytest.raises(InstanceNotFound):
        store.update("no-such-instance", {"vm_state": states.ACTIVE})
    assert store.get(uuid).vm_state == states.BUILDING
