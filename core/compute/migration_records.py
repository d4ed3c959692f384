"""Migration records: every move of an instance between hosts (a resize, a cold
migration, a live migration, an evacuation) as Nova's ``migrations`` table
keeps it, with the statuses Nova gives each kind, and their listing
(``GET /os-migrations``, ``GET /servers/{id}/migrations``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import errors
from core.clock import utcnow
from core.compute.instance_store import InstanceStore, not_found
from core.compute.models import Flavor, Instance, Migration
from core.compute.paging import page_after
from core.context import RequestContext
from core.db import Database
from core.policy import PolicyEnforcer

RESIZE = "resize"
COLD = "migration"
LIVE = "live-migration"
EVACUATION = "evacuation"
KINDS = (RESIZE, COLD, LIVE, EVACUATION)

# Nova's statuses of a migration that is still going on, by kind.
IN_PROGRESS = ("queued", "preparing", "running", "pre-migrating", "migrating",
               "post-migrating", "accepted", "confirming", "reverting")
LIST_RULE = "os_compute_api:os-migrations:index"
SERVER_LIST_RULE = "os_compute_api:servers:migrations:index"
SERVER_SHOW_RULE = "os_compute_api:servers:migrations:show"


@dataclass
class MigrationQuery:
    """The filters of ``GET /os-migrations``: Nova's of 2.1, 2.23's type, 2.59's
    paging (marker: a migration uuid) and changes-since, 2.66's changes-before,
    2.80's user and project."""

    host: str | None = None
    status: str | None = None
    instance_uuid: str | None = None
    migration_type: str | None = None
    source_compute: str | None = None
    limit: int | None = None
    marker: str | None = None
    changes_since: datetime | None = None
    changes_before: datetime | None = None
    user_id: str | None = None
    project_id: str | None = None


def flavor_row_id(s: Session, flavor: dict | None) -> int | None:
    """The flavors table's id of an embedded flavor (Nova's instance_type_id)."""
    if not flavor:
        return None
    return s.scalar(select(Flavor.id).where(Flavor.flavorid == flavor.get("flavorid")))


class MigrationRecords:
    """Writes and reads of migration rows (used by the API and the conductor)."""

    def __init__(self, db: Database, policy: PolicyEnforcer | None = None,
                 store: InstanceStore | None = None) -> None:
        self.db = db
        self.policy = policy
        self.store = store

    # ---- writes ----------------------------------------------------------------
    def start(self, inst: Instance, kind: str, status: str, *, dest: str | None = None,
              new_flavor: dict | None = None, s: Session | None = None) -> str:
        """A new migration of ``inst`` from its host; its uuid."""
        if s is None:
            with self.db.session() as own:
                return self.start(inst, kind, status, dest=dest, new_flavor=new_flavor, s=own)
        old_id = flavor_row_id(s, inst.flavor)
        row = Migration(instance_uuid=inst.uuid, project_id=inst.project_id,
                        user_id=inst.user_id, migration_type=kind, status=status,
                        source_compute=inst.host, source_node=inst.node,
                        dest_compute=dest, dest_node=dest, dest_host=None,
                        old_instance_type_id=old_id,
                        new_instance_type_id=flavor_row_id(s, new_flavor) if new_flavor
                        else old_id, updated_at=utcnow())
        s.add(row)
        s.flush()
        return row.uuid

    def set_status(self, instance_uuid: str, status: str, *, kind: str | tuple[str, ...]
                   = KINDS, dest: str | None = None, expected: tuple[str, ...] = IN_PROGRESS
                   ) -> int:
        """Move the instance's migration of ``kind`` in progress (one of
        ``expected``) to ``status`` (naming its destination, when known);
        how many rows changed."""
        kinds = (kind,) if isinstance(kind, str) else kind
        values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
        if dest:
            values.update(dest_compute=dest, dest_node=dest)
        with self.db.session() as s:
            result = s.execute(update(Migration).where(
                Migration.instance_uuid == instance_uuid,
                Migration.migration_type.in_(kinds),
                Migration.status.in_(expected)).values(**values))
            return int(getattr(result, "rowcount", 0) or 0)

    # ---- reads -------------------------------------------------------------------
    def list_migrations(self, ctx: RequestContext, query: MigrationQuery) -> list[Migration]:
        """Every migration matching ``query``, newest first (admin by default)."""
        assert self.policy is not None
        self.policy.enforce(LIST_RULE, {"project_id": ctx.project_id}, ctx)
        stmt = select(Migration).order_by(Migration.created_at.desc(), Migration.id.desc())
        if query.host:
            stmt = stmt.where((Migration.source_compute == query.host)
                              | (Migration.dest_compute == query.host))
        if query.source_compute:
            stmt = stmt.where(Migration.source_compute == query.source_compute)
        if query.status:
            stmt = stmt.where(Migration.status == query.status)
        if query.instance_uuid:
            stmt = stmt.where(Migration.instance_uuid == query.instance_uuid)
        if query.migration_type:
            stmt = stmt.where(Migration.migration_type == query.migration_type)
        if query.changes_since is not None:
            stmt = stmt.where(Migration.updated_at >= query.changes_since)
        if query.changes_before is not None:
            stmt = stmt.where(Migration.updated_at <= query.changes_before)
        if query.user_id:
            stmt = stmt.where(Migration.user_id == query.user_id)
        if query.project_id:
            stmt = stmt.where(Migration.project_id == query.project_id)
        with self.db.session() as s:
            rows = list(s.scalars(stmt))
        return page_after(rows, query.marker, lambda m: m.uuid, query.limit)

    def of_server(self, ctx: RequestContext, uuid: str, in_progress_only: bool = True,
                  rule: str = SERVER_LIST_RULE) -> list[Migration]:
        """The server's live migrations in progress (``GET /servers/{id}/migrations``)."""
        assert self.policy is not None and self.store is not None
        inst = self.store.get(uuid)
        if not ctx.is_admin and inst.project_id != ctx.project_id:
            raise not_found(uuid)  # as Nova: the server is looked up first
        self.policy.enforce(rule, {"project_id": inst.project_id}, ctx)
        stmt = select(Migration).where(Migration.instance_uuid == inst.uuid,
                                       Migration.migration_type == LIVE)
        if in_progress_only:
            stmt = stmt.where(Migration.status.in_(IN_PROGRESS))
        with self.db.session() as s:
            return list(s.scalars(stmt.order_by(Migration.id)))

    def get_of_server(self, ctx: RequestContext, uuid: str, migration_id: int) -> Migration:
        for row in self.of_server(ctx, uuid, rule=SERVER_SHOW_RULE):
            if row.id == migration_id:
                return row
        raise errors.NotFound(f"In-progress live migration {migration_id} is not found for "
                              f"server {uuid}.", id=str(migration_id))

    def instance_exists(self, uuid: str) -> bool:
        with self.db.session() as s:
            return s.scalar(select(Instance.id).where(Instance.uuid == uuid)) is not None
