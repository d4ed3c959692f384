"""The supervised stack (``python -m deploy.stack``, what ``make stack`` runs) for
tests: nginx, API nodes, conductors, schedulers, simulated agents and the DNS
responder under supervisord, on a database, role, RabbitMQ vhost and user of its
own (unique names, dropped at the end), free ports, and a run directory in tmp.

Starting one costs about 20 s on two cores: start it once per module (the
``stack`` fixtures do) and hold ``cluster_lock`` while it runs, so that xdist
workers never run two stacks (or a stack and another cluster) side by side.

What failure tests need: ``kill`` a named process (``agent:compute-01``,
``scheduler:scheduler-1``, ``api:api-2``, ``conductor:conductor-1``, ``nginx``,
``dns``) and ``wait_restarted``; ``pids`` and ``states``;
``close_rabbitmq_connections``; ``database_refusing`` (the database refuses new
connections and loses its sessions for a while); clients through nginx; and a
clean ``stop`` that reports what did not stop cleanly.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from deploy import provision
from deploy.stack import Topology
from deploy.supervised import (
    alive,
    log_offsets,
    log_tail,
    process_infos,
    programs,
    supervisord_pid,
    wait_ready,
)
from tests.support.cluster import ROOT, clean_env
from tests.support.server import Server, free_port


def stack_available() -> tuple[bool, str]:
    """Whether this machine can run a stack: nginx, rabbitmqctl, PostgreSQL."""
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        return False, "nginx"
    if shutil.which("rabbitmqctl") is None and not Path("/usr/sbin/rabbitmqctl").exists():
        return False, "rabbitmqctl (a RabbitMQ vhost of the stack's own)"
    engine = create_engine(provision.ADMIN_URLS["postgresql"],
                           connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return False, "PostgreSQL"
    finally:
        engine.dispose()
    return True, ""


@dataclass
class Stack:
    top: Topology
    output: Path  # what ``deploy.stack up`` printed
    started_in: float = 0.0
    stopped_in: float | None = None
    killed: set[str] = field(default_factory=set)

    # ---- starting and stopping ---------------------------------------------
    @classmethod
    def up(cls, run_dir: Path, *, api_nodes: int = 2, agents: int = 4, conductors: int = 2,
           schedulers: int = 2, db: str = "postgresql", timeout: float = 240.0,
           **settings: object) -> Stack:
        """Start a stack; ``settings`` become NIMBUS_* variables of every process."""
        name = f"nimbus_stk_{uuid.uuid4().hex[:10]}"
        env = clean_env(bcrypt_rounds=4, **settings)
        argv = [sys.executable, "-m", "deploy.stack", "up", "--dir", str(run_dir),
                "--name", name, "--db", db, "--port", str(free_port()),
                "--api-ports", ",".join(str(free_port()) for _ in range(api_nodes)),
                "--api-nodes", str(api_nodes), "--agents", str(agents),
                "--conductors", str(conductors), "--schedulers", str(schedulers),
                "--dns-port", str(free_port()), "--timeout", str(timeout)]
        run_dir.mkdir(parents=True, exist_ok=True)
        output = run_dir / "up.out"
        began = time.monotonic()
        with open(output, "wb") as sink:
            proc = subprocess.run(argv, cwd=ROOT, env=env, stdout=sink,
                                  stderr=subprocess.STDOUT, timeout=timeout + 120)
        took = time.monotonic() - began
        if not (run_dir / "stack.json").exists():
            raise AssertionError(f"deploy.stack up failed:\n{output.read_text()}")
        stack = cls(Topology.load(run_dir), output, started_in=took)
        if proc.returncode != 0:
            stack.stop()
            stack.purge()
            raise AssertionError(f"deploy.stack up failed ({proc.returncode}):\n"
                                 f"{output.read_text()[-6000:]}")
        return stack

    def stop(self, timeout: float = 120.0) -> subprocess.CompletedProcess:
        """``deploy.stack down``: every process stopped, supervisord gone."""
        began = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "deploy.stack", "down", "--dir",
                               str(self.top.path), "--timeout", str(timeout)], cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout + 60)
        self.stopped_in = time.monotonic() - began
        return proc

    def purge(self) -> None:
        """Drop the stack's database, role, vhost and user."""
        subprocess.run([sys.executable, "-m", "deploy.stack", "purge", "--dir",
                        str(self.top.path)], cwd=ROOT, capture_output=True, timeout=120)

    def unclean_stops(self) -> list[str]:
        """Processes (other than those this test killed) whose last stop was not
        a clean exit, from supervisord's log."""
        lines = (self.top.path / "supervisord.log").read_text().splitlines()
        stops = {}
        for line in lines:
            if " stopped: " in line:
                name = line.split(" stopped: ", 1)[1].split(" ", 1)[0]
                stops[name] = line
        expected = {p.short for p in programs(self.top)}
        out = [f"{n}: never stopped" for n in sorted(expected - set(stops))]
        out += [line for n, line in sorted(stops.items())
                if "(exit status 0)" not in line and n not in self.killed]
        return out

    # ---- processes -----------------------------------------------------------
    @property
    def running(self) -> bool:
        return supervisord_pid(self.top.path) is not None

    def infos(self) -> dict[str, dict]:
        return process_infos(self.top.path)

    def pids(self) -> dict[str, int]:
        return {name: info["pid"] for name, info in self.infos().items()}

    def states(self) -> dict[str, str]:
        return {name: info["statename"] for name, info in self.infos().items()}

    def names(self, kind: str) -> list[str]:
        """Supervisor names of one kind: api, conductor, scheduler, agent, dns, nginx."""
        return [p.name for p in programs(self.top) if p.kind == kind]

    def log(self, name: str) -> Path:
        return next(p.log for p in programs(self.top) if p.name == name)

    def log_tail(self, name: str, chars: int = 3000) -> str:
        return log_tail(self.log(name), chars)

    def offsets(self) -> dict[str, int]:
        """Every process log's size now: ``wait_restarted`` looks after it."""
        return log_offsets(self.top.path)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Send ``sig`` to the process group of ``name`` (a gunicorn master and its
        workers, say), as a crash would; returns the pid it had."""
        pid = self.infos()[name]["pid"]
        assert pid, f"{name} does not run"
        if sig == signal.SIGKILL:
            self.killed.add(name.split(":")[-1])
        os.killpg(pid, sig)
        deadline = time.monotonic() + 10
        while sig == signal.SIGKILL and alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        return pid

    def wait_restarted(self, name: str, old_pid: int, since: dict[str, int],
                       timeout: float = 60.0) -> int:
        """Wait until supervisord has started ``name`` again and it serves (a log
        line after ``since``, or its URL); returns the new pid."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.infos()[name]
            if info["pid"] and info["pid"] != old_pid and info["statename"] == "RUNNING":
                break
            assert time.monotonic() < deadline, f"{name} not restarted: {info}"
            time.sleep(0.1)
        wait_ready(self.top, since, max(1.0, deadline - time.monotonic()), only=[name])
        return info["pid"]

    # ---- failures of the services underneath ----------------------------------
    def close_rabbitmq_connections(self, reason: str = "test") -> None:
        """The broker closes every connection of the stack's vhost (CONNECTION_FORCED)."""
        subprocess.run(["rabbitmqctl", "-q", "close_all_connections", "--vhost",
                        self.top.name, reason], check=True, capture_output=True, timeout=60)

    @contextlib.contextmanager
    def database_refusing(self) -> Iterator[None]:
        """While inside: the database refuses new connections and its open sessions
        are cut (PostgreSQL: done as the database's owner role, no superuser)."""
        assert self.top.db == "postgresql", "PostgreSQL only for now"
        # The statement must come from another database than the one it closes.
        owner = create_engine(make_url(self.top.database_url).set(database="postgres"),
                              isolation_level="AUTOCOMMIT")
        name = self.top.name
        try:
            with owner.connect() as conn:
                conn.execute(text(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = :n"), {"n": name})
            yield
        finally:
            with owner.connect() as conn:
                conn.execute(text(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
            owner.dispose()

    # ---- clients -------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.top.url

    @property
    def api(self) -> Server:
        """The stack as one API server (through nginx), for Cli and ksa_session."""
        return Server(data_dir=self.top.data_dir, port=self.top.port, env={},
                      public_url=self.top.url)

    def password(self, user: str) -> str:
        return (self.top.data_dir / f"{user}-password").read_text().strip()


@contextlib.contextmanager
def running_stack(run_dir: Path, **options: object) -> Iterator[Stack]:
    """A stack for the duration of the block, stopped and purged after it; the
    stop's problems (a process that did not exit cleanly) fail the block."""
    stack = Stack.up(run_dir, **options)  # type: ignore[arg-type]
    problems: list[str] = []
    try:
        yield stack
    finally:
        if stack.running:
            proc = stack.stop()
            if proc.returncode != 0:
                problems.append(f"down: {proc.stdout}{proc.stderr}")
            problems += stack.unclean_stops()
        stack.purge()
        print(f"\nstack {stack.top.name}: up in {stack.started_in:.1f} s, "
              f"down in {stack.stopped_in or 0:.1f} s")
    assert not problems, problems
