"""Fixtures that run the same database tests on SQLite, PostgreSQL and MariaDB.

Every test gets a database of its own: a file in ``tmp_path`` for SQLite, a
uniquely named database on the servers (created through an admin connection and
dropped afterwards), so tests run in parallel under pytest-xdist. A server that
cannot be reached skips its tests locally and fails them in CI.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from core.apis import SERVED_APIS
from core.context import RequestContext
from core.db import Database
from core.identity.bootstrap import bootstrap
from core.identity.service import IdentityService
from core.identity.tokens import Token
from core.policy import Enforcer
from core.policy.defaults import all_defaults
from core.services import CoreServices, build_core, build_identity
from core.settings import Settings, load_settings
from gateway.ec2.handlers.base import Ec2Deps
from tests.conftest import require_service
from tests.support.db_templates import Templates

BACKENDS = ("sqlite", "postgresql", "mariadb")

# Roles tried in order: CI images use "postgres", some local installs only "root".
POSTGRES_ADMIN_URLS = ("postgresql+psycopg2://postgres@127.0.0.1/postgres",
                       "postgresql+psycopg2://root@127.0.0.1/postgres")
MARIADB_ADMIN_URL = "mysql+pymysql://root@127.0.0.1/?charset=utf8mb4"


@dataclass
class DatabaseServer:
    """An admin connection that creates and drops throw-away databases."""

    admin: Engine
    url_for: Callable[[str], str]
    create_sql: str
    terminate_sql: str | None = None

    def create(self, name: str) -> str:
        with self.admin.connect() as conn:
            conn.execute(text(self.create_sql.format(name=name)))
        return self.url_for(name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            if self.terminate_sql:
                conn.execute(text(self.terminate_sql), {"name": name})
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))


def _reachable(url: str, connect_args: dict) -> Engine | None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args=connect_args)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        engine.dispose()
        return None
    return engine


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[DatabaseServer]:
    admin = None
    for url in POSTGRES_ADMIN_URLS:
        admin = _reachable(url, {"connect_timeout": 5})
        if admin is not None:
            break
    require_service(admin is not None, "PostgreSQL")
    base = admin.url
    yield DatabaseServer(
        admin=admin,
        url_for=lambda name: base.set(database=name).render_as_string(hide_password=False),
        create_sql="CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0",
        terminate_sql="SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = :name AND pid <> pg_backend_pid()")
    admin.dispose()


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[DatabaseServer]:
    admin = _reachable(MARIADB_ADMIN_URL, {"connect_timeout": 5})
    require_service(admin is not None, "MariaDB")
    base = admin.url
    yield DatabaseServer(
        admin=admin,
        url_for=lambda name: base.set(database=name).render_as_string(hide_password=False),
        # Explicit, so that the server's default (which changed in MariaDB 11) does not
        # decide how names compare.
        create_sql="CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def empty_db(request, backend, tmp_path) -> Iterator[Database]:
    """A database with no schema, of its own, on ``backend``."""
    if backend == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'nimbus.db'}")
        yield database
        database.dispose()
        return
    server: DatabaseServer = request.getfixturevalue(f"{backend}_server")
    name = f"nimbus_test_{uuid.uuid4().hex[:8]}"
    database = Database(server.create(name))
    try:
        yield database
    finally:
        database.dispose()
        server.drop(name)


@pytest.fixture(scope="session")
def db_templates(request, tmp_path_factory) -> Iterator[Templates]:
    """Per worker: one database per back end migrated to head, to copy."""
    templates = Templates(tmp_path_factory.mktemp("db-templates"),
                          lambda backend: request.getfixturevalue(f"{backend}_server"))
    yield templates
    templates.drop_all()


@pytest.fixture
def db(backend, tmp_path, db_templates) -> Iterator[Database]:
    """A database of its own on ``backend``, migrated to head (a copy of a
    template the migrations made: tests/support/db_templates.py)."""
    database, drop = db_templates.copy(backend, tmp_path)
    try:
        yield database
    finally:
        drop()


@pytest.fixture
def settings(tmp_path, db) -> Settings:
    return load_settings(environ={}, data_dir=tmp_path / "data", database_url=db.url,
                         bcrypt_rounds=4)


@pytest.fixture
def identity(settings, db) -> IdentityService:
    """The identity services on ``db``, bootstrapped (default domain, roles, admin, demo)."""
    service = build_identity(settings, db, Enforcer(all_defaults(), None))
    bootstrap(settings, service, services=SERVED_APIS)
    return service


@pytest.fixture
def admin_token(identity, settings) -> Token:
    password = (settings.data_dir / "admin-password").read_text().strip()
    return identity.tokens.authenticate({
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}})


@pytest.fixture
def admin_ctx(admin_token) -> RequestContext:
    return admin_token.context(is_admin=True)


@pytest.fixture
def services(settings, identity) -> Iterator[CoreServices]:
    """The API's services on ``db`` (after the identity bootstrap), closed afterwards."""
    built = build_core(settings)
    yield built
    built.bus.close()
    built.db.dispose()


@pytest.fixture
def ec2_deps(settings, services) -> Ec2Deps:
    """What the EC2 handlers are built with, on ``services``."""
    return Ec2Deps.from_core(services, "http://x/ec2/")
