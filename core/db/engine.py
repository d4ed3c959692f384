"""Engine and session factory for one database URL."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core import errors


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str) -> Engine:
    """An engine tuned per backend: WAL for SQLite, pre-ping and recycle for servers."""
    if url.startswith("sqlite"):
        # Handlers run in a thread pool: keep enough pooled connections that
        # concurrent requests never open (and PRAGMA) fresh ones.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=20, max_overflow=20)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs: dict = {"pool_pre_ping": True, "pool_recycle": 1800, "pool_size": 10,
                    "max_overflow": 20}
    if url.startswith("mysql"):
        kwargs["isolation_level"] = "READ COMMITTED"
    return create_engine(url, **kwargs)


class Database:
    """Owns an engine and hands out transactional sessions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error.

        A connection lost mid-query surfaces as ServiceUnavailable (503 at the
        edge, with Retry-After) rather than an unexplained 500.
        """
        session = self._sessions()
        try:
            yield session
            session.commit()
        except (OperationalError, InterfaceError) as exc:
            session.rollback()
            if "database is locked" in str(exc) or getattr(exc, "connection_invalidated", False) \
                    or isinstance(exc, InterfaceError) or _is_disconnect(exc):
                raise errors.ServiceUnavailable("The database is temporarily unavailable.") from exc
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def _is_disconnect(exc: OperationalError) -> bool:
    text = str(exc.orig).lower() if exc.orig is not None else ""
    return any(word in text for word in ("connection", "server closed", "gone away", "lost",
                                         "terminating", "timeout"))
