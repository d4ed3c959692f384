"""The stack's processes under supervisord: the config rendered from
deploy/supervisord.conf.template, supervisord's XML-RPC interface on the run
directory's socket, and when each process serves.

Shared by ``python -m deploy.stack`` and the tests' harness (tests/support/stack.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deploy.stack import Topology

TEMPLATE = Path(__file__).resolve().parent / "supervisord.conf.template"
# A program block written once per process of its kind: its header names the kind.
REPEATED = re.compile(r"^\[program:(?:(?P<kind>[a-z-]+?)-@N@|@HOST@)\]")


class StackError(RuntimeError):
    pass


@dataclass(frozen=True)
class Program:
    """One supervised process: its supervisor name (``group:name`` or ``name``),
    kind, log file, and how to tell it serves — a substring of a log message it
    writes once it does, or a URL that answers."""

    name: str
    kind: str
    log: Path
    ready_log: str | None = None
    ready_url: str | None = None

    @property
    def short(self) -> str:
        return self.name.split(":")[-1]


def programs(top: Topology) -> list[Program]:
    logs = top.path / "logs"
    out = [Program(f"conductor:conductor-{n}", "conductor", logs / f"conductor-{n}.log",
                   ready_log="conductor serving") for n in range(1, top.conductors + 1)]
    out += [Program(f"scheduler:scheduler-{n}", "scheduler", logs / f"scheduler-{n}.log",
                    ready_log="serving topic") for n in range(1, top.schedulers + 1)]
    # An agent serves once a conductor has registered it.
    out += [Program(f"agent:{h}", "agent", logs / f"{h}.log",
                    ready_log=f"compute agent {h} serving") for h in top.agent_hosts]
    out += [Program(f"volume-scheduler:volume-scheduler-{n}", "volume-scheduler",
                    logs / f"volume-scheduler-{n}.log",
                    ready_log="serving topic volume-scheduler")
            for n in range(1, top.volume_schedulers + 1)]
    out += [Program(f"volume:volume-{n}", "volume", logs / f"volume-{n}.log",
                    ready_log="serving pools") for n in range(1, top.volume_agents + 1)]
    out.append(Program("dns", "dns", logs / "dns.log", ready_log="DNS responder listening"))
    out += [Program(f"api:api-{n}", "api", logs / f"api-{n}.log",
                    ready_url=f"http://127.0.0.1:{port}/identity/v3")
            for n, port in enumerate(top.api_ports, start=1)]
    out.append(Program("nginx", "nginx", logs / "nginx.log",
                       ready_url=f"{top.url}/identity/v3"))
    return out


def _env_value(value: str) -> str:
    """A value for supervisord's ``environment=KEY="value",...`` (shlex, not POSIX
    mode: no escapes inside quotes; ``%`` starts an expansion)."""
    if "\n" in value or ('"' in value and "'" in value):
        raise StackError(f"a setting supervisord cannot pass on: {value!r}")
    quote = "'" if '"' in value else '"'
    return f"{quote}{value.replace('%', '%%')}{quote}"


def env_line(env: dict[str, str]) -> str:
    return ",".join(f"{k}={_env_value(v)}" for k, v in env.items())


def render(top: Topology, root: Path, bin_dir: Path) -> str:
    """RUN_DIR/supervisord.conf for ``top``."""
    if "%" in f"{top.path}{root}{bin_dir}":  # supervisord would read it as an expansion
        raise StackError("the run directory and the checkout's path may not contain %")
    controller = {"NIMBUS_DATABASE_URL": top.database_url,
                  "NIMBUS_DATA_DIR": str(top.data_dir), "NIMBUS_PUBLIC_URL": top.url}
    common = {"PYTHONUNBUFFERED": "1", "NIMBUS_TRANSPORT_URL": top.transport_url,
              **top.settings}
    names = {"conductor": [f"conductor-{n}" for n in range(1, top.conductors + 1)],
             "scheduler": [f"scheduler-{n}" for n in range(1, top.schedulers + 1)],
             "api": [f"api-{n}" for n in range(1, len(top.api_ports) + 1)],
             "agent": top.agent_hosts,
             "volume-scheduler": [f"volume-scheduler-{n}"
                                  for n in range(1, top.volume_schedulers + 1)],
             "volume": [f"volume-{n}" for n in range(1, top.volume_agents + 1)]}
    values = {
        "RUN_DIR": str(top.path), "ROOT": str(root), "BIN": str(bin_dir),
        "PYTHON": str(bin_dir / "python"), "COMMON_ENV": env_line(common),
        "CONTROLLER_ENV": env_line(controller),
        "CONDUCTOR_WORKERS": str(top.conductor_workers), "API_WORKERS": str(top.api_workers),
        "AGENT_VCPUS": str(top.agent_vcpus), "AGENT_MEMORY_MB": str(top.agent_memory_mb),
        "AGENT_DISK_GB": str(top.agent_disk_gb), "DNS_PORT": str(top.dns_port),
        "LISTEN_PORT": str(top.port),
        "API_UPSTREAMS": " ".join(str(p) for p in top.api_ports),
        **{f"{kind.upper().replace('-', '_')}_PROGRAMS": ",".join(n)
           for kind, n in names.items()},
    }
    out: list[str] = []
    for block in re.split(r"(?m)^(?=\[)", TEMPLATE.read_text()):
        match = REPEATED.match(block)
        if match is None:
            out.append(block)
            continue
        kind = match.group("kind") or "agent"
        for n, name in enumerate(names[kind], start=1):
            copy = block.replace("@N@", str(n)).replace("@HOST@", name)
            if kind == "api":
                copy = copy.replace("@PORT@", str(top.api_ports[n - 1]))
            out.append(copy)
    text = "".join(out)
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    settings = [line for line in text.splitlines() if not line.startswith(";")]
    left = sorted(set(re.findall(r"@[A-Z_]+@", "\n".join(settings))))
    if left:
        raise StackError(f"template names nothing for {left}")
    return text


def supervisor_proxy(run_dir: Path) -> Any:
    """supervisord's XML-RPC interface, over the run directory's socket."""
    from supervisor.xmlrpc import SupervisorTransport

    transport = SupervisorTransport(None, None, f"unix://{run_dir / 'supervisor.sock'}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def supervisord_pid(run_dir: Path) -> int | None:
    """The pid of the supervisord running on ``run_dir``, or None."""
    try:
        pid = int((run_dir / "supervisord.pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"supervisord" in cmdline else None


def process_infos(run_dir: Path) -> dict[str, dict]:
    """supervisord's view of each process, by ``group:name`` (or ``name``)."""
    infos = supervisor_proxy(run_dir).supervisor.getAllProcessInfo()
    return {(i["name"] if i["group"] == i["name"] else f"{i['group']}:{i['name']}"): i
            for i in infos}


def log_offsets(run_dir: Path) -> dict[str, int]:
    """The size of each process log now: readiness is looked for after it."""
    logs = run_dir / "logs"
    return {p.name: p.stat().st_size for p in logs.glob("*.log")} if logs.exists() else {}


def logged_since(log: Path, offset: int, needle: str) -> bool:
    """Whether a JSON log record written after ``offset`` has ``needle`` in its message."""
    try:
        with open(log, "rb") as handle:
            handle.seek(offset)
            data = handle.read().decode(errors="replace")
    except OSError:
        return False
    for line in data.splitlines():
        if needle in line:
            try:
                if needle in str(json.loads(line).get("msg", "")):
                    return True
            except (ValueError, AttributeError):
                continue
    return False


def _answers(url: str) -> bool:
    import requests

    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.RequestException:
        return False


def serves(program: Program, offsets: dict[str, int]) -> bool:
    if program.ready_url is not None:
        return _answers(program.ready_url)
    assert program.ready_log is not None
    return logged_since(program.log, offsets.get(program.log.name, 0), program.ready_log)


def log_tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def wait_ready(top: Topology, offsets: dict[str, int], timeout: float,
               proc: subprocess.Popen | None = None, only: list[str] | None = None) -> None:
    """Wait until supervisord runs and each program (or those named in ``only``) is
    RUNNING and serves, judged by log lines written after ``offsets``. Fails at once
    when one is FATAL or supervisord (``proc``, in the foreground) exits."""
    deadline = time.monotonic() + timeout
    pending = {p.name: p for p in programs(top) if only is None or p.name in only}
    infos: dict[str, dict] = {}
    while True:
        if proc is not None and proc.poll() is not None:
            raise StackError(f"supervisord exited ({proc.returncode}); see "
                             f"{top.path / 'supervisord.log'}")
        try:
            infos = process_infos(top.path)
        except OSError:  # not listening yet
            infos = {}
        for name, program in list(pending.items()):
            info = infos.get(name)
            if info is None:
                continue
            if info["statename"] == "FATAL":
                raise StackError(f"{name} could not start ({info['description']}):\n"
                                 f"{log_tail(program.log)}")
            if info["statename"] == "RUNNING" and serves(program, offsets):
                del pending[name]
        if not pending:
            return
        if time.monotonic() > deadline:
            details = "\n".join(
                f"--- {n} ({infos.get(n, {}).get('statename', '?')}):\n{log_tail(p.log, 800)}"
                for n, p in sorted(pending.items()))
            raise StackError(f"not serving after {timeout:.0f} s: {sorted(pending)}\n{details}")
        time.sleep(0.25)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False
