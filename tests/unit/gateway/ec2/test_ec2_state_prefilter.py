"""What the database applies first for DescribeInstances' ``instance-state-name``
(core/compute/server_listing.py) passes every instance that EC2's state
mapping (gateway/ec2/handlers/instances.py's ``state_of``) gives that name:
checked over every vm_state, task_state, power state and deletion, on SQLite."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, insert
from sqlalchemy.orm import Session

from core.compute import states
from core.compute.models import Instance
from core.compute.server_listing import EC2_STATE_NAMES, ServerQuery, build
from gateway.ec2.handlers.instances import state_of

VM_STATES = sorted({v for k, v in vars(states).items() if k.isupper() and isinstance(v, str)
                    and v in states._STATE_MAP} | {"some-new-state"})
TASKS = sorted({v for k, v in vars(states).items() if k.isupper() and isinstance(v, str)
                and v not in states._STATE_MAP}) + [None, "some-new-task"]
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def rows():
    engine = create_engine("sqlite://")
    Instance.__table__.create(engine)
    combos = list(itertools.product(VM_STATES, TASKS, (states.RUNNING, states.SHUTDOWN),
                                    (False, True)))
    with Session(engine) as s:
        s.execute(insert(Instance), [{
            "uuid": f"u-{i}", "display_name": "x", "project_id": "p", "user_id": "u",
            "flavor": {}, "flavorid": "1", "vcpus": 1, "memory_mb": 1, "root_gb": 1,
            "reservation_id": "r", "vm_state": vm, "task_state": task, "power_state": power,
            "deleted": deleted, "deleted_at": WHEN if deleted else None}
            for i, (vm, task, power, deleted) in enumerate(combos)])
        s.commit()
        yield s, {f"u-{i}": state_of(SimpleNamespace(vm_state=vm, task_state=task,
                                                     power_state=power, deleted=deleted))[1]
                  for i, (vm, task, power, deleted) in enumerate(combos)}


@pytest.mark.parametrize("name", sorted(EC2_STATE_NAMES))
def test_each_state_name_selects_every_instance_showing_it(rows, name):
    s, shown = rows
    selected = set(s.scalars(build(ServerQuery(deleted_since=WHEN, ec2_states=[name]))
                             .with_only_columns(Instance.uuid)))
    wanted = {uuid for uuid, state in shown.items() if state == name}
    assert wanted and wanted <= selected


def test_every_state_name_is_known_to_the_database_query(rows):
    _, shown = rows
    assert set(shown.values()) <= EC2_STATE_NAMES


def test_an_unknown_name_selects_nothing(rows):
    s, _ = rows
    assert not s.scalars(build(ServerQuery(deleted_since=WHEN, ec2_states=["asleep"]))
                         .with_only_columns(Instance.uuid)).all()
