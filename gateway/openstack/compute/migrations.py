"""``GET /os-migrations`` (every move: resize, cold and live migration,
evacuation) and, from 2.23, a server's live migrations in progress
(``GET /servers/{id}/migrations[/{migration_id}]``, aborted by DELETE from
2.24), in Nova's fields per microversion: 2.59 paging and ``uuid``, 2.66
changes-before, 2.80 ``user_id`` / ``project_id``."""

from __future__ import annotations

from typing import Any

from connexion import NoContent

from core import errors
from core.compute.live_abort import abort_live_migration, force_complete_live_migration
from core.compute.migration_records import IN_PROGRESS, LIVE, MigrationQuery
from core.compute.models import Migration
from core.context import RequestContext
from core.numbers import BadInteger, parse_int
from gateway.openstack.compute import microversions
from gateway.openstack.compute.base import MAX_INT, Handler, parse_bool
from gateway.openstack.compute.instance_actions import next_link, paging_query

FILTERS = ("hidden", "host", "instance_uuid", "source_compute", "status", "migration_type")


def _time(value: Any) -> str | None:
    """Nova's migration times: microseconds, no zone."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value is not None else None


def _common(m: Migration) -> dict[str, Any]:
    return {"id": m.id, "created_at": _time(m.created_at), "updated_at": _time(m.updated_at),
            "source_compute": m.source_compute, "source_node": m.source_node,
            "dest_compute": m.dest_compute, "dest_node": m.dest_node,
            "dest_host": m.dest_host, "status": m.status}


def _versioned(out: dict[str, Any], m: Migration, mv: microversions.APIVersion
               ) -> dict[str, Any]:
    """2.59's ``uuid``, 2.80's ``user_id`` and ``project_id``."""
    if mv >= (2, 59):
        out["uuid"] = m.uuid
    if mv >= (2, 80):
        out["user_id"] = m.user_id
        out["project_id"] = m.project_id
    return out


class Migrations(Handler):
    def _link(self, m: Migration) -> list[dict[str, str]]:
        return self.links(f"servers/{m.instance_uuid}/migrations", str(m.id))

    def view(self, m: Migration) -> dict[str, Any]:
        mv = microversions.current()
        out = dict(_common(m), instance_uuid=m.instance_uuid,
                   old_instance_type_id=m.old_instance_type_id,
                   new_instance_type_id=m.new_instance_type_id)
        if mv >= (2, 23):
            out["migration_type"] = m.migration_type
            if m.migration_type == LIVE and m.status in IN_PROGRESS:
                out["links"] = self._link(m)
        return _versioned(out, m, mv)

    def index(self, **_: Any):
        ctx = self.context()
        mv = microversions.current()
        if self.query("hidden") is not None:
            parse_bool(self.query("hidden"), "hidden")
        kind = self.query("migration_type") if mv >= (2, 23) else None
        query = MigrationQuery(host=self.query("host"), status=self.query("status"),
                               instance_uuid=self.query("instance_uuid"),
                               migration_type=kind,
                               source_compute=self.query("source_compute"))
        limit = None
        if mv >= (2, 59):  # paged, and no query parameter Nova's schema does not name
            allowed = set(FILTERS) | {"limit", "marker", "changes-since"}
            if mv >= (2, 66):
                allowed.add("changes-before")
            if mv >= (2, 80):
                allowed |= {"user_id", "project_id"}
                query.user_id = self.query("user_id")
                query.project_id = self.query("project_id")
            paging, limit = paging_query(allowed, self.deps.settings.max_limit)
            query.limit, query.marker = paging.limit, paging.marker
            query.changes_since, query.changes_before = (paging.changes_since,
                                                         paging.changes_before)
        rows = self.deps.migrations.list_migrations(ctx, query)
        out: dict[str, Any] = {"migrations": [self.view(m) for m in rows]}
        if mv >= (2, 59):
            page = limit if limit is not None else self.deps.settings.max_limit
            if rows and page == len(rows):
                out["migrations_links"] = next_link(self.deps.base.rstrip("/"),
                                                    "os-migrations", page, rows[-1].uuid)
        return out


class ServerMigrations(Handler):
    """A server's live migrations in progress (2.23+)."""

    @staticmethod
    def server_view(m: Migration) -> dict[str, Any]:
        return _versioned(dict(_common(m), server_uuid=m.instance_uuid,
                               disk_processed_bytes=0, disk_remaining_bytes=0,
                               disk_total_bytes=0, memory_processed_bytes=0,
                               memory_remaining_bytes=0, memory_total_bytes=0),
                          m, microversions.current())

    def index(self, server_id: str):
        microversions.require((2, 23))
        rows = self.deps.migrations.of_server(self.context(), server_id)
        return {"migrations": [self.server_view(m) for m in rows]}

    def show(self, server_id: str, migration_id: str):
        microversions.require((2, 23))
        ctx = self.context()
        try:
            ident = parse_int(migration_id, 1, MAX_INT)
        except BadInteger:
            raise errors.NotFound(f"In-progress live migration {migration_id} is not found "
                                  f"for server {server_id}.") from None
        return {"migration": self.server_view(
            self.deps.migrations.get_of_server(ctx, server_id, ident))}

    def _migration_id(self, ctx: RequestContext, server_id: str, migration_id: str,
                      missing: type[errors.CoreError]) -> int:
        """The path's migration id; ``missing`` (after the server's own 404) when it
        is not a number, as no migration has such an id."""
        try:
            return parse_int(migration_id, 1, MAX_INT)
        except BadInteger:
            self.deps.servers.find(ctx, server_id)  # a missing server is the 404 first
            raise missing(f"Migration {migration_id} not found for instance "
                          f"{server_id}") from None

    def delete(self, server_id: str, migration_id: str):
        """2.24: abort a live migration (from 2.65 also one queued or preparing)."""
        microversions.require((2, 24))
        ctx = self.context()
        ident = self._migration_id(ctx, server_id, migration_id, errors.NotFound)
        abort_live_migration(self.deps.move_actions, ctx, server_id, ident,
                             allow_queued=microversions.current() >= (2, 65))
        return NoContent, 202

    def action(self, server_id: str, migration_id: str, body: dict):
        """2.22: ``{"force_complete": null}`` on a running live migration."""
        microversions.require((2, 22))
        ctx = self.context()
        # Nova's MigrationNotFoundForInstance is a 400 here
        ident = self._migration_id(ctx, server_id, migration_id, errors.InvalidInput)
        force_complete_live_migration(self.deps.move_actions, ctx, server_id, ident)
        return NoContent, 202
