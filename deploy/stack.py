"""The scale-out topology on one machine, under supervisord (``make stack``).

    python -m deploy.stack up [--dir .stack] [--db postgresql|mariadb] [--api-nodes 2]
                              [--agents 8] [--port 8080] [--foreground] ...
    python -m deploy.stack status | down | purge [--dir .stack]

``up`` creates what the stack needs where missing (a database with an owner role
of its own, a RabbitMQ vhost and user: deploy/provision.py) unless given
``--database-url`` and ``--transport-url``; bootstraps (``python -m core.manage
bootstrap``); renders RUN_DIR/supervisord.conf from deploy/supervisord.conf.template;
starts supervisord; waits until every process serves; prints the endpoints and
credentials. Run again, it reuses the database, the passwords and the keys; on a
running stack it only reports. ``--foreground`` keeps supervisord in the
foreground: Ctrl-C or SIGTERM stops everything.

``down`` stops every process, in order, and supervisord (supervisorctl shutdown),
and waits. ``purge`` drops the database, role, vhost and user ``up`` created.

NIMBUS_* variables in the environment of ``up`` reach every process (for example
NIMBUS_DRIVER_OPERATION_TIME), except those the stack sets itself (CONTROLLED).

Everything lives in the run directory: stack.json (the topology, its URLs and
passwords; 0600), data/ (NIMBUS_DATA_DIR of the API nodes, conductors and
schedulers: keys, image files, clouds.yaml), logs/ (one file per process),
nginx/, supervisord.conf, supervisord.log, supervisord.pid and supervisor.sock.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path

from deploy import provision
from deploy.supervised import (
    StackError,
    alive,
    log_offsets,
    process_infos,
    render,
    supervisor_proxy,
    supervisord_pid,
    wait_ready,
)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Settings the stack sets for each process: never taken from the caller's environment.
CONTROLLED = {"NIMBUS_DATA_DIR", "NIMBUS_HOST", "NIMBUS_PORT", "NIMBUS_PUBLIC_URL",
              "NIMBUS_DATABASE_URL", "NIMBUS_TRANSPORT_URL", "NIMBUS_DNS_HOST",
              "NIMBUS_DNS_PORT", "NIMBUS_RUN_CONTROL_PLANE", "NIMBUS_RUN_DNS",
              "NIMBUS_CONFIG_FILE", "NIMBUS_COMPUTE_HOSTS", "NIMBUS_VOLUME_AGENTS"}


@dataclass
class Topology:
    """What runs, where, on which servers: saved as RUN_DIR/stack.json."""

    run_dir: str
    name: str = "nimbus_stack"
    db: str = "postgresql"
    db_admin_url: str | None = None
    database_url: str = ""
    transport_url: str = ""
    provisioned: bool = False  # the database and vhost are the stack's own
    db_password: str = ""
    rabbit_password: str = ""
    port: int = 8080
    api_ports: list[int] = field(default_factory=list)
    api_workers: int = 1
    conductors: int = 2
    conductor_workers: int = 4
    schedulers: int = 2
    agents: int = 8
    volume_schedulers: int = 2
    volume_agents: int = 1
    agent_vcpus: int = 16
    agent_memory_mb: int = 65536
    agent_disk_gb: int = 1000
    dns_port: int = 8053
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return Path(self.run_dir)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.path / "data"

    @property
    def conf(self) -> Path:
        return self.path / "supervisord.conf"

    @property
    def agent_hosts(self) -> list[str]:
        return [f"compute-{i:02d}" for i in range(1, self.agents + 1)]

    def save(self) -> None:
        target = self.path / "stack.json"
        target.touch(mode=0o600)
        target.write_text(json.dumps(dataclasses.asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, run_dir: str | Path) -> Topology:
        path = Path(run_dir) / "stack.json"
        if not path.exists():
            raise StackError(f"no stack in {run_dir} (no stack.json)")
        return cls(**json.loads(path.read_text()))


def _env_settings() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if k.startswith("NIMBUS_") and k not in CONTROLLED}


def child_env(top: Topology, controller: bool) -> dict[str, str]:
    """The environment of a process the stack starts outside supervisord (the
    bootstrap), or of supervisord itself (``controller=False``: only what every
    process may see; the config adds the rest)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NIMBUS_", "OS_", "AWS_", "SUPERVISOR_"))}
    if controller:
        env.update(top.settings)
        env.update(NIMBUS_DATABASE_URL=top.database_url,
                   NIMBUS_TRANSPORT_URL=top.transport_url,
                   NIMBUS_DATA_DIR=str(top.data_dir), NIMBUS_PUBLIC_URL=top.url)
    return env


def prepare(top: Topology) -> None:
    """Run directory, database and vhost (when the stack provisions them)."""
    for sub in ("logs", "data", "agent-data", "nginx"):
        (top.path / sub).mkdir(parents=True, exist_ok=True)
    if top.provisioned:
        top.db_password = top.db_password or secrets.token_hex(16)
        top.rabbit_password = top.rabbit_password or secrets.token_hex(16)
        top.save()  # first: ``purge`` finds what a failed ``up`` made
        top.database_url = provision.ensure_database(top.db, top.db_admin_url, top.name,
                                                     top.db_password)
        top.transport_url = provision.ensure_vhost(top.name, top.rabbit_password)
    top.save()


def bootstrap(top: Topology) -> str:
    """``python -m core.manage bootstrap`` (idempotent); its welcome text."""
    proc = subprocess.run([sys.executable, "-m", "core.manage", "bootstrap"], cwd=ROOT,
                          env=child_env(top, controller=True), capture_output=True,
                          text=True, timeout=300)
    if proc.returncode != 0:
        raise StackError(f"bootstrap failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def running(top: Topology) -> bool:
    return supervisord_pid(top.path) is not None


def start(top: Topology, foreground: bool) -> subprocess.Popen | None:
    """Start supervisord on the rendered config; returns it when in the foreground."""
    top.conf.touch(mode=0o600)  # it holds the database and broker passwords
    top.conf.write_text(render(top, ROOT, BIN))
    argv = [str(BIN / "supervisord"), "-c", str(top.conf)]
    env = child_env(top, controller=False)
    if foreground:
        return subprocess.Popen([*argv, "--nodaemon"], cwd=ROOT, env=env)
    # supervisord forks and the parent exits at once (a config error exits non-zero).
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise StackError(f"supervisord did not start:\n{proc.stdout}{proc.stderr}")
    return None


def summary(top: Topology, started_in: float | None = None) -> str:
    infos = process_infos(top.path)
    kinds: dict[str, int] = {}
    for name in infos:
        kind = name.split(":")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    shown = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in kinds.items())
    domain = top.settings.get("NIMBUS_DNS_DOMAIN", "nimbus.test")
    took = f", up in {started_in:.1f} s" if started_in is not None else ""
    rel, bin_dir = _shown(top.path), _shown(BIN)
    return f"""The stack runs under supervisord ({len(infos)} processes{took}).

  Load balancer (nginx)   {top.url}   (the endpoints above)
  API nodes               {', '.join(f'http://127.0.0.1:{p}' for p in top.api_ports)}
  DNS (A, PTR; udp/tcp)   127.0.0.1:{top.dns_port}   (dig -p {top.dns_port} @127.0.0.1 SERVER.PROJECT.{domain})
  Database                {_masked(top.database_url)}
  RabbitMQ                {_masked(top.transport_url)}
  Processes               {shown}
  Logs                    {rel}/logs/   (passwords of the database and broker: {rel}/stack.json)
  Control                 {bin_dir}/supervisorctl -c {rel}/supervisord.conf status
  Stop                    make stack-down   (or: python -m deploy.stack down --dir {rel})
"""


def _shown(path: Path) -> str:
    """``path`` relative to the current directory when under it, else absolute."""
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


def _masked(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an amqp:// URL is not SQLAlchemy's
        head, sep, tail = url.partition("@")
        return f"{head.rsplit(':', 1)[0]}:***@{tail}" if sep else url


def cmd_up(top: Topology, foreground: bool, timeout: float) -> int:
    began = time.monotonic()
    if running(top):
        if foreground:
            raise StackError(f"a stack already runs in {top.run_dir}")
        print(summary(Topology.load(top.run_dir)))
        return 0
    prepare(top)
    welcome = bootstrap(top)
    offsets = log_offsets(top.path)
    proc = start(top, foreground)
    stopping: list[int] = []
    if proc is not None:
        def forward(signum: int, _frame: object) -> None:
            stopping.append(signum)
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
    try:
        wait_ready(top, offsets, timeout, proc)
    except StackError as exc:
        if proc is None:  # left running, to be looked at
            raise StackError(f"{exc}\nThe stack still runs: see {top.path / 'logs'}; "
                             "stop it with make stack-down.") from None
        if not stopping:  # in the foreground: nothing outlives the command
            proc.send_signal(signal.SIGTERM)
            proc.wait()
            raise
    if not stopping:
        print(welcome.rstrip("\n") + "\n", flush=True)
        print(summary(top, time.monotonic() - began), flush=True)
    if proc is None:
        return 0
    return proc.wait()


def cmd_down(top: Topology, timeout: float) -> int:
    pid = supervisord_pid(top.path)
    if pid is None:
        print(f"no stack runs in {top.run_dir}")
        return 0
    began = time.monotonic()
    children = [info["pid"] for info in process_infos(top.path).values() if info["pid"]]
    try:
        supervisor_proxy(top.path).supervisor.shutdown()
    except (OSError, xmlrpc.client.Fault) as exc:
        print(f"shutdown: {exc}; sending SIGTERM to supervisord ({pid})", file=sys.stderr)
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [p for p in [pid, *children] if alive(p)]
    for p in left:  # supervisord gave up or hung: nothing may outlive the stack
        try:
            os.killpg(p, signal.SIGKILL)
        except OSError:
            pass
    if left:
        print(f"killed what was left after {timeout:.0f} s: pids {left}", file=sys.stderr)
        return 1
    print(f"stack in {top.run_dir} stopped in {time.monotonic() - began:.1f} s")
    return 0


def cmd_status(top: Topology) -> int:
    if not running(top):
        print(f"no stack runs in {top.run_dir}")
        return 3
    for name, info in process_infos(top.path).items():
        print(f"{name:24} {info['statename']:9} {info['description']}")
    return 0


def cmd_purge(top: Topology) -> int:
    if running(top):
        raise StackError("the stack still runs: down first")
    if not top.provisioned:
        print("the stack's database and broker were given to it: nothing to drop")
        return 0
    provision.drop_database(top.db, top.db_admin_url, top.name)
    provision.delete_vhost(top.name)
    print(f"dropped database, role, vhost and user {top.name}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m deploy.stack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "status", "purge"])
    parser.add_argument("--dir", default=".stack", help="run directory (.stack)")
    parser.add_argument("--name", default="nimbus_stack",
                        help="database, role, RabbitMQ vhost and user (nimbus_stack)")
    parser.add_argument("--db", choices=sorted(provision.ADMIN_URLS), default="postgresql")
    parser.add_argument("--db-admin-url", help="creates the database (default: local admin)")
    parser.add_argument("--database-url", help="use this database; create nothing")
    parser.add_argument("--transport-url", help="use this RabbitMQ; create nothing")
    parser.add_argument("--port", type=int, default=8080, help="nginx's port (8080)")
    parser.add_argument("--api-nodes", type=int, default=2)
    parser.add_argument("--api-ports", help="comma-separated, one per node (default: PORT+1, "
                        "PORT+2, ...; their number wins over --api-nodes)")
    parser.add_argument("--api-workers", type=int, default=1, help="gunicorn workers per node")
    parser.add_argument("--conductors", type=int, default=2)
    parser.add_argument("--conductor-workers", type=int, default=4)
    parser.add_argument("--schedulers", type=int, default=2)
    parser.add_argument("--agents", type=int, default=8, help="simulated compute hosts")
    parser.add_argument("--volume-schedulers", type=int, default=2)
    parser.add_argument("--volume-agents", type=int, default=1,
                        help="simulated storage back ends (pools: NIMBUS_VOLUME_POOLS)")
    parser.add_argument("--agent-vcpus", type=int, default=16)
    parser.add_argument("--agent-memory-mb", type=int, default=65536)
    parser.add_argument("--agent-disk-gb", type=int, default=1000)
    parser.add_argument("--dns-port", type=int, default=8053)
    parser.add_argument("--foreground", action="store_true",
                        help="keep supervisord in the foreground (Ctrl-C stops the stack)")
    parser.add_argument("--timeout", type=float, default=180.0,
                        help="seconds to wait for the stack to start or stop")
    return parser.parse_args(argv)


def topology_from(args: argparse.Namespace) -> Topology:
    run_dir = str(Path(args.dir).resolve())
    if (args.database_url is None) != (args.transport_url is None):
        raise StackError("--database-url and --transport-url go together")
    ports = ([int(p) for p in args.api_ports.split(",")] if args.api_ports
             else [args.port + i for i in range(1, args.api_nodes + 1)])
    top = Topology(
        run_dir=run_dir, name=args.name, db=args.db, db_admin_url=args.db_admin_url,
        database_url=args.database_url or "", transport_url=args.transport_url or "",
        provisioned=args.database_url is None, port=args.port, api_ports=ports,
        api_workers=args.api_workers, conductors=args.conductors,
        conductor_workers=args.conductor_workers, schedulers=args.schedulers,
        agents=args.agents, volume_schedulers=args.volume_schedulers,
        volume_agents=args.volume_agents, agent_vcpus=args.agent_vcpus,
        agent_memory_mb=args.agent_memory_mb, agent_disk_gb=args.agent_disk_gb,
        dns_port=args.dns_port, settings=_env_settings())
    if min(top.conductors, top.schedulers, top.agents, top.volume_schedulers,
           top.volume_agents, len(top.api_ports)) < 1:
        raise StackError("every kind of process needs at least one")
    previous = Path(run_dir) / "stack.json"
    if previous.exists():  # same stack again: keep its passwords
        old = Topology.load(run_dir)
        if old.name == top.name and old.db == top.db:
            top.db_password, top.rabbit_password = old.db_password, old.rabbit_password
    return top


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.command == "up":
            return cmd_up(topology_from(args), args.foreground, args.timeout)
        if not (Path(args.dir) / "stack.json").exists():
            print(f"no stack in {args.dir}")
            return 3 if args.command == "status" else 0
        top = Topology.load(Path(args.dir).resolve())
        if args.command == "down":
            return cmd_down(top, args.timeout)
        if args.command == "status":
            return cmd_status(top)
        return cmd_purge(top)
    except (StackError, provision.ProvisionError) as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
