"""Fixtures shared by every test: a live server and real clients pointed at it."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.support.cli_zygote import Zygote
from tests.support.s3_server import MotoS3Server, moto_installed
from tests.support.server import VENV_BIN, Server, make_server
from tests.support.swift_aio import SwiftAllInOne, swift_installed, xattrs_supported

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_service(available: bool, what: str) -> None:
    """Skip a test whose service is missing — but in CI a missing service fails."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available")
    pytest.skip(f"{what} is not available")


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    """One bootstrapped API node per test worker."""
    srv = make_server(tmp_path_factory.mktemp("server"))
    srv.bootstrap()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto's server as a real S3 endpoint, once per test worker."""
    require_service(moto_installed(), "moto[server] (S3 emulator)")
    server = MotoS3Server(tmp_path_factory.mktemp("moto")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def swift_aio(tmp_path_factory):
    """OpenStack Swift's own servers as a one-replica all-in-one, once per worker."""
    require_service(swift_installed(), "OpenStack Swift (the swift package)")
    base = tmp_path_factory.mktemp("swift")
    require_service(xattrs_supported(base), f"user xattrs on {base} (for Swift)")
    swift = SwiftAllInOne(base).start()
    yield swift
    swift.stop()


# The real `openstack` client runs forked from a warm copy of itself
# (tests/support/cli_zygote.py); NIMBUS_TEST_CLI=exec starts it afresh each time.
CLI_EXEC = os.environ.get("NIMBUS_TEST_CLI", "") == "exec"
_ZYGOTE: Zygote | None = None


def _zygote() -> Zygote:
    global _ZYGOTE
    if _ZYGOTE is None:
        _ZYGOTE = Zygote()
    return _ZYGOTE


def pytest_sessionfinish(session):
    if _ZYGOTE is not None:
        _ZYGOTE.stop()


class Cli:
    """Runs the real `openstack` command against the test server."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env["OS_CLIENT_CONFIG_FILE"] = str(self.server.clouds_yaml)
        env["HOME"] = str(self.server.data_dir)  # no stray ~/.config/openstack
        return env

    def run(self, cloud: str, *args: str, check: bool = True, env: dict | None = None
            ) -> subprocess.CompletedProcess:
        argv = ["--os-cloud", cloud, *args]
        full_env = {**self.env(), **(env or {})}
        if CLI_EXEC:
            proc = subprocess.run([str(VENV_BIN / "openstack"), *argv], capture_output=True,
                                  text=True, timeout=120, env=full_env)
        else:
            proc = _zygote().run(argv, full_env, os.getcwd(), timeout=120)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stderr}\n{proc.stdout}")
        return proc

    def json(self, cloud: str, *args: str, **kw):
        out = self.run(cloud, *args, "-f", "json", **kw).stdout
        return json.loads(out) if out.strip() else None


@pytest.fixture(scope="session")
def cli(server) -> Cli:
    return Cli(server)


def sdk_connection(server: Server, cloud: str):
    """An openstacksdk Connection built from the clouds.yaml bootstrap wrote."""
    import openstack.config
    import openstack.connection

    config = openstack.config.OpenStackConfig(config_files=[str(server.clouds_yaml)],
                                              vendor_files=[], secure_files=[])
    return openstack.connection.Connection(config=config.get_one(cloud=cloud))


@pytest.fixture(scope="session")
def admin_client(server):
    conn = sdk_connection(server, "admin")
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def demo_client(server):
    conn = sdk_connection(server, "demo")
    yield conn
    conn.close()


def ksa_session(server: Server, username: str, password: str, project_name: str | None,
                **kw):
    from keystoneauth1 import session
    from keystoneauth1.identity import v3

    auth = v3.Password(auth_url=server.auth_url, username=username, password=password,
                       user_domain_id="default", project_name=project_name,
                       project_domain_id="default" if project_name else None, **kw)
    return session.Session(auth=auth)


@pytest.fixture(scope="session")
def admin_session(server):
    return ksa_session(server, "admin", server.password("admin"), "admin")


@pytest.fixture(scope="session")
def demo_session(server):
    return ksa_session(server, "demo", server.password("demo"), "demo")


@pytest.fixture(scope="session")
def identity_url(server) -> str:
    return f"{server.url}/identity/v3"


def _groups(item) -> list[str]:
    return sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                   for m in item.iter_markers("xdist_group")})


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/integration" in str(Path(item.fspath)):
            item.add_marker(pytest.mark.integration)
    if not getattr(config.option, "loadgroup", False):
        return
    # pytest-xdist 3.8 groups ``xdist_group`` tests by a suffix it writes to
    # ``item._nodeid``, which pytest 9 no longer reads (``nodeid`` comes from
    # ``_id``): written here the way it meant, the group's tests share a worker
    # (and, for the whole-cluster tests, take turns without a worker idling on
    # the lock).
    from _pytest.nodeid import NodeId

    for item in items:
        groups = _groups(item)
        if groups and "@" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(groups)}")
    # Grouped tests first: the longest runs (whole clusters) start at once, not
    # at the end where one worker would finish them alone.
    items.sort(key=lambda item: 0 if _groups(item) else 1)
