"""Engine and session factory for one database URL.

A database that is down, refuses connections or drops them surfaces as
:class:`~core.errors.DatabaseUnavailable` (503 with ``Retry-After`` at each
edge), never a hang: new connections give up after ``connect_timeout``
seconds, a request waiting for a pooled connection after ``pool_timeout``.
Nothing needs restarting once the database is back: the pool reconnects on
the next checkout (``pool_pre_ping`` drops connections that died meanwhile).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import ClauseElement

from core import errors
from core.db.write_watch import WriteWatch
from core.settings import Settings


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str, connect_timeout: float = 5, pool_timeout: float = 10) -> Engine:
    """An engine tuned per backend: WAL for SQLite; for servers, pre-ping,
    recycle, and bounded waits for a connection (see the module's docstring)."""
    if url.startswith("sqlite"):
        # Handlers run in a thread pool: keep enough pooled connections that
        # concurrent requests never open (and PRAGMA) fresh ones.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=20, max_overflow=20)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs: dict = {"pool_pre_ping": True, "pool_recycle": 1800, "pool_size": 10,
                    "max_overflow": 20, "pool_timeout": pool_timeout}
    if url.startswith("mysql"):
        kwargs["isolation_level"] = "READ COMMITTED"
    return create_engine(with_connect_timeout(url, connect_timeout), **kwargs)


def with_connect_timeout(url: str, seconds: float) -> str:
    """``url`` with the driver's connect timeout (libpq's and PyMySQL's
    ``connect_timeout``, whole seconds; libpq counts at least 2) unless it names
    one. In the URL, not in ``connect_args``: engines made from this one's URL
    (the quota service's side engine) keep it."""
    parsed = make_url(url)
    if "connect_timeout" in parsed.query or not seconds:
        return url
    value = str(max(2, round(seconds))) if parsed.get_backend_name() == "postgresql" \
        else str(max(1, round(seconds)))
    return parsed.update_query_dict({"connect_timeout": value}).render_as_string(
        hide_password=False)


class Database:
    """Owns an engine and hands out transactional sessions."""

    def __init__(self, url: str, connect_timeout: float = 5, pool_timeout: float = 10) -> None:
        self.url = url
        self.engine = make_engine(url, connect_timeout, pool_timeout)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._watches: set[str] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(settings.effective_database_url, settings.database_connect_timeout,
                   settings.database_pool_timeout)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error.

        A database that cannot be reached (refused, timed out, no pooled
        connection free in time) or a connection lost mid-query raises
        DatabaseUnavailable; a busy SQLite file ServiceUnavailable: both 503
        with Retry-After at the edge rather than an unexplained 500.
        """
        session = self._sessions()
        try:
            yield session
            session.commit()
        except (OperationalError, InterfaceError, PoolTimeout) as exc:
            _rollback_quietly(session)
            mapped = _mapped(exc)
            if mapped is None:
                raise
            raise mapped from exc
        except BaseException:
            _rollback_quietly(session)
            raise
        finally:
            session.close()

    def scalar(self, sql: str) -> Any:
        """The first column of the first row of ``sql``, a read without
        parameters, straight on a pooled DBAPI connection: no session, no
        statement machinery, for a read made on every request (about a third
        of a Core execution's CPU). A database that cannot be reached fails as
        in :meth:`session`."""
        dialect = self.engine.dialect
        try:
            conn = self.engine.raw_connection()
        except dialect.loaded_dbapi.Error as exc:  # could not connect: no statement ran
            raise self._dbapi_failure(None, exc) from exc
        except PoolTimeout as exc:
            raise errors.DatabaseUnavailable() from exc
        try:
            cursor = conn.cursor()
            try:
                cursor.execute(sql)
                row = cursor.fetchone()
            finally:
                cursor.close()
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, conn.dbapi_connection, None):
                conn.invalidate(exc)
            raise self._dbapi_failure(sql, exc) from exc
        finally:
            conn.close()  # back to the pool, which rolls the read back
        return row[0] if row is not None else None

    def _dbapi_failure(self, sql: str | None, exc: Exception) -> Exception:
        """A DBAPI error as SQLAlchemy's wrapper, or the domain error it maps to."""
        dialect = self.engine.dialect
        wrapped = DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error,
                                      dialect=dialect)
        if isinstance(wrapped, (OperationalError, InterfaceError)):
            return _mapped(wrapped) or wrapped
        return wrapped  # type: ignore[return-value]

    def sql(self, statement: ClauseElement) -> str:
        """``statement`` as this database's SQL, its values inlined (for :meth:`scalar`)."""
        return str(statement.compile(dialect=self.engine.dialect,
                                     compile_kwargs={"literal_binds": True}))

    def watch_writes(self, name: str, tables: Iterable[str],
                     on_commit: Callable[[Session], None]) -> None:
        """Call ``on_commit(session)`` inside every transaction that wrote to any of
        ``tables``, just before it commits (see core.db.write_watch). Once per
        ``name``: a second watch of the same name is ignored."""
        if name not in self._watches:
            self._watches.add(name)
            WriteWatch(name, tables, on_commit).install(self._sessions)

    def dispose(self) -> None:
        self.engine.dispose()


def _rollback_quietly(session: Session) -> None:
    """Roll back without letting a dead connection's own error hide the first one."""
    try:
        session.rollback()
    except Exception:  # noqa: BLE001 - the error being handled is the one to report
        pass


def _mapped(exc: OperationalError | InterfaceError | PoolTimeout) -> errors.CoreError | None:
    """The domain error for a database failure, None if none fits."""
    if isinstance(exc, PoolTimeout):
        return errors.DatabaseUnavailable()
    if "database is locked" in str(exc):
        return errors.ServiceUnavailable("The database is busy; retry later.")
    if _unreachable(exc):
        return errors.DatabaseUnavailable()
    return None


def _unreachable(exc: OperationalError | InterfaceError) -> bool:
    """The database could not be reached, or the connection was lost.

    No statement: the error came from opening a connection (refused, timed out,
    "not currently accepting connections", too many clients, a locked account).
    Otherwise the driver's disconnect detection, or its words for one."""
    if isinstance(exc, InterfaceError) or exc.statement is None \
            or getattr(exc, "connection_invalidated", False):
        return True
    text = str(exc.orig).lower() if exc.orig is not None else ""
    return any(word in text for word in ("connection", "server closed", "gone away", "lost",
                                         "terminating", "timeout"))
