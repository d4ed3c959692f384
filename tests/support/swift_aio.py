"""A real, one-replica OpenStack Swift (proxy + account + container + object
servers from the ``swift`` package) for tests, on free ports of 127.0.0.1.

Authentication is tempauth (``GET /auth/v1.0``, user ``test:tester``, key
``testing``) with Fernet tokens, and the proxy's cache is a dict in its own
process (:class:`MemoryCache`), so no memcached is needed.

    swift = SwiftAllInOne(tmp_dir).start()
    ... swift.auth_url, swift.user, swift.key ...
    swift.stop()
"""

from __future__ import annotations

import getpass
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from cryptography.fernet import Fernet

from tests.support.server import ROOT, free_port

VENV_BIN = Path(sys.executable).parent
_clock = time.time  # MemoryCache.set has a parameter named ``time``
SERVERS = ("account", "container", "object", "proxy")

_BACKEND = """\
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 0
user = {user}
swift_dir = {swift_dir}
devices = {devices}
mount_check = false
disable_fallocate = true
log_level = WARNING

[pipeline:main]
pipeline = {kind}-server

[app:{kind}-server]
use = egg:swift#{kind}
"""

_PROXY = """\
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 0
user = {user}
swift_dir = {swift_dir}
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk slo dlo tempauth copy proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
fernet_key_1 = {fernet_key}
active_fernet_key_id = 1

[filter:cache]
paste.filter_factory = tests.support.swift_aio:memory_cache_filter

"""
# The stock filters, each "[filter:NAME]\nuse = egg:swift#ENTRY_POINT".
_PROXY += "".join(f"\n[filter:{name}]\nuse = egg:swift#{name.replace('-', '_')}\n" for name in (
    "catch_errors", "gatekeeper", "healthcheck", "proxy-logging", "listing_formats", "bulk",
    "slo", "dlo", "copy"))

_SWIFT_CONF = """\
[swift-hash]
swift_hash_path_suffix = nimbus-tests
swift_hash_path_prefix = nimbus

[storage-policy:0]
name = Policy-0
default = yes
"""


# Part power 8, one replica, min_part_hours 1, one device per ring: what
# `swift-ring-builder X.builder create 8 1 1; add ...; rebalance` does.
_RING_SCRIPT = """\
import ast, os, sys
from swift.common.ring import RingBuilder
swift_dir, ports = sys.argv[1], ast.literal_eval(sys.argv[2])
for kind, port in ports.items():
    builder = RingBuilder(8, 1, 1)
    builder.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": port,
                     "device": "d1", "weight": 1.0})
    builder.rebalance()
    builder.get_ring().save(os.path.join(swift_dir, kind + ".ring.gz"))
    builder.save(os.path.join(swift_dir, kind + ".builder"))
"""


def swift_installed() -> bool:
    """Whether the Swift server scripts are available in this environment."""
    return all((VENV_BIN / f"swift-{name}-server").exists() for name in SERVERS)


def xattrs_supported(directory: Path) -> bool:
    """Whether ``directory`` stores user extended attributes (Swift keeps object
    metadata in them)."""
    probe = directory / ".xattr-probe"
    probe.touch()
    try:
        os.setxattr(probe, "user.swift.probe", b"x" * 254)
        return os.getxattr(probe, "user.swift.probe") == b"x" * 254
    except OSError:
        return False
    finally:
        probe.unlink(missing_ok=True)


class SwiftAllInOne:
    """Configures, starts and stops a single-node, single-replica Swift."""

    user = "test:tester"
    key = "testing"
    auth_version = "1"

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = Path(base_dir)
        self.swift_dir = self.base_dir / "etc"
        self.devices = self.base_dir / "srv"
        self.logs = self.base_dir / "logs"
        self.ports = {name: free_port() for name in SERVERS}
        self.procs: dict[str, subprocess.Popen] = {}
        self.startup_seconds = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['proxy']}"

    @property
    def auth_url(self) -> str:
        return f"{self.url}/auth/v1.0"

    # ---- lifecycle ------------------------------------------------------
    def start(self, timeout: float = 60.0) -> SwiftAllInOne:
        """Writes the configuration, builds the rings, starts the four servers
        and waits until tempauth hands out tokens."""
        began = time.monotonic()
        for directory in (self.swift_dir, self.devices / "d1", self.logs):
            directory.mkdir(parents=True, exist_ok=True)
        if not xattrs_supported(self.devices / "d1"):
            raise RuntimeError(f"{self.devices} does not support user xattrs; Swift needs them")
        self._write_configs()
        self._build_rings()
        for name in SERVERS:
            self._spawn(name)
        try:
            self._wait(timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Stops every server (SIGTERM, then SIGKILL after 10 s)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()

    def token(self) -> tuple[str, str]:
        """A fresh (storage URL, token) pair for ``test:tester``."""
        resp = requests.get(self.auth_url, timeout=5,
                            headers={"X-Auth-User": self.user, "X-Auth-Key": self.key})
        resp.raise_for_status()
        return resp.headers["X-Storage-Url"], resp.headers["X-Auth-Token"]

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of every server's log, for failure messages."""
        out = []
        for name in SERVERS:
            path = self.logs / f"{name}.log"
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {name} ---\n" + "\n".join(tail))
        return "\n".join(out)

    # ---- steps ----------------------------------------------------------
    def _conf(self, name: str) -> Path:
        return self.swift_dir / f"{name}-server.conf"

    def _write_configs(self) -> None:
        (self.swift_dir / "swift.conf").write_text(_SWIFT_CONF)
        common = {"user": getpass.getuser(), "swift_dir": self.swift_dir}
        for kind in ("account", "container", "object"):
            self._conf(kind).write_text(_BACKEND.format(
                kind=kind, port=self.ports[kind], devices=self.devices, **common))
        self._conf("proxy").write_text(_PROXY.format(
            port=self.ports["proxy"], fernet_key=Fernet.generate_key().decode(), **common))

    def _build_rings(self) -> None:
        # One Python process for the three rings: swift-ring-builder would
        # take nine (~0.7 s each, mostly imports).
        ports = {kind: self.ports[kind] for kind in ("account", "container", "object")}
        proc = subprocess.run([sys.executable, "-c", _RING_SCRIPT, str(self.swift_dir),
                               repr(ports)], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"building the Swift rings failed:\n{proc.stdout}{proc.stderr}")

    def _spawn(self, name: str) -> None:
        log = open(self.logs / f"{name}.log", "ab")
        # The proxy imports memory_cache_filter from this module.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
        try:
            self.procs[name] = subprocess.Popen(
                [str(VENV_BIN / f"swift-{name}-server"), str(self._conf(name)), "--verbose"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                start_new_session=True)
        finally:
            log.close()

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"swift {name} server exited with {proc.returncode}\n"
                                       + self.log_tail())
            try:
                url, token = self.token()
                # The account PUT reaches every back end: proof all are up.
                requests.put(f"{url}/nimbus-probe", headers={"X-Auth-Token": token},
                             timeout=5).raise_for_status()
                requests.delete(f"{url}/nimbus-probe", headers={"X-Auth-Token": token},
                                timeout=5).raise_for_status()
                return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"Swift did not start in {timeout}s\n" + self.log_tail())
            time.sleep(0.2)


class MemoryCache:
    """The subset of swift's MemcacheRing the proxy uses, in one process's
    memory (the test proxy runs one worker), so no memcached is needed."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[float, str]] = {}

    def get(self, key: str, raise_on_error: bool = False) -> object:
        expires, raw = self._data.get(key, (0.0, "null"))
        if expires and expires < _clock():
            self._data.pop(key, None)
            return None
        return json.loads(raw)

    def set(self, key: str, value: object, serialize: bool = True, time: float = 0,
            min_compress_len: int = 0, raise_on_error: bool = False) -> None:
        expires = _clock() + time if time and time < 30 * 86400 else time
        self._data[key] = (expires, json.dumps(value))

    def delete(self, key: str, server_key: str | None = None) -> None:
        self._data.pop(key, None)


def memory_cache_filter(global_conf: dict, **local_conf: str):
    """paste.deploy filter factory putting a :class:`MemoryCache` in
    ``env['swift.cache']``, as swift's memcache middleware would."""
    cache = MemoryCache()

    def make_filter(app):
        def middleware(env, start_response):
            env["swift.cache"] = cache
            return app(env, start_response)
        return middleware
    return make_filter
