"""The work of one boot, counted: SQL statements, transactions and bus messages
from the API request to ACTIVE, by the thread that did them.

    python -m bench.boot_path [--boots N] [--hosts H]

One all-in-one node runs in this process (``wsgi:app``'s pieces: build_core,
create_app and the control plane over ``memory://``, on SQLite, served by
uvicorn on a thread), so every statement of every service can be counted:
SQLAlchemy's ``before_cursor_execute`` and ``commit`` events on every engine,
and every publish of the bus. N boots run one after another, each alone:
``POST /compute/v2.1/servers`` (m1.tiny, nimbus-tiny, openstack's JSON) and
EC2 ``RunInstances`` of one instance (boto3), each waited for (ACTIVE /
running) by reading the database from the main thread, which is not counted.
Figures are medians per boot, by thread kind (``api``: the request's event
loop and its handler threads; ``conductor``, ``scheduler``, ``agent``... by
their consumer threads' names), with the wall time from the request to ACTIVE.
Counting costs time, so the wall times are for comparing runs of this bench
only. Results are printed and written as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from bench.compute import Client, fixed_range
from bench.ec2 import nimbus_keys
from bench.stack import ROOT, free_port

RESULTS = ROOT / "bench" / "results"
KINDS = (("conductor", "conductor"), ("scheduler", "scheduler"), ("compute", "agent"),
         ("heartbeat", "agent"), ("volume", "volume"), ("build-watch", "watch"))


def thread_kind(name: str) -> str:
    for prefix, kind in KINDS:
        if name.startswith(prefix) or f"-{prefix}" in name:
            return kind
    return "api"  # uvicorn's loop, the handler thread pool


class Counts:
    """Statements, commits and publishes, by thread kind, while ``on``."""

    def __init__(self) -> None:
        self.on = False
        self.statements: Counter[str] = Counter()
        self.commits: Counter[str] = Counter()
        self.messages: Counter[str] = Counter()
        self.lock = threading.Lock()

    def add(self, counter: Counter[str], key: str) -> None:
        if self.on and threading.current_thread() is not threading.main_thread():
            with self.lock:
                counter[key] += 1

    def take(self) -> dict[str, dict[str, int]]:
        with self.lock:
            out = {"statements": dict(self.statements), "commits": dict(self.commits),
                   "messages": dict(self.messages)}
            self.statements, self.commits, self.messages = Counter(), Counter(), Counter()
        return out


COUNTS = Counts()


def instrument(bus: Any) -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        verb = sql.lstrip().split(None, 1)[0].upper()
        COUNTS.add(COUNTS.statements, f"{thread_kind(threading.current_thread().name)} {verb}")

    def commit(conn: Any) -> None:
        COUNTS.add(COUNTS.commits, thread_kind(threading.current_thread().name))

    event.listen(Engine, "before_cursor_execute", statement)
    event.listen(Engine, "commit", commit)
    publish = bus.publisher.publish

    def counted(body: dict, queue: Any, declare: list | None = None) -> None:
        what = body.get("method") or ("reply" if "correlation_id" in body
                                      else body.get("event_type", "?"))
        COUNTS.add(COUNTS.messages, f"{thread_kind(threading.current_thread().name)} {what}")
        publish(body, queue, declare)

    bus.publisher.publish = counted


@contextmanager
def node(data_dir: Path, hosts: int):
    """The all-in-one node in this process, served on a free port; yields (url, core)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NIMBUS_", "OS_"))}
    env.update(NIMBUS_DATA_DIR=str(data_dir), NIMBUS_HOST="127.0.0.1", NIMBUS_PORT=str(port),
               NIMBUS_BCRYPT_ROUNDS="4", NIMBUS_LOG_LEVEL="WARNING",
               NIMBUS_VALIDATE_RESPONSES="false", NIMBUS_COMPUTE_HOSTS=str(hosts),
               NIMBUS_QUOTA_INSTANCES="-1", NIMBUS_QUOTA_CORES="-1", NIMBUS_QUOTA_RAM="-1",
               NIMBUS_FIXED_RANGE=fixed_range(200), NIMBUS_RUN_DNS="false")
    subprocess.run([sys.executable, "-m", "core.manage", "bootstrap", "--quiet"], cwd=ROOT,
                   env=env, check=True, capture_output=True)
    os.environ.clear()
    os.environ.update(env)
    import uvicorn

    from core.control_plane import ControlPlane
    from core.services import build_core
    from core.settings import load_settings
    from gateway.app import create_app

    settings = load_settings()
    core = build_core(settings)
    instrument(core.bus)
    app = create_app(settings, core)
    plane = ControlPlane(core).start()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off",
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the node did not start"
        time.sleep(0.05)
    try:
        yield url, core
    finally:
        server.should_exit = True
        thread.join(10)
        plane.stop()
        core.bus.close()
        core.db.dispose()


def wait_active(core: Any, uuid: str, timeout: float = 60) -> float:
    from sqlalchemy import select

    from core.compute.models import Instance

    deadline = time.monotonic() + timeout
    while True:
        with core.db.session() as s:
            state = s.execute(select(Instance.vm_state).where(Instance.uuid == uuid)).scalar()
        if state in ("active", "error"):
            return time.monotonic()
        assert time.monotonic() < deadline, f"{uuid} stayed {state}"
        time.sleep(0.002)


def boots(url: str, core: Any, data_dir: Path, n: int) -> dict[str, list[dict]]:
    from core.idmap.ids import Kind

    client = Client(url, data_dir)  # the demo user's token, compute 2.26
    session, image = client.session, client.image_id("nimbus-tiny")
    keys = nimbus_keys(data_dir)
    ec2 = boto3.client("ec2", endpoint_url=f"{url}/ec2/", region_name="RegionOne",
                       aws_access_key_id=keys[0], aws_secret_access_key=keys[1],
                       config=Config(retries={"max_attempts": 1}))
    ami = ec2.describe_images(Filters=[{"Name": "name", "Values": ["nimbus-tiny"]}])
    ami_id = ami["Images"][0]["ImageId"]
    out: dict[str, list[dict]] = {"POST /servers": [], "RunInstances": []}
    for i in range(n + 1):  # the first of each warms caches and is dropped
        for kind in out:
            COUNTS.take()
            COUNTS.on = True
            start = time.monotonic()
            if kind == "POST /servers":
                r = session.post(f"{url}/compute/v2.1/servers", json={"server": {
                    "name": f"b{i}", "imageRef": image, "flavorRef": "1"}})
                r.raise_for_status()
                uuid = r.json()["server"]["id"]
            else:
                res = ec2.run_instances(ImageId=ami_id, InstanceType="t2.nano",
                                        MinCount=1, MaxCount=1)
                ec2_id = res["Instances"][0]["InstanceId"]
                uuid = core.ids.os_uuids_for(Kind.INSTANCE, [ec2_id])[ec2_id]
            answered = time.monotonic()
            done = wait_active(core, uuid)
            time.sleep(0.3)  # the agent's last report and the notifications
            COUNTS.on = False
            if i:
                out[kind].append({**COUNTS.take(), "answer_ms": 1000 * (answered - start),
                                  "active_ms": 1000 * (done - start)})
    return out


def summarise(runs: list[dict]) -> dict:
    def med(key: str) -> dict[str, float]:
        keys = sorted({k for r in runs for k in r[key]})
        return {k: statistics.median(r[key].get(k, 0) for r in runs) for k in keys}

    statements = med("statements")
    by_kind: dict[str, float] = {}
    for key, value in statements.items():
        by_kind[key.split()[0]] = by_kind.get(key.split()[0], 0) + value
    return {"statements_by_kind": dict(by_kind), "statements": statements,
            "statements_total": sum(statements.values()), "commits": med("commits"),
            "messages": med("messages"),
            "answer_ms": statistics.median(r["answer_ms"] for r in runs),
            "active_ms": statistics.median(r["active_ms"] for r in runs)}


def render(result: dict) -> str:
    lines = [f"One boot's work, median of {result['boots']} boots each "
             f"(in-process all-in-one, SQLite, memory://, {result['hosts']} hosts)"]
    for kind, s in result["paths"].items():
        lines.append(f"\n{kind}: {s['statements_total']:g} statements "
                     f"{dict(s['statements_by_kind'])}, commits {s['commits']}, "
                     f"answer {s['answer_ms']:.1f} ms, ACTIVE {s['active_ms']:.1f} ms")
        lines.append("  statements: " + ", ".join(f"{k} {v:g}" for k, v in
                                                  sorted(s["statements"].items())))
        lines.append("  messages:   " + ", ".join(f"{k} {v:g}" for k, v in
                                                  sorted(s["messages"].items())))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boots", type=int, default=10)
    parser.add_argument("--hosts", type=int, default=4)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-boot-") as tmp, \
            node(Path(tmp) / "data", args.hosts) as (url, core):
        runs = boots(url, core, Path(tmp) / "data", args.boots)
    result = {"bench": "boot_path", "boots": args.boots, "hosts": args.hosts,
              "paths": {k: summarise(v) for k, v in runs.items()}}
    print(render(result))
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"boot_path-{time.strftime('%Y%m%dT%H%M%S')}.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2))
    print(f"\nwritten: bench/results/{name}")


if __name__ == "__main__":
    main()
