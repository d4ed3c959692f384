"""Control-plane processes for integration tests: conductors, schedulers and compute
agents, each a real ``python -m core.<service>`` process with its own environment and
log file, in its own process group — so a test can SIGKILL one of them, and
``Cluster.stop_all`` can always clean up everything, also after a failure."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def clean_env(**settings: object) -> dict[str, str]:
    """The test runner's environment without any NIMBUS_/OS_/AWS_ variable, plus
    ``settings`` as ``NIMBUS_<KEY>`` variables."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NIMBUS_", "OS_", "AWS_"))}
    env["PYTHONPATH"] = str(ROOT)
    for key, value in settings.items():
        env[f"NIMBUS_{key.upper()}"] = str(value)
    return env


@contextlib.contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (flock): tests that each start a whole
    cluster take turns, also on different xdist workers (``xdist_group`` does not
    group tests under pytest 9 with pytest-xdist 3.8)."""
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def cluster_lock(tmp_path_factory) -> Path:
    """The lock file every test that runs a whole cluster or stack holds while it
    runs (``exclusive``): one at a time on two cores, across xdist workers."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return shared / "compute-cluster.lock"


@dataclass
class Service:
    """One control-plane process; ``ready`` is a substring of the log message it
    writes once it serves."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    ready: str
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> Service:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def records(self) -> list[dict]:
        """The JSON log records written so far (other lines are skipped)."""
        out = []
        if not self.log_path.exists():
            return out
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                out.append(record)
        return out

    def log_tail(self, chars: int = 3000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-chars:]

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(self.ready in str(r.get("msg", "")) for r in self.records()):
                return
            if not self.alive():
                break
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not start (exit "
                             f"{self.proc.poll() if self.proc else None}):\n{self.log_tail()}")

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the process group (the service and anything it started)."""
        if self.alive():
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        """SIGKILL, as a crash would: no clean-up, unacknowledged messages go back."""
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait (SIGKILL after ``timeout``); returns the exit code."""
        if self.proc is None:
            return None
        self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            return self.proc.wait(timeout=10)


class Cluster:
    """Builds, starts and stops the control plane of one test.

    ``controller_env`` is for conductors and schedulers (database and bus URLs);
    ``agent_env`` for agents (the bus URL only: agents have no database access).
    """

    def __init__(self, log_dir: Path, controller_env: dict[str, str],
                 agent_env: dict[str, str]) -> None:
        self.log_dir = log_dir
        self.controller_env = controller_env
        self.agent_env = agent_env
        self.services: list[Service] = []
        log_dir.mkdir(parents=True, exist_ok=True)

    def _add(self, name: str, args: list[str], env: dict[str, str], ready: str) -> Service:
        service = Service(name, [sys.executable, "-m", *args], env,
                          self.log_dir / f"{name}.log", ready)
        self.services.append(service)
        return service

    def conductor(self, name: str, workers: int = 4) -> Service:
        return self._add(name, ["core.conductor", "--workers", str(workers)],
                         self.controller_env, "conductor serving")

    def scheduler(self, name: str) -> Service:
        return self._add(name, ["core.scheduler"], self.controller_env, "serving topic")

    def agent(self, host: str, vcpus: int, memory_mb: int, disk_gb: int) -> Service:
        return self._add(host, ["core.agent", "--host", host, "--vcpus", str(vcpus),
                                "--memory-mb", str(memory_mb), "--disk-gb", str(disk_gb)],
                         self.agent_env, f"compute agent {host} serving")

    def volume_scheduler(self, name: str) -> Service:
        return self._add(name, ["core.volume.scheduler"], self.controller_env,
                         "serving topic volume-scheduler")

    def volume_agent(self, backend: str, pools: list[str]) -> Service:
        """A simulated storage back end; ``pools`` as ``NAME:GB[:thin|thick]``."""
        return self._add(backend, ["core.volume.agent", "--backend", backend,
                                   *(a for pool in pools for a in ("--pool", pool))],
                         self.agent_env, f"volume agent {backend} serving pools")

    def start(self, services: list[Service], timeout: float = 60.0) -> None:
        """Start ``services`` side by side and wait until each serves."""
        for service in services:
            service.start()
        for service in services:
            service.wait_ready(timeout)

    def stop_all(self) -> dict[str, int | None]:
        """SIGTERM every live service, then SIGKILL what is left; exit codes by name."""
        for service in self.services:
            service.signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        deadline = time.monotonic() + 15
        for service in self.services:
            if service.proc is None:
                continue
            try:
                codes[service.name] = service.proc.wait(
                    timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                service.signal(signal.SIGKILL)
                codes[service.name] = service.proc.wait(timeout=10)
        return codes
