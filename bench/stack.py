"""Start one server under gunicorn for a measurement and account its CPU time."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
UVICORN = "uvicorn_worker.UvicornWorker"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stack:
    """A gunicorn command line: the project's gunicorn.conf.py, with the
    worker class, worker count and bind address overridden."""

    name: str
    app: str
    worker_class: str = UVICORN
    threads: int = 1
    env: dict[str, str] = field(default_factory=dict)


class Running:
    """A started server: its URL and the CPU time its workers have used."""

    def __init__(self, stack: Stack, workers: int, log_path: Path,
                 port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--no-control-socket",
               "-k", stack.worker_class, "--workers", str(workers),
               "--threads", str(stack.threads), "--bind", f"127.0.0.1:{self.port}",
               stack.app]
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **stack.env},
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.workers = workers

    def wait(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                urllib.request.urlopen(self.url + path, timeout=2).read()
                if len(self.worker_pids()) == self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.url}{path} did not answer in {timeout}s")

    def worker_pids(self) -> list[int]:
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                stat = _stat(int(entry))
                if stat and int(stat[1]) == self.proc.pid:
                    pids.append(int(entry))
        return pids

    def cpu_seconds(self) -> float:
        """user + system time of the worker processes so far."""
        total = 0
        for pid in self.worker_pids():
            stat = _stat(pid)
            if stat:
                total += int(stat[11]) + int(stat[12])
        return total / CLOCK_TICKS

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat fields after the command name: [state, ppid, ...]."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


@contextmanager
def serving(stack: Stack, workers: int, log_dir: Path,
            port: int | None = None) -> Iterator[Running]:
    """Run ``stack`` until the block ends (``wait`` for it first); its log goes
    to ``log_dir``. ``port``: one chosen beforehand (a server that puts its own
    URL in a catalog must know it when bootstrapped); default a free one."""
    slug = "".join(c if c.isalnum() else "-" for c in stack.name.lower()).strip("-")
    running = Running(stack, workers, log_dir / f"{slug}.log", port)
    try:
        yield running
    finally:
        running.stop()
