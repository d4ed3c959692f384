"""Aborting a live migration (``DELETE /servers/{id}/migrations/{mid}``, compute
2.24): only while the server is migrating (409 otherwise), and only a running
migration, or from 2.65 also one still queued or preparing (400 otherwise). The
abort puts everything back as before the move: the claim on the destination
goes, the source's parked allocation comes back, the server stays where it was.

Forcing one to complete (``POST .../migrations/{mid}/action`` ``force_complete``,
2.22) has Nova's checks: the server migrating (409), the migration its own (400
otherwise, as Nova's MigrationNotFoundForInstance) and running (400). Nova's
hypervisor then pauses the guest so its memory copy converges; a simulated live
migration copies no memory, so here the request is recorded as the server's
``live_migration_force_complete`` action and the migration ends as it would."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select, update

from core import errors
from core.clock import utcnow
from core.compute import states
from core.compute.instance_store import UnexpectedState
from core.compute.migration_records import LIVE
from core.compute.models import Migration
from core.compute.server_actions import wrong_state
from core.compute.usage import migration_consumer
from core.context import RequestContext
from core.placement import claims

if TYPE_CHECKING:
    from core.compute.move_actions import MoveActions

ABORT = "os_compute_api:servers:migrations:delete"
FORCE_COMPLETE = "os_compute_api:servers:migrations:force_complete"
RUNNING = ("running",)
QUEUED = ("queued", "preparing")


def abort_live_migration(moves: MoveActions, ctx: RequestContext, uuid: str,
                         migration_id: int, allow_queued: bool) -> None:
    inst = moves.servers.get(ctx, uuid, ABORT)
    if inst.task_state != states.MIGRATING:
        raise wrong_state("abort live migration", inst, "task_state")
    db = moves.servers.db
    with db.session() as s:
        row = s.scalars(select(Migration).where(Migration.id == migration_id,
                                                Migration.instance_uuid == inst.uuid)).first()
    if row is None:
        raise errors.NotFound(f"Migration {migration_id} not found for instance {inst.uuid}",
                              id=str(migration_id))
    allowed = RUNNING + (QUEUED if allow_queued else ())
    if row.migration_type != LIVE or row.status not in allowed:
        raise errors.InvalidInput(f"Migration {migration_id} state of instance {inst.uuid} "
                                  f"is {row.status}. Cannot abort live migration while the "
                                  "migration is in this state.")
    with db.session() as s:
        changed = s.execute(update(Migration).where(
            Migration.id == migration_id, Migration.status.in_(allowed))
            .values(status="cancelled", updated_at=utcnow()))
    if not getattr(changed, "rowcount", 0):  # it moved on meanwhile
        raise errors.InvalidInput(f"Migration {migration_id} state of instance {inst.uuid} "
                                  "changed. Cannot abort live migration now.")
    moves.servers.record_action(ctx, inst, "live_migration_cancel")
    try:
        moves.store.update(inst.uuid, {"task_state": None},
                           expected_task_state=[states.MIGRATING])
    except UnexpectedState:
        return
    claims.release_resources(db, inst.uuid)
    claims.rename_consumer(db, migration_consumer(inst.uuid), inst.uuid)
    moves.notifier.instance(inst, "live_migration_abort.end")


def force_complete_live_migration(moves: MoveActions, ctx: RequestContext, uuid: str,
                                  migration_id: int) -> None:
    inst = moves.servers.get(ctx, uuid, FORCE_COMPLETE)
    if inst.task_state != states.MIGRATING:
        raise wrong_state("force complete", inst, "task_state")
    with moves.servers.db.session() as s:
        row = s.scalars(select(Migration).where(Migration.id == migration_id,
                                                Migration.instance_uuid == inst.uuid)).first()
    if row is None or row.migration_type != LIVE:
        raise errors.InvalidInput(f"Migration {migration_id} not found for instance "
                                  f"{inst.uuid}")
    if row.status not in RUNNING:
        raise errors.InvalidInput(f"Migration {migration_id} state of instance {inst.uuid} "
                                  f"is {row.status}. Cannot force complete while the "
                                  "migration is in this state.")
    moves.servers.record_action(ctx, inst, "live_migration_force_complete")
