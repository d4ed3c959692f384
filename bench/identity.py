"""Token issue and validation rates, as ratios to peers measured in the same run.

    python -m bench.identity [--workers N] [--rounds R] [--seconds S] [--connections C]

1. Serving stacks for a trivial GET (bench/apps/), each against bare Flask under
   gunicorn gthread: connexion FlaskApp and AsyncApp under gunicorn + uvicorn,
   the AsyncApp with a plain handler (run in a worker thread, as Nimbus's are)
   and with an ``async def`` one.
2. The Identity API (wsgi:app, the project's gunicorn.conf.py): token issue
   (POST /auth/tokens, password, project scope) and validation (GET /auth/tokens),
   each against the bare connexion AsyncApp endpoint of step 1; validation also
   on a second node whose database holds 1,000 revocation events of other
   tokens and users (a validation must not slow down as they accumulate).
3. A validation's miss path (read from the database, no cache) in this process,
   with 1,000 revocation events against none: the indexed revocation check.

All servers run side by side and the measurements take turns, R rounds of S
seconds each, so drift on a shared machine hits them alike. Per core = requests/s
divided by the server's worker processes; the load generator runs on the same
machine. CPU ms/request is the workers' own user + system time, which the client
disturbs less. Results are printed and written as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from email.message import Message
from pathlib import Path

import bcrypt

from bench import load
from bench.load import Request
from bench.stack import ROOT, Running, Stack, serving
from core.apis import SERVED_APIS
from core.db import Database
from core.db.base import utcnow
from core.db.migrate import upgrade
from core.identity.bootstrap import bootstrap
from core.identity.fernet import new_audit_id
from core.identity.models import RevocationEvent
from core.policy import Enforcer
from core.policy.defaults import all_defaults
from core.services import build_identity
from core.settings import load_settings

RESULTS = Path(__file__).resolve().parent / "results"
PING = Request("GET", "/ping")
PING_ASYNC = Request("GET", "/ping-async")
BARE_FLASK = "bare Flask, gunicorn gthread"
BARE_CONNEXION = "connexion AsyncApp, uvicorn worker"
NIMBUS = "Nimbus identity (AsyncApp), uvicorn worker"
NIMBUS_REVOKED = "Nimbus identity, 1,000 revocation events"
REVOCATION_EVENTS = 1000
BENCH_BCRYPT_ROUNDS = 4


def peer_stacks(connections: int) -> list[Stack]:
    return [
        # One thread per connection: gthread serves one request per thread.
        Stack(BARE_FLASK, "bench.apps.bare_flask:app", "gthread", threads=connections),
        Stack("connexion FlaskApp, uvicorn worker", "bench.apps.connexion_flask:app"),
        Stack(BARE_CONNEXION, "bench.apps.bare_connexion:app"),
    ]


@dataclass
class Measurement:
    name: str
    stack: str
    workers: int
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def per_core(self) -> float:
        return self.rate / self.workers

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_seconds / max(self.requests + self.errors, 1)

    def as_dict(self, peer: Measurement) -> dict:
        return {**asdict(self), "rate": round(self.rate, 1),
                "per_core": round(self.per_core, 1), "cpu_ms_per_request": round(self.cpu_ms, 3),
                "peer": peer.name, "ratio_to_peer": round(self.rate / peer.rate, 3),
                "cpu_ratio_to_peer": round(self.cpu_ms / peer.cpu_ms, 3)}


@dataclass
class Job:
    """One request against one running server, measured a round at a time."""

    measurement: Measurement
    server: Running
    request: Request

    def check(self, connections: int) -> None:
        status = send(self.server.url, self.request)[0]
        if status != self.request.expect:
            raise RuntimeError(f"{self.measurement.name}: {self.request.method} "
                               f"{self.request.path} answered {status}")
        load.run(self.server.url, self.request, 1, connections)  # warm-up

    def measure(self, seconds: int, connections: int) -> None:
        pids, cpu = self.server.worker_pids(), self.server.cpu_seconds()
        result = load.run(self.server.url, self.request, seconds, connections)
        if self.server.proc.poll() is not None or self.server.worker_pids() != pids:
            raise RuntimeError(f"{self.measurement.name}: a server process exited while "
                               f"measuring (see its log; --keep DIR keeps it)")
        m = self.measurement
        m.requests += result.ok
        m.errors += result.errors
        m.seconds += result.seconds
        m.cpu_seconds += self.server.cpu_seconds() - cpu


def send(url: str, request: Request) -> tuple[int, Message]:
    req = urllib.request.Request(url + request.path, method=request.method,
                                 data=request.body.encode() or None, headers=request.headers)
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()
        return resp.status, resp.headers


def nimbus_stack(data_dir: Path, name: str = NIMBUS, revocation_events: int = 0) -> Stack:
    """A bootstrapped data directory (with revocation events of other tokens and
    users if asked) and the node serving it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIMBUS_")}
    env.update(NIMBUS_DATA_DIR=str(data_dir), NIMBUS_BCRYPT_ROUNDS=str(BENCH_BCRYPT_ROUNDS),
               NIMBUS_LOG_LEVEL="INFO", GUNICORN_LOGLEVEL="warning")
    subprocess.run([sys.executable, "-m", "core.manage", "bootstrap", "--quiet"], cwd=ROOT,
                   env=env, check=True, capture_output=True)
    if revocation_events:
        db = Database(f"sqlite:///{data_dir / 'nimbus.db'}")
        add_revocation_events(db, revocation_events)
        db.dispose()
    return Stack(name, "wsgi:app", env=env)


def add_revocation_events(db: Database, count: int) -> None:
    """``count`` revocation events of other tokens (nine in ten) and other users."""
    now = utcnow()
    with db.session() as s:
        s.add_all(RevocationEvent(audit_id=new_audit_id(), issued_before=now) if i % 10
                  else RevocationEvent(user_id=os.urandom(16).hex(), issued_before=now)
                  for i in range(count))


def miss_path_ms(events: int, tries: int = 400) -> float:
    """CPU ms of one validation read from the database (what a cache miss costs),
    in this process on SQLite, with ``events`` revocation events present."""
    with tempfile.TemporaryDirectory(prefix="nimbus-bench-") as tmp:
        settings = load_settings({}, data_dir=Path(tmp), bcrypt_rounds=BENCH_BCRYPT_ROUNDS,
                                 token_cache_size=0)
        db = Database.from_settings(settings)
        try:
            upgrade(db)
            identity = build_identity(settings, db, Enforcer(all_defaults(), None))
            password = bootstrap(settings, identity, services=SERVED_APIS).admin_password
            add_revocation_events(db, events)
            token = identity.tokens.authenticate({
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": "admin", "domain": {"id": "default"}, "password": password}}},
                "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}).id
            for _ in range(20):
                identity.tokens.validate(token)
            start = time.process_time()
            for _ in range(tries):
                identity.tokens.validate(token)
            return 1000 * (time.process_time() - start) / tries
        finally:
            db.dispose()


def token_requests(url: str, data_dir: Path) -> list[tuple[str, Request]]:
    password = (data_dir / "admin-password").read_text().strip()
    body = json.dumps({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
    issue = Request("POST", "/identity/v3/auth/tokens",
                    {"Content-Type": "application/json"}, body, expect=201)
    token = send(url, issue)[1]["x-subject-token"]
    validate = Request("GET", "/identity/v3/auth/tokens",
                       {"X-Auth-Token": token, "X-Subject-Token": token})
    return [(f"token issue (password, bcrypt cost {BENCH_BCRYPT_ROUNDS})", issue),
            ("token validate", validate)]


def bcrypt_check_ms(rounds: int, tries: int = 3) -> float:
    """The fastest of a few checks: the least disturbed by other processes."""
    hashed = bcrypt.hashpw(b"password", bcrypt.gensalt(rounds))
    best = float("inf")
    for _ in range(tries):
        start = time.perf_counter()
        bcrypt.checkpw(b"password", hashed)
        best = min(best, time.perf_counter() - start)
    return 1000 * best


def run(workers: int, rounds: int, seconds: int, connections: int,
        keep: Path | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="nimbus-bench-") as tmp, ExitStack() as stack:
        logs = keep or Path(tmp)
        logs.mkdir(parents=True, exist_ok=True)
        nimbus_stacks = [nimbus_stack(logs / "data"),
                         nimbus_stack(logs / "data-revoked", NIMBUS_REVOKED, REVOCATION_EVENTS)]
        servers = {s.name: stack.enter_context(serving(s, workers, logs))
                   for s in [*peer_stacks(connections), *nimbus_stacks]}
        for name, server in servers.items():
            server.wait("/identity/v3" if name in (NIMBUS, NIMBUS_REVOKED) else "/ping")
        nimbus, revoked = servers.pop(NIMBUS), servers.pop(NIMBUS_REVOKED)
        jobs = [Job(Measurement(name, name, workers), server, PING)
                for name, server in servers.items()]
        jobs.append(Job(Measurement(BARE_CONNEXION.replace("AsyncApp", "AsyncApp, async def"),
                                    BARE_CONNEXION, workers),
                        servers[BARE_CONNEXION], PING_ASYNC))
        jobs += [Job(Measurement(name, NIMBUS, workers), nimbus, request)
                 for name, request in token_requests(nimbus.url, logs / "data")]
        validate = dict(token_requests(revoked.url, logs / "data-revoked"))["token validate"]
        jobs.append(Job(Measurement(f"token validate, {REVOCATION_EVENTS:,} revocation events",
                                    NIMBUS, workers), revoked, validate))
        for job in jobs:
            job.check(connections)
        for _ in range(rounds):
            for job in jobs:
                job.measure(seconds, connections)
    peers = {j.measurement.name: j.measurement for j in jobs if j.measurement.stack != NIMBUS}
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_generator": load.TOOL, "client_shares_cpus": True},
        "workers": workers, "connections": connections, "rounds": rounds,
        "seconds": rounds * seconds,
        "stacks": [m.as_dict(peers[BARE_FLASK]) for m in peers.values()],
        "identity": [j.measurement.as_dict(peers[BARE_CONNEXION])
                     for j in jobs if j.measurement.stack == NIMBUS],
        "bcrypt_check_ms": {r: round(bcrypt_check_ms(r), 2) for r in (4, 12)},
        "validation_miss_cpu_ms": {n: round(miss_path_ms(n), 3)
                                   for n in (0, REVOCATION_EVENTS)},
    }


def render(report: dict) -> str:
    head = (f"  {'':46} {'req/s':>8} {'req/s/core':>10} {'CPU ms/req':>10} {'ratio':>6} "
            f"{'CPU ratio':>9}")
    lines = [f"{report['workers']} worker process(es) per server; load from "
             f"{report['machine']['load_generator']}, {report['connections']} persistent "
             f"connections, on the same {report['machine']['cpus']} cores; "
             f"{report['seconds']} s per measurement in {report['rounds']} interleaved rounds.",
             ""]
    for title, key in (("Trivial GET under gunicorn, ratio to bare Flask (gthread worker)", "stacks"),
                       ("Identity, ratio to the bare connexion AsyncApp GET", "identity")):
        lines += [title, head]
        for m in report[key]:
            errors = f"  ({m['errors']} errors)" if m["errors"] else ""
            lines.append(f"  {m['name']:46} {m['rate']:8.0f} {m['per_core']:10.0f} "
                         f"{m['cpu_ms_per_request']:10.2f} {m['ratio_to_peer']:6.2f} "
                         f"{m['cpu_ratio_to_peer']:9.2f}{errors}")
        lines.append("")
    ms = report["bcrypt_check_ms"]
    lines.append(f"bcrypt check: {ms[4]} ms at cost 4 (used here), {ms[12]} ms at cost 12 "
                 f"(the default), which caps password token issue near "
                 f"{1000 / ms[12]:.0f}/s per core.")
    miss = report["validation_miss_cpu_ms"]
    none, many = miss[0], miss[REVOCATION_EVENTS]
    lines.append(f"Validation read from the database (a cache miss), in-process on SQLite: "
                 f"{none} ms CPU with no revocation events, {many} ms with "
                 f"{REVOCATION_EVENTS:,} (ratio {many / none:.2f}).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.identity", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1, help="worker processes per server")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=2, help="per measurement and round")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the server logs and the data directory in DIR")
    args = parser.parse_args(argv)
    report = run(args.workers, args.rounds, args.seconds, args.connections, args.keep)
    print(render(report))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"identity-{report['when'].replace(':', '')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
