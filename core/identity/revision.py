"""The identity revision: one counter in the database that moves on with every
change to what a token validation, or the catalog a token carries, reads.

Every transaction that writes to a table in ``WATCHED`` bumps the counter just
before it commits, in the same transaction (core.db.write_watch): revocation
events, role grants and removals (user or group, project or domain), role
implications, user, group, project and domain changes (disable, delete,
rename), group membership, password changes, application credentials, and the
services and endpoints of the catalog. A process that cached something read at
revision ``r`` and finds the revision still ``r`` knows that none of it has
changed, on whichever node the change was made: the counter lives in the shared
database. Reading it is one primary-key lookup.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from core.db import Database
from core.identity.models import (
    ApplicationCredential,
    Assignment,
    Domain,
    Endpoint,
    Group,
    GroupMembership,
    IdentityRevision,
    ImpliedRole,
    Project,
    RevocationEvent,
    Role,
    Service,
    User,
)

# What a validation reads (core.identity.tokens.TokenService._read), what the catalog
# reads, and the parents whose deletes cascade into them in the database.
WATCHED = frozenset(m.__tablename__ for m in (
    User, Domain, Project, Role, ImpliedRole, Assignment, Group, GroupMembership,
    ApplicationCredential, RevocationEvent, Service, Endpoint))

_TABLE = cast(Table, IdentityRevision.__table__)
_CURRENT = select(_TABLE.c.revision).where(_TABLE.c.id == 1)
# On the table, not the model: a plain statement, no ORM work in the commit.
_BUMP = update(_TABLE).where(_TABLE.c.id == 1).values(revision=_TABLE.c.revision + 1)


class RevisionCounter:
    """The identity revision of one database; making it makes every write to a
    watched table through ``db``'s sessions bump it (once per ``db``)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._current_sql = db.sql(_CURRENT)
        db.watch_writes("identity", WATCHED, self.bump)

    def current(self) -> int | None:
        """The revision now (None if the database has no revision row: nothing
        may then be cached)."""
        return self.db.scalar(self._current_sql)

    @staticmethod
    def bump(s: Session) -> None:
        s.connection().execute(_BUMP)
