"""What a stack needs on the servers that already run: a database owned by a role of
its own (PostgreSQL or MariaDB) and a RabbitMQ vhost with a user of its own.

Every step is idempotent: what exists is kept and its password set again, so a
stack started a second time (or with a new run directory) finds its data. The
role owning its database can also do what the failure tests need without a
superuser: refuse connections to it, terminate its own sessions.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from sqlalchemy import create_engine, text

ADMIN_URLS = {
    "postgresql": "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/?charset=utf8mb4",
}
RABBITMQ = "127.0.0.1:5672"
# Database, role, vhost and user share the stack's name: a plain identifier,
# so it needs no quoting in any of the three.
NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
PASSWORD = re.compile(r"^[A-Za-z0-9_-]{8,}$")


class ProvisionError(RuntimeError):
    pass


def _check(name: str, password: str | None = None) -> None:
    if not NAME.match(name):
        raise ProvisionError(f"stack name {name!r}: lower-case letters, digits and _ only")
    if password is not None and not PASSWORD.match(password):
        raise ProvisionError("generated passwords are letters, digits, _ and - only")


def _admin(kind: str, admin_url: str | None):
    if kind not in ADMIN_URLS:
        raise ProvisionError(f"database {kind!r}: postgresql or mariadb")
    url = admin_url or ADMIN_URLS[kind]
    connect_args = {"connect_timeout": 5}
    return create_engine(url, isolation_level="AUTOCOMMIT", connect_args=connect_args)


def ensure_database(kind: str, admin_url: str | None, name: str, password: str) -> str:
    """Create the database ``name`` and its owner ``name`` (password ``password``) if
    missing; return the URL the stack's processes use."""
    _check(name, password)
    engine = _admin(kind, admin_url)
    try:
        with engine.connect() as conn:
            if kind == "postgresql":
                role = conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :n"),
                                   {"n": name})
                verb = "ALTER" if role else "CREATE"
                conn.execute(text(f"{verb} ROLE {name} LOGIN PASSWORD '{password}'"))
                if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                   {"n": name}):
                    conn.execute(text(f"CREATE DATABASE {name} OWNER {name} "
                                      "ENCODING 'UTF8' TEMPLATE template0"))
            else:
                # The collation the tests' databases use; the tables set their own.
                conn.execute(text(f"CREATE DATABASE IF NOT EXISTS {name} "
                                  "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
                conn.execute(text(f"CREATE USER IF NOT EXISTS '{name}'@'127.0.0.1' "
                                  f"IDENTIFIED BY '{password}'"))
                conn.execute(text(f"ALTER USER '{name}'@'127.0.0.1' "
                                  f"IDENTIFIED BY '{password}'"))
                conn.execute(text(f"GRANT ALL PRIVILEGES ON {name}.* TO '{name}'@'127.0.0.1'"))
        admin = engine.url
    finally:
        engine.dispose()
    query = {"charset": "utf8mb4"} if kind == "mariadb" else {}
    return admin.set(username=name, password=password, database=name,
                     query=query).render_as_string(hide_password=False)


def drop_database(kind: str, admin_url: str | None, name: str) -> None:
    """Drop the database ``name`` and its owner (closing their sessions first)."""
    _check(name)
    engine = _admin(kind, admin_url)
    try:
        with engine.connect() as conn:
            if kind == "postgresql":
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
                conn.execute(text(f"DROP ROLE IF EXISTS {name}"))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
                conn.execute(text(f"DROP USER IF EXISTS '{name}'@'127.0.0.1'"))
    finally:
        engine.dispose()


def _rabbitmqctl(*args: str, stdin: str | None = None, check: bool = True) -> str:
    exe = shutil.which("rabbitmqctl") or (
        "/usr/sbin/rabbitmqctl" if shutil.which("/usr/sbin/rabbitmqctl") else None)
    if exe is None:
        raise ProvisionError("rabbitmqctl is needed to create the stack's vhost and user "
                             "(or name a broker with --transport-url)")
    proc = subprocess.run([exe, "-q", *args], input=stdin, capture_output=True, text=True,
                          timeout=60)
    if check and proc.returncode != 0:
        raise ProvisionError(f"rabbitmqctl {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def ensure_vhost(name: str, password: str, broker: str = RABBITMQ) -> str:
    """Create the vhost ``name`` and the user ``name`` with every permission on it,
    if missing; return the transport URL."""
    _check(name, password)
    _rabbitmqctl("add_vhost", name)  # succeeds when it exists
    users = {line.split("\t")[0] for line in _rabbitmqctl("list_users").splitlines()}
    # The password goes on stdin, not on a command line that ps shows.
    verb = "change_password" if name in users else "add_user"
    _rabbitmqctl(verb, name, stdin=password)
    _rabbitmqctl("set_permissions", "-p", name, name, ".*", ".*", ".*")
    return f"amqp://{name}:{password}@{broker}/{name}"


def delete_vhost(name: str) -> None:
    """Delete the vhost ``name`` (its queues and messages) and the user ``name``."""
    _check(name)
    _rabbitmqctl("delete_vhost", name, check=False)
    _rabbitmqctl("delete_user", name, check=False)
