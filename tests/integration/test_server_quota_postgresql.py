"""The servers API on PostgreSQL: a server of its own on a fresh database, where
concurrent requests really run side by side (SQLite serialises every writer).

- 50 concurrent creates against an instances quota of 10: exactly 10 accepted;
- concurrent metadata and tag writes to one server all land, none is a 500;
- keyset paging by a column with NULLs (PostgreSQL sorts NULL highest, SQLite
  and MySQL lowest) neither skips nor repeats a server;
- a name pattern Python compiles but PostgreSQL refuses is a 400.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from tests.conftest import ksa_session, require_service
from tests.support.compute_api import Api, delete_all
from tests.support.compute_env import PREFIX, Env, quota_race, wait_usage
from tests.support.nova import fault
from tests.support.server import make_server

# Roles tried in order, as tests/db/conftest.py does.
POSTGRES_ADMIN_URLS = ("postgresql+psycopg2://postgres@127.0.0.1/postgres",
                       "postgresql+psycopg2://root@127.0.0.1/postgres")
ED25519 = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPflNS2ZG62dK07tPVmiMJ7W9f7OvADEUnvrhxZAayyg "
           "pg@nimbus")


def _admin_engine() -> Engine | None:
    for url in POSTGRES_ADMIN_URLS:
        engine = create_engine(url, isolation_level="AUTOCOMMIT",
                               connect_args={"connect_timeout": 5})
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return engine
        except SQLAlchemyError:
            engine.dispose()
    return None


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory) -> Iterator:
    admin = _admin_engine()
    require_service(admin is not None, "PostgreSQL")
    assert admin is not None
    name = f"nimbus_srv_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0"))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    srv = make_server(tmp_path_factory.mktemp("pg-server"), database_url=url)
    try:
        srv.bootstrap()
        srv.start()
        yield srv
    finally:
        srv.stop()
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :name AND pid <> pg_backend_pid()"),
                         {"name": name})
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


@pytest.fixture(scope="module")
def env(pg_server) -> Iterator[Env]:
    base = f"{pg_server.url}/compute/v2.1"
    admin = Api(base, ksa_session(pg_server, "admin", pg_server.password("admin"), "admin"))
    images = admin.session.get(f"{pg_server.url}/image/v2/images?name=nimbus-tiny").json()
    e = Env(server=pg_server, base=base, admin=admin, image=images["images"][0]["id"])
    yield e
    log = pg_server.log_text()
    assert "Traceback" not in log
    assert '"status": 500' not in log


def test_quota_race_on_postgresql(env):
    tenant = env.tenant({"instances": 10})
    made = quota_race(env, tenant)
    delete_all(tenant.member, made)
    wait_usage(env.admin, tenant.project_id, {"instances": 0, "cores": 0, "ram": 0})


def test_concurrent_metadata_and_tags_on_postgresql(env):
    tenant = env.tenant()
    api = tenant.member
    (sid,) = env.boot(api, "pg-meta")
    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(lambda i: api("POST", f"/servers/{sid}/metadata", {
            "metadata": {f"k{i}": str(i)}}).status_code, range(20)))
        assert codes == [200] * 20
        assert api.ok("GET", f"/servers/{sid}/metadata")["metadata"] == {
            f"k{i}": str(i) for i in range(20)}
        tag_codes = list(pool.map(lambda i: api("PUT", f"/servers/{sid}/tags/t{i % 5}",
                                                mv="2.26").status_code, range(20)))
        assert sorted(tag_codes) == [201] * 5 + [204] * 15
        replace = list(pool.map(lambda i: api("PUT", f"/servers/{sid}/tags", {
            "tags": [f"r{i}", "same"]}, mv="2.26").status_code, range(10)))
        assert replace == [200] * 10
    tags = api.ok("GET", f"/servers/{sid}/tags", mv="2.26")["tags"]
    assert len(tags) == 2 and "same" in tags
    delete_all(api, [sid])


@pytest.mark.parametrize("sort", ["sort_key=key_name&sort_dir=asc",
                                  "sort_key=key_name&sort_dir=desc",
                                  "sort_key=key_name&sort_dir=desc&sort_key=display_name"
                                  "&sort_dir=asc"])
def test_paging_over_nulls_on_postgresql(env, sort, keyed_servers):
    api, ids = keyed_servers
    whole = [s["id"] for s in api.ok("GET", f"/servers?{sort}")["servers"]]
    assert sorted(whole) == sorted(ids)
    seen: list[str] = []
    url: str | None = f"/servers?limit=2&{sort}"
    while url:
        page = api.ok("GET", url)
        seen += [s["id"] for s in page["servers"]]
        links = page.get("servers_links") or []
        url = links[0]["href"] if links else None
    assert seen == whole


@pytest.fixture(scope="module")
def keyed_servers(env) -> Iterator[tuple[Api, list[str]]]:
    """Five servers, two with a key pair (key_name set) and three without."""
    tenant = env.tenant()
    api = tenant.member
    api.ok("POST", "/os-keypairs", {"keypair": {"name": "pg-key", "public_key": ED25519}})
    ids = env.boot(api, "pg-nokey", count=3) + env.boot(api, "pg-key", count=2,
                                                       key_name="pg-key")
    yield api, ids
    delete_all(api, ids)


def test_regex_postgresql_refuses_is_400(env, keyed_servers):
    api, ids = keyed_servers
    assert len(api.ok("GET", f"/servers?name=^{PREFIX}-pg-")["servers"]) == 5
    # valid in Python's re, not in PostgreSQL's regular expressions
    fault(api("GET", "/servers?name=(?P<x>pg)"), 400, "badRequest")
