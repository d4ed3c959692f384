"""A hook run once, just before commit, in every transaction that wrote to
some tables: how a domain keeps a revision of the rows it caches from.

The hook runs inside the transaction (it typically bumps a counter), so the
writes and the hook's own commit together or not at all: no reader ever sees
the new rows next to the old revision. It runs last, after the final flush, so
the counter's row lock (on PostgreSQL and MariaDB) is the last one taken and
held only for the commit.

Seen: objects added, changed or deleted through an ORM session, and ORM-enabled
``insert``/``update``/``delete`` statements run with ``session.execute`` (bulk
deletes, as ``delete(Assignment).where(...)``). Not seen: SQL sent on a bare
connection or as text. Rows removed by a database-level ``ON DELETE CASCADE``
are seen through the parent's delete: watch the parent tables too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import chain

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker


class WriteWatch:
    """Calls ``on_commit(session)`` before the commit of every transaction of a
    session made by the watched factory that wrote to any of ``tables``."""

    def __init__(self, name: str, tables: Iterable[str],
                 on_commit: Callable[[Session], None]) -> None:
        self.tables = frozenset(tables)
        self.on_commit = on_commit
        self._mark = f"wrote:{name}"  # in Session.info until the hook has run

    def install(self, sessions: sessionmaker) -> None:
        event.listen(sessions, "before_flush", self._before_flush)
        event.listen(sessions, "do_orm_execute", self._on_execute)
        event.listen(sessions, "before_commit", self._before_commit)

    def _before_flush(self, session: Session, _context, _instances) -> None:
        if self._mark in session.info:
            return
        for obj in chain(session.new, session.dirty, session.deleted):
            if getattr(type(obj), "__tablename__", None) in self.tables:
                session.info[self._mark] = True
                return

    def _on_execute(self, state: ORMExecuteState) -> None:
        if state.is_insert or state.is_update or state.is_delete:
            table = getattr(state.statement, "table", None)
            if getattr(table, "name", None) in self.tables:
                state.session.info[self._mark] = True

    def _before_commit(self, session: Session) -> None:
        # before_commit comes before the commit's own final flush: flush now,
        # so that pending objects are seen and written before the hook.
        session.flush()
        if session.info.pop(self._mark, False):
            self.on_commit(session)
