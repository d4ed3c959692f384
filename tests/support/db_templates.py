"""Databases migrated to head, made by copying one migrated once per test
worker instead of running every migration for every test.

The template is made by the real migrations (``core.db.migrate.upgrade``); the
copy is the database's own: a file copy for SQLite, ``CREATE DATABASE ...
TEMPLATE`` for PostgreSQL, and for MariaDB (which has no templates) each
table's ``SHOW CREATE TABLE`` (indexes, foreign keys, collations and all)
replayed with its rows. tests/db/test_migrations.py checks the migrations
themselves on empty databases.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from core.db import Database
from core.db.migrate import upgrade


class Templates:
    """One migrated template per back end, made when first asked for."""

    def __init__(self, base: Path, servers: Callable[[str], object]) -> None:
        self.base = base
        self._lookup = servers  # backend -> its DatabaseServer (a fixture, looked up lazily)
        self._servers: dict[str, object] = {}
        self._names: dict[str, str] = {}
        self._mariadb: list[tuple[str, str, bool]] = []  # (table, DDL, has rows)

    def servers(self, backend: str) -> object:
        if backend not in self._servers:
            self._servers[backend] = self._lookup(backend)
        return self._servers[backend]

    # ---- making the templates ------------------------------------------------------
    def _template(self, backend: str) -> str:
        if backend in self._names:
            return self._names[backend]
        if backend == "sqlite":
            path = self.base / "template.db"
            db = Database(f"sqlite:///{path}")
            upgrade(db)
            db.dispose()
            self._names[backend] = str(path)
            return str(path)
        server = self.servers(backend)
        name = f"nimbus_tmpl_{uuid.uuid4().hex[:8]}"
        db = Database(server.create(name))  # type: ignore[attr-defined]
        try:
            upgrade(db)
            if backend == "mariadb":
                self._mariadb = _mariadb_tables(db)
        finally:
            db.dispose()  # PostgreSQL copies only a template nobody is connected to
        self._names[backend] = name
        return name

    # ---- copies ---------------------------------------------------------------------
    def copy(self, backend: str, tmp_path: Path) -> tuple[Database, Callable[[], None]]:
        """A migrated database of its own, and what drops it."""
        template = self._template(backend)
        if backend == "sqlite":
            path = tmp_path / "nimbus.db"
            shutil.copyfile(template, path)
            database = Database(f"sqlite:///{path}")
            return database, database.dispose
        server = self.servers(backend)
        name = f"nimbus_test_{uuid.uuid4().hex[:8]}"
        if backend == "postgresql":
            with server.admin.connect() as conn:  # type: ignore[attr-defined]
                conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {template}"))
            url = server.url_for(name)  # type: ignore[attr-defined]
        else:
            url = server.create(name)  # type: ignore[attr-defined]
            with server.admin.connect() as conn:  # type: ignore[attr-defined]
                conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
                conn.execute(text(f"USE {name}"))
                for table, ddl, has_rows in self._mariadb:
                    conn.execute(text(ddl))
                    if has_rows:
                        conn.execute(text(f"INSERT INTO {name}.`{table}` "
                                          f"SELECT * FROM {template}.`{table}`"))
                conn.execute(text("SET FOREIGN_KEY_CHECKS=1"))
        database = Database(url)

        def drop() -> None:
            database.dispose()
            server.drop(name)  # type: ignore[attr-defined]
        return database, drop

    def drop_all(self) -> None:
        for backend, name in self._names.items():
            if backend != "sqlite":  # the server fixture may be torn down: its engine reconnects
                self._servers[backend].drop(name)  # type: ignore[attr-defined]


def _mariadb_tables(db: Database) -> list[tuple[str, str, bool]]:
    """Each base table of ``db``: its name, its full DDL, whether it has rows."""
    tables = []
    with db.engine.connect() as conn:
        names = conn.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            "DATABASE() AND table_type = 'BASE TABLE'")).scalars().all()
        for table in names:
            ddl = conn.execute(text(f"SHOW CREATE TABLE `{table}`")).one()[1]
            rows = conn.execute(text(f"SELECT 1 FROM `{table}` LIMIT 1")).first() is not None
            tables.append((table, ddl, rows))
    return tables
