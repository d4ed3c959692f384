"""Reads and guarded writes of instance records, shared by the API side and the
conductor (compute agents reach these only through the conductor).

Every state change is a compare-and-swap on the states it expects (and bumps
``generation``): a message delivered twice, or two requests racing, change an
instance at most once; the loser learns why.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from core import errors
from core.compute.models import Instance, InstanceFault
from core.db import Database
from core.db.base import utcnow

UNSET: Any = object()


class InstanceNotFound(errors.NotFound):
    pass


class UnexpectedState(errors.Conflict):
    """The instance is not in the state the change expected (someone else moved it)."""


def not_found(uuid: str) -> InstanceNotFound:
    return InstanceNotFound(f"Instance {uuid} could not be found.", kind="instance", id=uuid)


class InstanceStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, uuid: str, s: Session | None = None, deleted: bool = False) -> Instance:
        """The instance (deleted ones only when asked) or InstanceNotFound."""
        if s is None:
            with self.db.session() as s2:
                return self.get(uuid, s2, deleted)
        inst = s.scalar(select(Instance).where(Instance.uuid == uuid))
        if inst is None or (inst.deleted and not deleted):
            raise not_found(uuid)
        return inst

    def update(self, uuid: str, values: dict[str, Any], *,
               expected_task_state: Iterable[str | None] | None = UNSET,
               expected_vm_state: Iterable[str] | None = UNSET,
               expected_host: str | None = UNSET,
               expected_generation: int | None = None,
               s: Session | None = None) -> Instance:
        """Apply ``values`` if the instance is (still) in the expected states.

        Raises InstanceNotFound when it is gone (deleted), UnexpectedState otherwise.
        """
        if s is None:
            with self.db.session() as s2:
                return self.update(uuid, values, expected_task_state=expected_task_state,
                                   expected_vm_state=expected_vm_state,
                                   expected_host=expected_host,
                                   expected_generation=expected_generation, s=s2)
        stmt = update(Instance).where(Instance.uuid == uuid, Instance.deleted.is_(False))
        if expected_task_state is not UNSET:
            tasks = list(expected_task_state or [None])
            named = [t for t in tasks if t is not None]
            cond: Any = Instance.task_state.in_(named) if named else None
            if None in tasks:
                cond = Instance.task_state.is_(None) if cond is None else \
                    (cond | Instance.task_state.is_(None))
            stmt = stmt.where(cond)
        if expected_vm_state is not UNSET:
            stmt = stmt.where(Instance.vm_state.in_(list(expected_vm_state or [])))
        if expected_host is not UNSET:
            stmt = stmt.where(Instance.host == expected_host if expected_host is not None
                              else Instance.host.is_(None))
        if expected_generation is not None:  # nothing changed it since it was read
            stmt = stmt.where(Instance.generation == expected_generation)
        values = dict(values)
        values.setdefault("updated_at", utcnow())
        stmt = stmt.values(generation=Instance.generation + 1, **values)
        if s.get_bind().dialect.update_returning:
            # PostgreSQL and SQLite hand the changed row back: no second read.
            # (MariaDB has no UPDATE ... RETURNING.)
            changed = s.scalars(stmt.returning(Instance), execution_options={
                "synchronize_session": False, "populate_existing": True}).one_or_none()
            if changed is not None:
                return changed
        else:
            result = s.execute(stmt)
            if isinstance(result, CursorResult) and result.rowcount == 1:
                return self.get(uuid, s)
        inst = s.scalar(select(Instance).where(Instance.uuid == uuid))
        if inst is None or inst.deleted:
            raise not_found(uuid)
        raise UnexpectedState(
            f"Instance {uuid} is in vm_state {inst.vm_state} task_state {inst.task_state}; "
            f"expected {_describe(expected_vm_state, expected_task_state)}.",
            kind="instance", id=uuid, state=inst.task_state or inst.vm_state,
            vm_state=inst.vm_state, task_state=inst.task_state)

    def add_fault(self, s: Session, uuid: str, code: int, message: str,
                  details: str | None = None, host: str | None = None) -> None:
        s.add(InstanceFault(instance_uuid=uuid, code=code, message=message[:255],
                            details=details, host=host))

    def latest_faults(self, uuids: list[str]) -> dict[str, InstanceFault]:
        if not uuids:
            return {}
        with self.db.session() as s:
            out: dict[str, InstanceFault] = {}
            for fault in s.scalars(select(InstanceFault).where(
                    InstanceFault.instance_uuid.in_(uuids)).order_by(InstanceFault.id)):
                out[fault.instance_uuid] = fault
            return out


def _describe(vm: Any, task: Any) -> str:
    parts = []
    if vm is not UNSET:
        parts.append(f"vm_state in {list(vm or [])}")
    if task is not UNSET:
        parts.append(f"task_state in {list(task or [None])}")
    return " and ".join(parts) or "no change"


def instance_message(inst: Instance) -> dict[str, Any]:
    """The instance as the conductor sends it to a compute agent (no database)."""
    return {"uuid": inst.uuid, "name": inst.display_name, "hostname": inst.hostname,
            "project_id": inst.project_id, "user_id": inst.user_id,
            "image_ref": inst.image_ref, "flavor": inst.flavor, "new_flavor": inst.new_flavor,
            "old_flavor": inst.old_flavor, "host": inst.host, "node": inst.node,
            "vm_state": inst.vm_state, "task_state": inst.task_state,
            "power_state": inst.power_state, "key_data": inst.key_data,
            "user_data": inst.user_data, "metadata": inst.metadata_items,
            "availability_zone": inst.availability_zone}
