"""Instance actions and their events as Nova keeps them (``instance_actions``,
``instance_action_events``): the listing ``GET /servers/{id}/os-instance-actions``
pages (2.58: limit, marker = a request id, changes-since; 2.66: changes-before),
and the events a step of an action records (its host, result and, for a
failure, the details a non-admin may read)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.compute import states
from core.compute.models import InstanceAction, InstanceActionEvent
from core.compute.paging import page_after
from core.db import Database

SUCCESS = "Success"
ERROR = "Error"


@dataclass
class ActionQuery:
    """Paging and time filters of an instance's actions (updated_at bounds)."""

    limit: int | None = None
    marker: str | None = None  # the request_id of the last action of the previous page
    changes_since: datetime | None = None
    changes_before: datetime | None = None


class InstanceActionRecords:
    """Reads the actions of one instance and records the events of a step."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def list_actions(self, instance_uuid: str, query: ActionQuery) -> list[InstanceAction]:
        """The instance's actions, newest first, after the marker's (400 for a marker
        that is not one of them)."""
        order = (InstanceAction.start_time.desc(), InstanceAction.id.desc())
        stmt = select(InstanceAction).where(InstanceAction.instance_uuid == instance_uuid)
        if query.changes_since is not None:
            stmt = stmt.where(InstanceAction.updated_at >= query.changes_since)
        if query.changes_before is not None:
            stmt = stmt.where(InstanceAction.updated_at <= query.changes_before)
        with self.db.session() as s:
            rows = list(s.scalars(stmt.order_by(*order)))
        return page_after(rows, query.marker, lambda a: a.request_id, query.limit)

    def events(self, action_id: int) -> list[InstanceActionEvent]:
        with self.db.session() as s:
            return list(s.scalars(select(InstanceActionEvent).where(
                InstanceActionEvent.action_id == action_id)
                .order_by(InstanceActionEvent.start_time, InstanceActionEvent.id)))

    def record_event(self, instance_uuid: str, request_id: str | None, event: str,
                     host: str | None, error: str | None = None,
                     details: str | None = None) -> None:
        """A finished step ``event`` of the instance's action ``request_id`` (its
        latest action when None); a failed one marks the action ``Error`` as Nova."""
        with self.db.session() as s:
            add_event(s, instance_uuid, request_id, event, host, error, details)


def add_event(s: Session, instance_uuid: str, request_id: str | None, event: str,
              host: str | None, error: str | None = None, details: str | None = None,
              action_name: str | None = None) -> None:
    """:meth:`InstanceActionRecords.record_event` in the caller's transaction; with
    ``action_name``, on the latest action of that name."""
    now = utcnow()
    stmt = select(InstanceAction).where(InstanceAction.instance_uuid == instance_uuid)
    if request_id is not None:
        stmt = stmt.where(InstanceAction.request_id == request_id)
    if action_name is not None:
        stmt = stmt.where(InstanceAction.action == action_name)
    action = s.scalars(stmt.order_by(InstanceAction.start_time.desc(),
                                     InstanceAction.id.desc()).limit(1)).first()
    if action is None:
        return
    s.add(InstanceActionEvent(action_id=action.id, event=event, host=host,
                              result=ERROR if error else SUCCESS, traceback=error,
                              details=details if error else None,
                              start_time=now, finish_time=now))
    values: dict = {"updated_at": now}
    if error:
        values["message"] = ERROR
    s.execute(update(InstanceAction).where(InstanceAction.id == action.id).values(**values))


# The compute host's event of each state action, by the task it ends (Nova's
# wrap_instance_event names: "compute_" and the manager's method).
TASK_EVENTS = {
    states.POWERING_OFF: "compute_stop_instance",
    states.POWERING_ON: "compute_start_instance",
    states.REBOOTING: "compute_reboot_instance",
    states.REBOOTING_HARD: "compute_reboot_instance",
    states.PAUSING: "compute_pause_instance",
    states.UNPAUSING: "compute_unpause_instance",
    states.SUSPENDING: "compute_suspend_instance",
    states.RESUMING: "compute_resume_instance",
    states.RESCUING: "compute_rescue_instance",
    states.UNRESCUING: "compute_unrescue_instance",
    states.UPDATING_PASSWORD: "compute_set_admin_password",
    states.SOFT_DELETING: "compute_soft_delete_instance",
    states.RESTORING: "compute_restore_instance",
}
BUILD_EVENT = "compute__do_build_and_run_instance"
