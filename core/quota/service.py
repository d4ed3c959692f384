"""Quotas: limits (defaults overridden per project or user), usage counters, and
the atomic reservation every create goes through (instances, cores and RAM,
server groups, floating IPs, network resources, volumes, their gigabytes and
snapshots).

Counted resources (``instances``, ``cores``, ``ram``, ``server_groups``) keep a
usage row per project in ``quota_usages``. :meth:`QuotaService.reserve` bumps
them in the caller's transaction with one conditional UPDATE per resource
(``in_use + n <= limit``), so concurrent requests never overshoot:

- SQLite serialises writers, and the UPDATE runs once the write lock is held;
- PostgreSQL and MariaDB (READ COMMITTED) re-evaluate the WHERE clause against
  the newest row version once a concurrent writer's lock is released.

Missing usage rows are created first with insert-or-ignore: in a short
transaction of its own on PostgreSQL and MariaDB (so that no shared lock from a
duplicate-key check stays held into the UPDATE, MariaDB's classic deadlock),
on a connection outside the pool (a caller holding a pooled connection must
never wait for a second one: enough of them at once would drain the pool); in
the caller's transaction on SQLite (a second writer would wait for the caller's
own lock). Rows are updated in sorted resource order, so two reservations never
wait for each other in a cycle.

Key pairs (per user) and server group members (per group) are counted from
their own tables by their services, with :func:`check_count`. This package
knows no domain: compute, network and volume all reserve through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Engine, case, create_engine, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from core import errors
from core.db import Database
from core.quota.models import QuotaLimit, QuotaUsage
from core.settings import Settings

# Counted in quota_usages, in the order their rows are locked.
COUNTED = ("cores", "floating_ips", "gigabytes", "instances", "networks", "ports", "ram",
           "routers", "security_group_rules", "security_groups", "server_groups", "snapshots",
           "subnets", "volumes")
# Nova's fixed defaults for the personality limits.
FIXED_DEFAULTS = {"injected_files": 5, "injected_file_content_bytes": 10240,
                  "injected_file_path_bytes": 255}
# Network quotas Nova shows below 2.36 (fixed_ips: unlimited, never counted).
NETWORK = ("fixed_ips", "floating_ips", "security_groups", "security_group_rules")
# The Network API's own, counted by core/network.
NEUTRON = ("networks", "subnets", "ports", "routers")
# The Block Storage API's, counted by core/volume.
CINDER = ("volumes", "gigabytes", "snapshots")
RESOURCES = ("instances", "cores", "ram", "key_pairs", "server_groups",
             "server_group_members", "metadata_items", *FIXED_DEFAULTS, *NETWORK, *NEUTRON,
             *CINDER)
MAX_LIMIT = 0x7FFFFFFF
# Quota classes keep their limits in quota_limits under an owner no project id
# can be (project ids are hex): "quota-class:default".
DEFAULT_CLASS = "default"
CLASS_OWNER_PREFIX = "quota-class:"
MAX_CLASS_NAME = 64 - len(CLASS_OWNER_PREFIX)


def _class_key(name: str) -> str:
    return CLASS_OWNER_PREFIX + name


def over_quota_message(overs: Iterable[str], requested: Mapping[str, int],
                       used: Mapping[str, int], allowed: Mapping[str, int]) -> str:
    """Nova's TooManyInstances message, resources in sorted order."""
    names = sorted(overs)

    def joined(values: Mapping[str, int]) -> str:
        return ", ".join(str(values[r]) for r in names)

    return (f"Quota exceeded for {', '.join(names)}: Requested {joined(requested)}, "
            f"but already used {joined(used)} of {joined(allowed)} {', '.join(names)}")


def check_count(resource: str, current: int, requested: int, limit: int,
                message: str | None = None) -> None:
    """QuotaExceeded unless ``current + requested`` fits ``limit`` (-1: unlimited)."""
    if limit >= 0 and current + requested > limit:
        raise errors.QuotaExceeded(
            message or over_quota_message([resource], {resource: requested},
                                          {resource: current}, {resource: limit}),
            resources=[resource], requested={resource: requested}, used={resource: current},
            allowed={resource: limit})


class QuotaService:
    """Limits and usage; no policy (callers have checked it)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._rows_known: set[tuple[str, str]] = set()  # usage rows seen to exist
        self._side_engines: dict[str, Engine] = {}  # unpooled, for creating usage rows

    # ---- limits ----------------------------------------------------------
    def configured_defaults(self) -> dict[str, int]:
        """The defaults from settings, before the ``default`` quota class."""
        s = self.settings
        return {"instances": s.quota_instances, "cores": s.quota_cores, "ram": s.quota_ram,
                "key_pairs": s.quota_key_pairs, "server_groups": s.quota_server_groups,
                "server_group_members": s.quota_server_group_members,
                "metadata_items": s.quota_metadata_items, **FIXED_DEFAULTS,
                "fixed_ips": -1, "floating_ips": s.quota_floating_ips,
                "security_groups": s.quota_security_groups,
                "security_group_rules": s.quota_security_group_rules,
                "networks": s.quota_networks, "subnets": s.quota_subnets,
                "ports": s.quota_ports, "routers": s.quota_routers,
                "volumes": s.quota_volumes, "gigabytes": s.quota_gigabytes,
                "snapshots": s.quota_snapshots}

    def defaults(self) -> dict[str, int]:
        """Every project's limits unless overridden: the settings' values, with
        the ``default`` quota class's (``os-quota-class-sets/default``) over them."""
        with self.db.session() as s:
            return self.class_limits_in(s, DEFAULT_CLASS)

    def class_limits_in(self, session: Session, name: str) -> dict[str, int]:
        """A quota class's limits: its own values over the defaults."""
        limits = self.configured_defaults()
        owners = [_class_key(DEFAULT_CLASS), _class_key(name)]
        rows = session.execute(select(QuotaLimit.project_id, QuotaLimit.resource,
                                      QuotaLimit.hard_limit)
                               .where(QuotaLimit.project_id.in_(owners))).all()
        for _owner, resource, hard_limit in sorted(rows, key=lambda r: r[0] != owners[0]):
            if resource in limits:
                limits[resource] = hard_limit
        return limits

    def set_class_limits(self, name: str, values: Mapping[str, int]) -> dict[str, int]:
        """Set a quota class's limits (only ``default`` matters to projects, as
        in Nova); returns the class's limits."""
        self.set_limits(_class_key(name), values)
        with self.db.session() as s:
            return self.class_limits_in(s, name)

    def limits_in(self, session: Session, project_id: str,
                  user_id: str | None = None) -> dict[str, int]:
        """Like :meth:`limits_for`, read in the caller's session."""
        limits = self.configured_defaults()
        default_class = _class_key(DEFAULT_CLASS)
        rows = session.execute(select(QuotaLimit.project_id, QuotaLimit.user_id,
                                      QuotaLimit.resource, QuotaLimit.hard_limit)
                               .where(QuotaLimit.project_id.in_([project_id, default_class]),
                                      QuotaLimit.user_id.in_(["", user_id or ""]))).all()
        # the default class's values first, then the project's, then the user's own
        for _, uid, resource, hard_limit in sorted(
                rows, key=lambda r: (r[0] != default_class, r[1] != "")):
            if resource in limits and (uid == "" or uid == user_id):
                limits[resource] = hard_limit
        return limits

    def limits_for(self, project_id: str, user_id: str | None = None) -> dict[str, int]:
        """Every resource's limit for the project (and user): -1 is unlimited."""
        with self.db.session() as s:
            return self.limits_in(s, project_id, user_id)

    def set_limits(self, project_id: str, values: Mapping[str, int],
                   user_id: str | None = None) -> None:
        with self.db.session() as s:
            for resource, value in values.items():
                row = s.get(QuotaLimit, (project_id, user_id or "", resource))
                if row is None:
                    s.add(QuotaLimit(project_id=project_id, user_id=user_id or "",
                                     resource=resource, hard_limit=value))
                else:
                    row.hard_limit = value

    def clear_limits(self, project_id: str, user_id: str | None = None) -> None:
        """Back to the defaults: the project's own (or the user's) overrides go."""
        q = delete(QuotaLimit).where(QuotaLimit.project_id == project_id)
        if user_id:
            q = q.where(QuotaLimit.user_id == user_id)
        with self.db.session() as s:
            s.execute(q)

    # ---- usage -----------------------------------------------------------
    def usage(self, project_id: str) -> dict[str, int]:
        """In-use counts of every resource the project's usage rows count (0 for
        the rest: key pairs are counted per user by the compute service)."""
        out = dict.fromkeys(RESOURCES, 0)
        with self.db.session() as s:
            out.update(s.execute(select(QuotaUsage.resource, QuotaUsage.in_use)
                                 .where(QuotaUsage.project_id == project_id)).tuples().all())
        return out

    def reserve(self, session: Session, project_id: str, deltas: Mapping[str, int]) -> None:
        """Add ``deltas`` to the project's usage in ``session``'s transaction, or
        raise QuotaExceeded (changing nothing) if any would pass its limit."""
        wanted = _checked(deltas)
        if not wanted:
            return
        self._ensure_rows(session, project_id, wanted)
        limits = self.limits_in(session, project_id, None)
        done: list[str] = []
        overs: list[str] = []
        for resource in sorted(wanted):
            n = wanted[resource]
            stmt = update(QuotaUsage).where(QuotaUsage.project_id == project_id,
                                            QuotaUsage.resource == resource)
            if limits[resource] >= 0:
                stmt = stmt.where(QuotaUsage.in_use + n <= limits[resource])
            result = session.execute(stmt.values(in_use=QuotaUsage.in_use + n),
                                     execution_options={"synchronize_session": False})
            (done if result.rowcount == 1 else overs).append(resource)  # type: ignore[attr-defined]
        if not overs:
            return
        self.release(session, project_id, {r: wanted[r] for r in done})
        used = dict(session.execute(select(QuotaUsage.resource, QuotaUsage.in_use).where(
            QuotaUsage.project_id == project_id,
            QuotaUsage.resource.in_(overs))).tuples().all())
        if set(overs) - set(used):  # a usage row vanished under us: start over
            self._rows_known.clear()
            return self.reserve(session, project_id, deltas)
        raise errors.QuotaExceeded(
            over_quota_message(overs, wanted, used, limits), resources=sorted(overs),
            requested={r: wanted[r] for r in overs}, used=used,
            allowed={r: limits[r] for r in overs})

    def force(self, session: Session, project_id: str, deltas: Mapping[str, int]) -> None:
        """Add ``deltas`` to the usage whatever the limits (what the cloud makes
        on a project's behalf, such as its default security group, still counts)."""
        wanted = _checked(deltas)
        if not wanted:
            return
        self._ensure_rows(session, project_id, wanted)
        for resource, n in sorted(wanted.items()):
            session.execute(update(QuotaUsage).where(QuotaUsage.project_id == project_id,
                                                     QuotaUsage.resource == resource)
                            .values(in_use=QuotaUsage.in_use + n),
                            execution_options={"synchronize_session": False})

    def release(self, session: Session, project_id: str, deltas: Mapping[str, int]) -> None:
        """Subtract ``deltas`` from the project's usage (never below zero)."""
        for resource, n in sorted(_checked(deltas).items()):
            session.execute(
                update(QuotaUsage).where(QuotaUsage.project_id == project_id,
                                         QuotaUsage.resource == resource)
                .values(in_use=case((QuotaUsage.in_use > n, QuotaUsage.in_use - n), else_=0)),
                execution_options={"synchronize_session": False})

    def _ensure_rows(self, session: Session, project_id: str, resources: Iterable[str]) -> None:
        missing = sorted(r for r in resources if (project_id, r) not in self._rows_known)
        if not missing:
            return
        rows = [{"project_id": project_id, "resource": r, "in_use": 0} for r in missing]
        bind = session.get_bind()
        if bind.dialect.name == "sqlite":
            session.execute(sqlite_insert(QuotaUsage).values(rows).on_conflict_do_nothing())
        else:
            _insert_ignoring_duplicates(self._side_engine(bind), rows)
        self._rows_known.update((project_id, r) for r in missing)

    def _side_engine(self, bind: Engine | Connection) -> Engine:
        engine = bind.engine if isinstance(bind, Connection) else bind
        key = engine.url.render_as_string(hide_password=False)
        side = self._side_engines.get(key)
        if side is None:
            side = self._side_engines[key] = create_engine(engine.url, poolclass=NullPool)
        return side

    def dispose(self) -> None:
        for engine in self._side_engines.values():
            engine.dispose()
        self._side_engines.clear()


def _checked(deltas: Mapping[str, int]) -> dict[str, int]:
    out = {}
    for resource, n in deltas.items():
        if resource not in COUNTED:
            raise ValueError(f"{resource} is not a counted quota resource")
        if int(n) < 0:
            raise ValueError(f"negative delta for {resource}")
        if n:
            out[resource] = int(n)
    return out


def _insert_ignoring_duplicates(engine: Engine, rows: list[dict[str, Any]],
                                attempts: int = 3) -> None:
    """Insert usage rows that may already exist, committed at once."""
    if engine.dialect.name == "postgresql":
        stmt: Any = pg_insert(QuotaUsage).values(rows).on_conflict_do_nothing()
    else:  # MySQL / MariaDB
        stmt = insert(QuotaUsage).values(rows).prefix_with("IGNORE")
    for attempt in range(attempts):
        try:
            with engine.begin() as conn:
                conn.execute(stmt)
            return
        except DBAPIError:  # a deadlock victim: the rows are there or will be
            if attempt == attempts - 1:
                raise
