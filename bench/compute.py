"""Compute v2.1: boot throughput on simulated hosts, and the server detail list
as a ratio to a bare connexion endpoint serving the same document.

    python -m bench.compute [--instances N] [--hosts H] [--threads T] [--poll P]
                            [--rounds R] [--seconds S] [--connections C]
                            [--sample-stacks INTERVAL] [--keep DIR]

1. Boot. One all-in-one node (``wsgi:app`` under the project's gunicorn.conf.py,
   one uvicorn worker) runs the API, 4 conductors, 2 schedulers and H simulated
   hosts as threads over the in-process (``memory://``) bus; quotas unlimited,
   bcrypt cost 4, responses not validated (the production default). Its idle CPU
   (the control plane alone) is measured first. Then T client threads, one
   keep-alive connection each, send N ``POST /compute/v2.1/servers`` (m1.tiny,
   nimbus-tiny) as the demo user while a poller lists the BUILD servers every P
   seconds until none is left (or none has left BUILD for ``--stall`` seconds).
   Figures: POSTs/s; instances/s from the first POST to the last launch;
   POST→ACTIVE per instance (``launched_at`` minus the client's send time: one
   clock, microseconds); the stages between the timestamps the database keeps
   (instance row, scheduler claim, fixed IP, launch) and when those events
   happened; the worker's CPU; errors and tracebacks in the node's log.
2. List. ``GET /servers/detail?limit=N`` (microversion 2.26) on the all-in-one
   node and on an API-only node serving the same data without the control plane,
   against a bare connexion AsyncApp (gunicorn + uvicorn worker, plain handler,
   the same orjson jsonifier) returning the document Nimbus answered, parsed:
   the same bytes. They take turns, R rounds of S seconds, at 1 connection (ms
   per request) and at C connections. Then, with the nodes stopped, the
   handler's steps are timed one by one in-process and profiled (cProfile).
3. Bus. The round trip of a call and the delivery of a cast over an in-process
   ``memory://`` bus with one idle server: the per-hop floor of the boot flow.

``--sample-stacks`` runs the node with a thread that samples every thread's stack
(``sampled_app``) and reports, per phase, where each kind of thread waits or
works; it slows the node, so take the figures from a run without it.

The load generator shares the machine's cores with the servers. Results are
printed and written as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from bench import load
from bench.identity import Job, Measurement
from bench.load import Request
from bench.stack import ROOT, Running, Stack, free_port, serving

RESULTS = ROOT / "bench" / "results"
NIMBUS = "Nimbus all-in-one node"
PEER = "connexion AsyncApp, same document"
API_ONLY = "Nimbus API-only node (no control plane)"
MICROVERSION = "2.26"
FLAVOR = "1"  # m1.tiny
IMAGE = "nimbus-tiny"
DOCUMENT_ENV = "BENCH_COMPUTE_DOCUMENT"
QUIET = 5.0  # seconds without an instance leaving BUILD that count as stalled


# ---------------------------------------------------------------- servers

def nimbus_stack(data_dir: Path, port: int, hosts: int, instances: int,
                 samples: dict[str, str] | None = None) -> Stack:
    """A bootstrapped data directory and the all-in-one node serving it (with the
    stack sampler when ``samples`` gives its environment)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NIMBUS_", "OS_"))}
    env.update(NIMBUS_DATA_DIR=str(data_dir), NIMBUS_HOST="127.0.0.1", NIMBUS_PORT=str(port),
               NIMBUS_BCRYPT_ROUNDS="4", NIMBUS_LOG_LEVEL="INFO",
               NIMBUS_VALIDATE_RESPONSES="false", NIMBUS_COMPUTE_HOSTS=str(hosts),
               NIMBUS_QUOTA_INSTANCES="-1", NIMBUS_QUOTA_CORES="-1", NIMBUS_QUOTA_RAM="-1",
               NIMBUS_FIXED_RANGE=fixed_range(instances),
               NIMBUS_MAX_LIMIT=str(max(instances, 1000)),
               GUNICORN_LOGLEVEL="warning")
    data_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "core.manage", "bootstrap", "--quiet"], cwd=ROOT,
                   env=env, check=True, capture_output=True)
    if samples:
        env.update(samples)
        return Stack(NIMBUS, "bench.compute:sampled_app()", env=env)
    return Stack(NIMBUS, "wsgi:app", env=env)


def fixed_range(instances: int) -> str:
    """The default /22 holds 1,021 addresses; leave room beyond ``instances``."""
    prefix = min(22, 32 - math.ceil(math.log2(instances * 1.25 + 4)))
    return str(ipaddress.ip_network(f"10.0.0.0/{prefix}"))


def peer_app() -> Any:
    """The peer (``bench.compute:peer_app()`` for gunicorn): a connexion AsyncApp with
    one plain handler returning the parsed document named by $BENCH_COMPUTE_DOCUMENT,
    encoded by the same compact orjson jsonifier as Nimbus."""
    import connexion
    import orjson
    from connexion.resolver import Resolver

    from gateway.jsonutil import jsonifier

    document = orjson.loads(Path(os.environ[DOCUMENT_ENV]).read_bytes())

    def detail() -> dict:
        return document

    spec = {"openapi": "3.0.3", "info": {"title": "peer", "version": "1"},
            "paths": {"/servers/detail": {"get": {
                "operationId": "detail",
                "responses": {"200": {"description": "servers", "content": {
                    "application/json": {"schema": {"type": "object"}}}}}}}}}
    app = connexion.AsyncApp(__name__, jsonifier=jsonifier(), swagger_ui_options=None)
    app.add_api(spec, resolver=Resolver(function_resolver=lambda _: detail))
    return app


class Client:
    """Plain requests with a project-scoped token of the demo user."""

    def __init__(self, url: str, data_dir: Path) -> None:
        self.url = url
        password = (data_dir / "demo-password").read_text().strip()
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "demo", "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": "demo", "domain": {"id": "default"}}}}}
        r = requests.post(f"{url}/identity/v3/auth/tokens", json=body, timeout=30)
        r.raise_for_status()
        self.token = r.headers["X-Subject-Token"]
        self.headers = {"X-Auth-Token": self.token,
                        "OpenStack-API-Version": f"compute {MICROVERSION}"}
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        """One session (one keep-alive connection) per thread."""
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
            self._local.session.headers.update(self.headers)
        return self._local.session

    def get(self, path: str) -> requests.Response:
        r = self.session.get(self.url + path, timeout=60)
        r.raise_for_status()
        return r

    def image_id(self, name: str) -> str:
        return self.get(f"/image/v2/images?name={name}").json()["images"][0]["id"]

    def servers(self, detail: bool = True, limit: int = 1000) -> list[dict]:
        """Every server, following the next links."""
        path = f"/compute/v2.1/servers{'/detail' if detail else ''}?limit={limit}"
        out: list[dict] = []
        while path:
            body = self.get(path).json()
            out += body["servers"]
            nxt = [x["href"] for x in body.get("servers_links", []) if x["rel"] == "next"]
            path = nxt[0].split("/compute/", 1)[1] if nxt else ""
            path = f"/compute/{path}" if path else ""
        return out


# ---------------------------------------------------------------- 1. boot

def idle_cpu(server: Running, seconds: float) -> float:
    """Cores the node's worker uses doing nothing (the control plane's threads)."""
    cpu = server.cpu_seconds()
    time.sleep(seconds)
    return (server.cpu_seconds() - cpu) / seconds


def boot(server: Running, client: Client, instances: int, threads: int, poll: float,
         timeout: float, stall: float, data_dir: Path, log_path: Path,
         phase: Callable[[str], None]) -> dict:
    image = client.image_id(IMAGE)
    sent: dict[str, tuple[float, float]] = {}  # uuid -> (send, answer) epoch seconds
    failures: list[str] = []
    lock = threading.Lock()
    remaining = [instances]

    def post(i: int) -> None:
        body = {"server": {"name": f"bench-{i:05d}", "imageRef": image, "flavorRef": FLAVOR}}
        t0 = time.time()
        try:
            r = client.session.post(f"{client.url}/compute/v2.1/servers", json=body, timeout=60)
        except requests.RequestException as exc:
            failures.append(type(exc).__name__)
            r = None
        t1 = time.time()
        with lock:
            remaining[0] -= 1
            if remaining[0] == 0:
                phase("draining")
            if r is not None and r.status_code == 202:
                sent[r.json()["server"]["id"]] = (t0, t1)
            elif r is not None:
                failures.append(f"{r.status_code} {r.text[:120]}")

    # (s since the first POST, BUILD servers, worker cores since the last poll, worker CPU s)
    polls: list[tuple[float, int, float, float]] = []
    stuck = [-1, time.monotonic()]  # BUILD count, when it last changed
    cpu0 = last_cpu = server.cpu_seconds()
    start = last = time.time()
    deadline = time.monotonic() + timeout
    phase("posting")
    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(post, i) for i in range(instances)]
        while True:
            time.sleep(poll)
            posting = remaining[0] > 0
            try:
                building = len(client.get("/compute/v2.1/servers?status=BUILD&limit=1000")
                               .json()["servers"])
            except requests.RequestException as exc:
                failures.append(f"poll: {exc}"[:120])
                building = stuck[0]
            now, cpu_now = time.time(), server.cpu_seconds()
            polls.append((round(now - start, 2), building,
                          round((cpu_now - last_cpu) / (now - last), 2),
                          round(cpu_now - cpu0, 2)))
            last, last_cpu = now, cpu_now
            if posting or building != stuck[0]:
                if stuck[0] != -1 and not posting:
                    phase("draining")
                stuck[:] = [building, time.monotonic()]
            elif building and time.monotonic() - stuck[1] > QUIET:
                phase("stalled")  # no instance has left BUILD for a while
            if (not posting and building == 0) or time.monotonic() > deadline \
                    or time.monotonic() - stuck[1] > stall:
                break
        for f in futures:
            f.result()
    seen_done = time.time()
    phase("")
    cpu = server.cpu_seconds() - cpu0
    posts_end = max((t1 for _, t1 in sent.values()), default=start)
    servers = client.servers(detail=True)
    mine = [s for s in servers if s["id"] in sent]
    status: dict[str, int] = {}
    for s in mine:
        status[s["status"]] = status.get(s["status"], 0) + 1
    launched = {s["id"]: _epoch(s["OS-SRV-USG:launched_at"]) for s in mine
                if s["status"] == "ACTIVE" and s["OS-SRV-USG:launched_at"]}
    last_launch = max(launched.values(), default=seen_done)
    # The worker's CPU up to the first poll after the last launch (not a stalled tail).
    cpu_to_launch = next((c for t, _, _, c in polls if t >= last_launch - start), cpu)
    post_ms = [1000 * (t1 - t0) for t0, t1 in sent.values()]
    to_active = [launched[u] - sent[u][0] for u in launched]
    return {
        "instances": instances, "threads": threads, "poll_interval_s": poll,
        "accepted": len(sent), "failures": len(failures), "failure_samples": failures[:5],
        "status": status, "active": len(launched),
        "posts_seconds": round(posts_end - start, 2),
        "posts_per_s": round(len(sent) / max(posts_end - start, 1e-9), 1),
        "post_ms": percentiles(post_ms),
        "end_to_end_seconds": round(last_launch - start, 2),
        "active_per_s": round(len(launched) / max(last_launch - start, 1e-9), 1),
        "post_to_active_s": percentiles(to_active),
        "observed_done_after_s": round(seen_done - start, 2),
        "cpu_seconds": round(cpu_to_launch, 2), "cpu_seconds_to_observed_end": round(cpu, 2),
        "cpu_ms_per_instance": round(1000 * cpu_to_launch / max(len(sent), 1), 1),
        **stages(data_dir, {u: t0 for u, (t0, _) in sent.items()}, start, posts_end),
        "worker_cores": {
            "posting": _mean([c for t, _, c, _ in polls if t <= posts_end - start]),
            "after_posts": _mean([c for t, _, c, _ in polls
                                  if posts_end - start + poll < t <= last_launch - start + poll])},
        "server_post_ms": percentiles(logged_ms(log_path, "POST", "/compute/v2.1/servers")),
        "node_errors": node_errors(log_path),
        "polls": polls,
    }


def stages(data_dir: Path, sent: dict[str, float], start: float, posts_end: float) -> dict:
    """From the timestamps the database keeps: per instance, the time between client send
    → instance row (API) → scheduler claim → fixed IP (conductor assigned the host) →
    launched_at (the agent's success, through the conductor); and when each of those
    events happened, in seconds from the first POST (how many before the last POST's
    answer, ``during_posts``)."""
    from sqlalchemy import func, select

    from core.compute.models import Instance
    from core.db import Database
    from core.network.models import Port
    from core.placement.models import Allocation

    ids = list(sent)
    db = Database(f"sqlite:///{(data_dir / 'nimbus.db').resolve()}")
    try:
        with db.session() as s:
            events = {
                "row": dict(s.execute(select(Instance.uuid, Instance.created_at)
                                      .where(Instance.uuid.in_(ids))).all()),
                "claim": dict(s.execute(select(Allocation.consumer_uuid,
                                               func.min(Allocation.created_at))
                                        .where(Allocation.consumer_uuid.in_(ids))
                                        .group_by(Allocation.consumer_uuid)).all()),
                # the port (and its fixed IP) the conductor makes once a host is chosen
                "fixed IP": dict(s.execute(select(Port.device_id, func.min(Port.created_at))
                                           .where(Port.device_id.in_(ids))
                                           .group_by(Port.device_id)).all()),
                "launched": dict(s.execute(select(Instance.uuid, Instance.launched_at)
                                           .where(Instance.uuid.in_(ids))).all())}
    finally:
        db.dispose()
    steps: dict[str, list[float]] = {"api (send → row)": [], "queue + schedule (row → claim)": [],
                                     "assign (claim → fixed IP)": [],
                                     "agent (fixed IP → launched)": []}
    for u, t0 in sent.items():
        marks = [t0] + [_ts(m.get(u)) for m in events.values()]
        if any(m is None for m in marks):
            continue
        for name, a, b in zip(steps, marks, marks[1:], strict=False):
            steps[name].append(b - a)  # type: ignore[operator]
    milestones = {}
    for name, when in events.items():
        times = sorted(t - start for t in map(_ts, when.values()) if t is not None)
        if times:
            milestones[name] = {"first": round(times[0], 2),
                                "p50": round(statistics.median(times), 2),
                                "last": round(times[-1], 2), "n": len(times),
                                "during_posts": sum(t <= posts_end - start for t in times)}
    return {"steps_ms": {n: percentiles(v, scale=1000) for n, v in steps.items()},
            "milestones_s": milestones}


def logged_ms(log_path: Path, method: str, path: str) -> list[float]:
    """The time the node itself logged for each such request (its access log)."""
    out = []
    for line in log_path.read_text(errors="replace").splitlines():
        if f'"path": "{path}"' in line and f'"method": "{method}"' in line:
            try:
                out.append(float(json.loads(line)["ms"]))
            except (ValueError, KeyError):
                pass
    return out


def node_errors(log_path: Path) -> dict[str, int]:
    """ERROR records and records with a traceback in the node's log, by logger, message and
    the traceback's last line.
    connexion's complaint about undeclared query parameters is counted apart."""
    out: Counter[str] = Counter()
    for line in log_path.read_text(errors="replace").splitlines():
        if '"level": "ERROR"' not in line and '"exc": ' not in line:
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("logger") == "connexion.decorators.parameter":
            out[f"connexion.decorators.parameter: {rec['msg'].split(' (')[0]}"] += 1
            continue
        last = (rec.get("exc") or "").strip().splitlines()[-1:] or [""]
        out[f"{rec.get('logger')}: {rec.get('msg')} {last[0]}".strip()] += 1
    return dict(out.most_common())


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _epoch(text: str) -> float:
    """``launched_at`` is UTC without a zone."""
    return datetime.fromisoformat(text + "+00:00").timestamp()


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


def percentiles(values: list[float], scale: float = 1.0) -> dict[str, float]:
    if not values:
        return {}
    v = sorted(x * scale for x in values)
    pick = lambda q: v[min(len(v) - 1, int(q * len(v)))]  # noqa: E731
    return {"p50": round(statistics.median(v), 3), "p95": round(pick(0.95), 3),
            "max": round(v[-1], 3), "n": len(v)}


# ---------------------------------------------------------------- 2. list

def list_detail(nimbus: Running, client: Client, instances: int, logs: Path, rounds: int,
                seconds: int, connections: int, nimbus_env: dict[str, str]) -> dict:
    """The all-in-one node, an API-only node on the same data (no control plane in its
    process) and the peer, side by side, taking turns at 1 and ``connections``."""
    path = f"/compute/v2.1/servers/detail?limit={instances}"
    body = client.get(path).content
    count = len(json.loads(body)["servers"])
    document = logs / "servers-detail.json"
    document.write_bytes(body)
    peer_stack = Stack(PEER, "bench.compute:peer_app()", env={DOCUMENT_ENV: str(document)})
    api_port = free_port()
    api_stack = Stack(API_ONLY, "wsgi:app", env={
        **nimbus_env, "NIMBUS_RUN_CONTROL_PLANE": "false", "NIMBUS_PORT": str(api_port)})
    request = Request("GET", path, dict(client.headers))
    with serving(peer_stack, 1, logs) as peer, serving(api_stack, 1, logs, api_port) as api:
        peer.wait("/servers/detail")
        api.wait("/identity/v3")
        peer_bytes = len(urlopen_bytes(peer.url + "/servers/detail"))
        levels: list[list[Job]] = []
        for c in (1, connections):
            levels.append([
                Job(Measurement(f"{PEER}, {c} conn", PEER, 1), peer,
                    Request("GET", "/servers/detail")),
                Job(Measurement(f"{NIMBUS}, {c} conn", NIMBUS, 1), nimbus, request),
                Job(Measurement(f"{API_ONLY}, {c} conn", API_ONLY, 1), api, request)])
        for jobs in levels:
            for job in jobs:
                job.check(1)
        for _ in range(rounds):
            for c, jobs in zip((1, connections), levels, strict=True):
                for job in jobs:
                    job.measure(seconds, c)
        # The nodes' own time (their access logs) for a few unhurried requests each.
        logged = {}
        for name, node in ((NIMBUS, nimbus), (API_ONLY, api)):
            log_path = log_of(logs, name)
            before = len(logged_ms(log_path, "GET", path.split("?")[0]))
            for _ in range(5):
                client.session.get(node.url + path, timeout=60).raise_for_status()
            logged[name] = percentiles(logged_ms(log_path, "GET", path.split("?")[0])[before:])
    rows = []
    for c, jobs in zip((1, connections), levels, strict=True):
        p = jobs[0].measurement
        for m in (j.measurement for j in jobs):
            rows.append({**m.as_dict(p), "connections": c,
                         "ms_per_request": round(1000 * m.seconds * c / max(m.requests, 1), 2)})
    return {"servers": count, "bytes": len(body), "peer_bytes": peer_bytes,
            "bytes_per_server": round(len(body) / max(count, 1)), "microversion": MICROVERSION,
            "rows": rows, "node_logged_ms": logged}


def log_of(logs: Path, stack_name: str) -> Path:
    """Where bench.stack.serving writes a stack's log."""
    slug = "".join(c if c.isalnum() else "-" for c in stack_name.lower()).strip("-")
    return logs / f"{slug}.log"


def list_breakdown(env: dict[str, str], token: str, limit: int, repeats: int,
                   top: int = 10) -> dict:
    """The steps of GET /servers/detail, timed one by one in this process on the node's
    database (the node stopped): what ``gateway.openstack.compute.servers.Servers.detail``
    does, step for step, at microversion 2.26 (the first, unmeasured run fills the
    fragment cache, as the node's first request does); then cProfile over ``repeats``
    more runs (per run: the hottest functions by own time)."""
    import cProfile
    import dataclasses
    import pstats

    from core.compute.server_listing import ServerQuery
    from core.services import build_core
    from core.settings import load_settings
    from gateway.openstack.compute.microversions import APIVersion
    from gateway.openstack.compute.server_list import ServerList
    from gateway.openstack.compute.server_views import ServerViews

    settings = load_settings(environ=env)
    services = build_core(settings)
    listing = ServerList(ServerViews(f"{settings.effective_public_url}/compute"))
    mv = APIVersion(*(int(x) for x in MICROVERSION.split(".")))
    policy, servers = services.policy, services.servers

    def steps() -> dict[str, float]:
        marks = [time.perf_counter()]
        ctx = services.identity.tokens.validate(token).context()
        ctx = dataclasses.replace(ctx, is_admin=policy.is_admin(ctx))
        marks.append(time.perf_counter())
        page = servers.list_page(ctx, ServerQuery(project_id=ctx.project_id, limit=limit),
                                 True, tags=True)
        marks.append(time.perf_counter())
        creds, target = ctx.policy_credentials(), {"project_id": ctx.project_id}
        host_states = servers.host_states({r.host for r in page.rows if r.host}) \
            if policy.authorize("os_compute_api:servers:show:host_status", target, creds) \
            else {}
        admin = policy.authorize("os_compute_api:os-extended-server-attributes", target, creds)
        marks.append(time.perf_counter())
        fragments = listing.fragments(page, mv, is_admin=admin, extra_specs=False,
                                      host_states=host_states)
        marks.append(time.perf_counter())
        listing.body(fragments, None)
        marks.append(time.perf_counter())
        names = ("token + context", "page: rows, addresses, volumes, tags, faults",
                 "policy, host status", "views (cached JSON fragments)", "splice")
        return {n: 1000 * (marks[i + 1] - marks[i]) for i, n in enumerate(names)}

    try:
        steps()  # warm caches
        runs = [steps() for _ in range(repeats)]
        profile = cProfile.Profile()
        for _ in range(repeats):
            profile.runcall(steps)
    finally:
        services.db.dispose()
        services.bus.close()
    table = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    hottest = sorted(table.items(), key=lambda kv: -kv[1][2])[:top]
    hot = [f"{1000 * tt / repeats:7.1f} ms {nc // repeats:>7} calls  "
           f"{_short(file)}:{line}({func})"
           for (file, line, func), (_, nc, tt, _, _) in hottest]
    median = {n: round(statistics.median(r[n] for r in runs), 2) for n in runs[0]}
    return {"repeats": repeats, "steps_ms": median,
            "total_ms": round(sum(median.values()), 2), "profile_tottime": hot}


def urlopen_bytes(url: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read()


# ---------------------------------------------------------------- 3. bus

class _Echo:
    def __init__(self) -> None:
        self.cast_seen = threading.Event()
        self.cast_at = 0.0

    def echo(self) -> int:
        return 1

    def note(self) -> None:
        self.cast_at = time.perf_counter()
        self.cast_seen.set()


def bus_hops(calls: int) -> dict:
    """Call round trips and cast deliveries on an in-process bus with one server."""
    from core.messaging import Bus
    from core.messaging.transports import POLL_INTERVAL

    bus = Bus("memory://", namespace=f"bench-{uuid.uuid4().hex[:8]}")
    endpoints = _Echo()
    server = bus.serve("bench", "one", endpoints)
    server.start()
    try:
        bus.call("bench", "echo", {}, timeout=10)
        call_ms, cast_ms = [], []
        for _ in range(calls):
            t0 = time.perf_counter()
            bus.call("bench", "echo", {}, timeout=10)
            call_ms.append(1000 * (time.perf_counter() - t0))
        for _ in range(calls):
            endpoints.cast_seen.clear()
            t0 = time.perf_counter()
            bus.cast("bench", "note", {})
            endpoints.cast_seen.wait(10)
            cast_ms.append(1000 * (endpoints.cast_at - t0))
    finally:
        server.stop()
        bus.close()
    return {"poll_interval_ms": 1000 * POLL_INTERVAL, "call_ms": percentiles(call_ms),
            "cast_ms": percentiles(cast_ms)}


# ---------------------------------------------------------------- stack samples

SAMPLES_ENV = "BENCH_COMPUTE_SAMPLES"  # where the sampler writes its counts
PHASE_ENV = "BENCH_COMPUTE_PHASE"  # a file naming the bench's current phase
ROLES = (("rpc-conductor", "conductor"), ("rpc-scheduler", "scheduler"),
         ("rpc-compute", "agent"), ("heartbeat", "heartbeat"), ("notifications", "listener"),
         ("AnyIO worker", "api handler"), ("MainThread", "event loop"))


def sampled_app() -> Any:
    """``wsgi:app`` plus a thread that samples every thread's stack (``--sample-stacks``):
    py-spy's view, from inside the worker, without touching the product."""
    import wsgi

    threading.Thread(target=_sample, name="bench-sampler", daemon=True,
                     args=(Path(os.environ[SAMPLES_ENV]), Path(os.environ[PHASE_ENV]),
                           float(os.environ.get("BENCH_COMPUTE_INTERVAL", "0.05")))).start()
    return wsgi.app


def _sample(out: Path, phase_file: Path, interval: float) -> None:
    """Counts (phase, thread role, innermost frame, innermost project frame) every
    ``interval`` seconds while ``phase_file`` names a phase; rewrites ``out`` each second."""
    counts: Counter[tuple[str, str, str, str]] = Counter()
    ticks: Counter[str] = Counter()
    me, dumped = threading.get_ident(), time.monotonic()
    while True:
        time.sleep(interval)
        try:
            phase = phase_file.read_text().strip()
        except OSError:
            phase = ""
        if phase:
            ticks[phase] += 1
            names = {t.ident: t.name for t in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                if ident != me:
                    name = names.get(ident, "?")
                    role = next((r for prefix, r in ROLES if name.startswith(prefix)), "other")
                    counts[(phase, role, *_where(frame))] += 1
        if time.monotonic() - dumped > 1.0:
            dumped = time.monotonic()
            out.write_text(json.dumps({"interval": interval, "ticks": ticks,
                                       "counts": [[*k, v] for k, v in counts.items()]}))


def _where(frame: Any) -> tuple[str, str]:
    """The innermost frame, and the innermost one in core/ or gateway/."""
    def name(f: Any) -> str:
        return f"{_short(f.f_code.co_filename)}:{f.f_code.co_name}"

    leaf, project = name(frame), "-"
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith((str(ROOT / "core"), str(ROOT / "gateway"))):
            project = name(frame)
            break
        frame = frame.f_back
    return leaf, project


def _short(path: str) -> str:
    """A file name relative to site-packages, the project, or the standard library."""
    if "site-packages/" in path:
        return path.split("site-packages/")[-1]
    if path.startswith(str(ROOT) + "/"):
        return path[len(str(ROOT)) + 1:]
    return path.rsplit("/lib/python3", 1)[-1].split("/", 1)[-1]


def summarise_samples(path: Path, top: int) -> dict:
    """Per phase and role: threads (average), and the commonest (leaf, project) frames
    as a share of that role's samples."""
    raw = json.loads(path.read_text())
    out: dict[str, dict] = {}
    for phase, ticks in raw["ticks"].items():
        roles: dict[str, Counter] = {}
        for p, role, leaf, project, n in raw["counts"]:
            if p == phase:
                roles.setdefault(role, Counter())[(leaf, project)] += n
        out[phase] = {"seconds": round(ticks * raw["interval"], 1), "roles": {
            role: {"threads": round(sum(c.values()) / ticks, 1),
                   "top": [[leaf, project, round(n / sum(c.values()), 3)]
                           for (leaf, project), n in c.most_common(top)]}
            for role, c in sorted(roles.items(), key=lambda kv: -sum(kv[1].values()))}}
    return out


# ---------------------------------------------------------------- report

def code_state() -> dict:
    """The commit measured and the files that differed from it (a shared checkout)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    return {"commit": git("rev-parse", "HEAD").strip(),
            "modified": [ln[3:] for ln in git("status", "--porcelain").splitlines()]}


def run(args: argparse.Namespace) -> dict:
    report: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_generator": load.TOOL, "client_shares_cpus": True,
                    "loadavg_at_start": list(os.getloadavg())},
        "hosts": args.hosts, "code": code_state()}
    report["bus"] = bus_hops(args.bus_calls)
    with tempfile.TemporaryDirectory(prefix="nimbus-bench-") as tmp, ExitStack() as stack:
        logs = args.keep or Path(tmp)
        logs.mkdir(parents=True, exist_ok=True)
        data_dir = logs / "data"
        port = free_port()
        phase_file, samples_file = logs / "phase", logs / "samples.json"
        phase_file.write_text("")
        sampler = {SAMPLES_ENV: str(samples_file), PHASE_ENV: str(phase_file),
                   "BENCH_COMPUTE_INTERVAL": str(args.sample_stacks)} \
            if args.sample_stacks else None

        def phase(name: str) -> None:
            phase_file.write_text(name if sampler else "")

        t0 = time.monotonic()
        nimbus_def = nimbus_stack(data_dir, port, args.hosts, args.instances, sampler)
        nimbus_env = nimbus_def.env
        nimbus = stack.enter_context(serving(nimbus_def, 1, logs, port))
        nimbus.wait("/identity/v3", timeout=300)
        report["startup_seconds"] = round(time.monotonic() - t0, 1)
        client = Client(nimbus.url, data_dir)
        phase("idle")
        report["idle_cpu_cores"] = round(idle_cpu(nimbus, args.idle), 3)
        log_path = log_of(logs, nimbus_def.name)
        report["boot"] = boot(nimbus, client, args.instances, args.threads, args.poll,
                              args.timeout, args.stall, data_dir, log_path, phase)
        phase("")
        report["list"] = list_detail(nimbus, client, args.instances, logs, args.rounds,
                                     args.seconds, args.connections, nimbus_env)
        report["idle_cpu_cores_after"] = round(idle_cpu(nimbus, args.idle), 3)
        if sampler:
            phase("listing")  # Nimbus alone, one connection
            load.run(nimbus.url, Request("GET", f"/compute/v2.1/servers/detail?limit="
                                         f"{args.instances}", dict(client.headers)), 3, 1)
            phase("")
            time.sleep(1.5)  # the sampler's last write
            report["stack_samples"] = summarise_samples(samples_file, args.top)
        nimbus.stop()  # the steps in-process, on a quiet machine
        report["list"]["breakdown"] = list_breakdown(
            nimbus_env, client.token, args.instances, args.repeats, args.top + 4)
    report["machine"]["loadavg_at_end"] = list(os.getloadavg())
    return report


def render(r: dict) -> str:
    b, lst, bus, m = r["boot"], r["list"], r["bus"], r["machine"]
    lines = [f"All-in-one node, 1 uvicorn worker, {r['hosts']} simulated hosts; clients on "
             f"the same {m['cpus']} cores (load average {m['loadavg_at_start'][0]:.2f} at "
             f"start, {m['loadavg_at_end'][0]:.2f} at the end).",
             f"Start-up {r['startup_seconds']} s; idle worker CPU {r['idle_cpu_cores']:.2f} "
             f"cores before the boots, {r['idle_cpu_cores_after']:.2f} after.", "",
             f"1. Boot {b['instances']} instances (m1.tiny) from {b['threads']} client threads, "
             f"polling BUILD every {b['poll_interval_s']} s",
             f"  accepted {b['accepted']}, failed {b['failures']}; final status {b['status']}"]
    post, lat, node = b["post_ms"], b["post_to_active_s"], b["server_post_ms"]
    lines.append(f"  POST /servers       {b['posts_per_s']:7.1f} req/s over {b['posts_seconds']} s;"
                 f" latency p50 {post.get('p50', 0):.0f} ms, p95 {post.get('p95', 0):.0f} ms "
                 f"(node's log: p50 {node.get('p50', 0):.0f}, p95 {node.get('p95', 0):.0f})")
    lines.append(f"  requests → ACTIVE   {b['active_per_s']:7.1f} instances/s over "
                 f"{b['end_to_end_seconds']} s (the poller saw the end at "
                 f"{b['observed_done_after_s']} s)")
    if lat:
        lines.append(f"  POST → ACTIVE       p50 {lat['p50']:.2f} s, p95 {lat['p95']:.2f} s, "
                     f"max {lat['max']:.2f} s")
    cores = {k: "-" if v is None else v for k, v in b["worker_cores"].items()}
    lines.append(f"  worker CPU {b['cpu_seconds']} s to the last launch, "
                 f"{b['cpu_ms_per_instance']} ms per instance; {cores['posting']} cores while "
                 f"posting, {cores['after_posts']} after")
    lines.append(f"  {'stage (ms)':34} {'p50':>9} {'p95':>9} {'max':>9}")
    for name, v in b["steps_ms"].items():
        if v:
            lines.append(f"    {name:32} {v['p50']:9.1f} {v['p95']:9.1f} {v['max']:9.1f}")
    lines.append(f"  {'event (s from the first POST)':34} {'first':>9} {'median':>9} "
                 f"{'last':>9} {'by the last POST':>17}")
    for name, v in b["milestones_s"].items():
        lines.append(f"    {name:32} {v['first']:9.2f} {v['p50']:9.2f} {v['last']:9.2f} "
                     f"{v['during_posts']:>17}")
    for what, n in b["node_errors"].items():
        lines.append(f"  node log: {n} x {what[:150]}")
    lines += ["", f"2. GET /servers/detail?limit={lst['servers']} (microversion "
              f"{lst['microversion']}, demo user): {lst['bytes']} bytes, "
              f"{lst['bytes_per_server']} per server (the peer's answer: {lst['peer_bytes']})",
              f"  {'':52} {'req/s':>7} {'ms/req':>7} {'CPU ms/req':>10} {'ratio':>6} "
              f"{'CPU ratio':>9}"]
    for row in lst["rows"]:
        errors = f"  ({row['errors']} errors)" if row["errors"] else ""
        lines.append(f"  {row['name']:52} {row['rate']:7.1f} {row['ms_per_request']:7.1f} "
                     f"{row['cpu_ms_per_request']:10.1f} {row['ratio_to_peer']:6.3f} "
                     f"{row['cpu_ratio_to_peer']:9.2f}{errors}")
    bd = lst.get("breakdown")
    if bd:
        logged = lst["node_logged_ms"]
        lines.append(f"  unhurried requests took p50 {logged[NIMBUS].get('p50', 0):.0f} ms on the "
                     f"all-in-one node, {logged[API_ONLY].get('p50', 0):.0f} ms on the API-only "
                     f"node (their logs); the steps in-process (median of {bd['repeats']}, "
                     f"{bd['total_ms']:.0f} ms in all):")
        for name, ms in bd["steps_ms"].items():
            lines.append(f"    {name:40} {ms:8.1f} ms")
        lines.append("  hottest functions (cProfile, own time per request):")
        lines += [f"    {ln}" for ln in bd["profile_tottime"][:6]]
    lines += ["", f"3. In-process bus (memory://, polling every {bus['poll_interval_ms']:.0f} "
              f"ms), one idle server: call round trip p50 {bus['call_ms']['p50']:.1f} ms "
              f"(p95 {bus['call_ms']['p95']:.1f}), cast delivery p50 "
              f"{bus['cast_ms']['p50']:.1f} ms (p95 {bus['cast_ms']['p95']:.1f})."]
    for name, ph in r.get("stack_samples", {}).items():
        lines += ["", f"Stack samples, phase {name!r} ({ph['seconds']} s): share of each "
                      f"role's samples; innermost frame <- innermost project frame"]
        for role, v in ph["roles"].items():
            lines.append(f"  {role} ({v['threads']} threads)")
            for leaf, project, share in v["top"][:3]:
                lines.append(f"    {100 * share:5.1f}%  {leaf}  <-  {project}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compute", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=100, help="simulated compute hosts")
    parser.add_argument("--threads", type=int, default=16, help="client threads posting")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between BUILD polls")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="stop waiting for ACTIVE after this many seconds")
    parser.add_argument("--stall", type=float, default=30.0,
                        help="stop waiting when no instance left BUILD for this many seconds")
    parser.add_argument("--repeats", type=int, default=5,
                        help="in-process runs of the list's steps (breakdown)")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle CPU sampling")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=3, help="per list measurement and round")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--bus-calls", type=int, default=50)
    parser.add_argument("--sample-stacks", type=float, default=0.0, metavar="INTERVAL",
                        help="sample every thread's stack in the node every INTERVAL s "
                             "(e.g. 0.05) and report where each kind of thread spends its "
                             "time; slows the node down, so figures are not comparable")
    parser.add_argument("--top", type=int, default=6, help="frames shown per thread role")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the server logs and the data directory in DIR")
    args = parser.parse_args(argv)
    report = run(args)
    print(render(report))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"compute-{report['when'].replace(':', '')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
