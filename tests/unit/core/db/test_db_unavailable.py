"""core/db/engine.py: a database that cannot be reached is DatabaseUnavailable
(503 with Retry-After at the edges), quickly, never a hang or a bare
OperationalError; the URL carries the driver's connect timeout."""

from __future__ import annotations

import socket
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from core import errors
from core.db import Database
from core.db.engine import with_connect_timeout
from core.settings import Settings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("url", [
    "postgresql+psycopg2://nimbus@127.0.0.1:{port}/nimbus",
    "mysql+pymysql://nimbus@127.0.0.1:{port}/nimbus",
])
def test_a_refused_connection_is_database_unavailable(url):
    db = Database(url.format(port=_closed_port()), connect_timeout=2)
    start = time.monotonic()
    with pytest.raises(errors.DatabaseUnavailable) as caught, db.session() as s:
        s.execute(text("SELECT 1"))
    assert time.monotonic() - start < 5
    assert caught.value.retry_after == 5
    assert isinstance(caught.value, errors.ServiceUnavailable)
    with pytest.raises(errors.DatabaseUnavailable):  # the bare read, too
        db.scalar("SELECT 1")
    db.dispose()


def test_no_free_pooled_connection_in_time_is_database_unavailable(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}", pool_size=1, max_overflow=0,
                              pool_timeout=0.1)
    db._sessions.configure(bind=db.engine)
    with db.engine.connect():  # the only connection, held
        with pytest.raises(errors.DatabaseUnavailable), db.session() as s:
            s.execute(text("SELECT 1"))
        with pytest.raises(errors.DatabaseUnavailable):
            db.scalar("SELECT 1")
    assert db.scalar("SELECT 1") == 1
    db.dispose()


def test_errors_of_the_request_itself_are_not_unavailability(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(Exception) as caught, db.session() as s:
        s.execute(text("SELECT * FROM no_such_table"))
    assert not isinstance(caught.value, errors.ServiceUnavailable)
    with pytest.raises(OperationalError, match="no such table"):
        db.scalar("SELECT * FROM no_such_table")
    db.dispose()


@pytest.mark.parametrize(("url", "seconds", "expected"), [
    ("postgresql+psycopg2://u@h/db", 5, "5"),
    ("postgresql+psycopg2://u@h/db", 0.5, "2"),  # libpq waits at least 2 s anyway
    ("mysql+pymysql://u@h/db?charset=utf8mb4", 3, "3"),
    ("postgresql+psycopg2://u@h/db?connect_timeout=9", 5, "9"),  # the URL's own wins
])
def test_the_url_carries_the_connect_timeout(url, seconds, expected):
    parsed = make_url(with_connect_timeout(url, seconds))
    assert parsed.query["connect_timeout"] == expected
    assert parsed.query.get("charset") == make_url(url).query.get("charset")


def test_database_from_settings_uses_the_timeouts():
    settings = Settings(database_url="postgresql+psycopg2://u:secret@h/db",
                        database_connect_timeout=3, database_pool_timeout=4)
    db = Database.from_settings(settings)
    assert db.engine.url.query["connect_timeout"] == "3"
    assert db.engine.url.password == "secret"
    assert db.engine.pool.timeout() == 4
    db.dispose()
