"""The message bus: a call's round trip and a cast's delivery, against a bare
thread hand-off measured in the same run.

    python -m bench.bus [--calls N] [--casts N] [--rabbitmq URL | --no-rabbitmq]

Each transport gets one RPC server (its consumer thread, as every Nimbus process
runs one) with two endpoints: ``echo`` answers its payload, ``note`` records when
it ran. One client thread then makes N sequential calls of ``echo`` (a small
payload, as the conductor's calls are) and N casts of ``note``, each cast waited
for before the next, so every figure is one message's latency, not a queue's
throughput.

The peer is what any in-process hand-off costs: the same request and reply
through two ``queue.Queue`` objects to a worker thread and back, no serialising.
Rows: ``memory://`` (the all-in-one's transport: kombu's in-memory channel with
the event-driven wake-up of core/messaging/transports.py), and RabbitMQ when the
broker answers (a vhost of its own, deleted afterwards) for scale. The table
gives the median and 99th percentile in milliseconds and the ratio of the peer's
median to each transport's (1.0 would be as fast as a bare hand-off); results
are printed and written as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.messaging.bus import Bus

RESULTS = Path(__file__).resolve().parent / "results"
PAYLOAD = {"instance_uuid": "00000000-0000-4000-8000-000000000000",
           "values": {"vm_state": "active", "task_state": None, "power_state": 1}}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def figures(samples: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples]
    return {"p50_ms": statistics.median(ms), "p99_ms": percentile(ms, 0.99),
            "mean_ms": statistics.fmean(ms)}


class Endpoints:
    """What the bench's RPC server runs."""

    def __init__(self) -> None:
        self.noted: queue.SimpleQueue[float] = queue.SimpleQueue()

    def echo(self, **payload: Any) -> dict:
        return payload

    def note(self, **payload: Any) -> None:
        self.noted.put(time.perf_counter())


def bare_handoff(count: int) -> tuple[list[float], list[float]]:
    """The peer: a request to a worker thread and its reply, through two queues;
    and a one-way hand-off (the cast's counterpart)."""
    requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
    replies: queue.SimpleQueue[Any] = queue.SimpleQueue()
    arrived: queue.SimpleQueue[float] = queue.SimpleQueue()

    def worker() -> None:
        while True:
            item = requests.get()
            if item is None:
                return
            kind, body = item
            if kind == "call":
                replies.put(dict(body))
            else:
                arrived.put(time.perf_counter())

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    calls, casts = [], []
    for _ in range(count):
        start = time.perf_counter()
        requests.put(("call", PAYLOAD))
        replies.get()
        calls.append(time.perf_counter() - start)
    for _ in range(count):
        start = time.perf_counter()
        requests.put(("cast", PAYLOAD))
        casts.append(arrived.get() - start)
    requests.put(None)
    thread.join()
    return calls, casts


def through_bus(url: str, calls: int, casts: int) -> tuple[list[float], list[float]]:
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    bus = Bus(url, namespace=f"bench{uuid.uuid4().hex[:6]}")
    endpoints = Endpoints()
    server = bus.serve(topic, "bench-server", endpoints)
    server.start()
    try:
        for _ in range(20):  # warm: queues declared, connections open
            bus.call(topic, "echo", PAYLOAD)
        call_times = []
        for _ in range(calls):
            start = time.perf_counter()
            bus.call(topic, "echo", PAYLOAD)
            call_times.append(time.perf_counter() - start)
        cast_times = []
        for _ in range(casts):
            start = time.perf_counter()
            bus.cast(topic, "note", PAYLOAD)
            cast_times.append(endpoints.noted.get(timeout=30) - start)
        return call_times, cast_times
    finally:
        server.stop()
        bus.close()


def rabbitmq_vhost(base: str) -> tuple[str, Callable[[], None]] | None:
    """A vhost of its own on the broker at ``base`` (management API on 15672 not
    needed: rabbitmqctl), or None when there is no broker to use."""
    import shutil
    import subprocess

    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        return None
    vhost = f"bench-{uuid.uuid4().hex[:8]}"
    made = subprocess.run([ctl, "add_vhost", vhost], capture_output=True, timeout=60)
    if made.returncode != 0:
        return None
    subprocess.run([ctl, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                   capture_output=True, timeout=60, check=True)

    def drop() -> None:
        subprocess.run([ctl, "delete_vhost", vhost], capture_output=True, timeout=60)
    return f"{base.rstrip('/')}/{vhost}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--casts", type=int, default=2000)
    parser.add_argument("--rabbitmq", default="amqp://guest:guest@127.0.0.1:5672",
                        help="broker to compare with (a vhost of its own is made)")
    parser.add_argument("--no-rabbitmq", action="store_true")
    args = parser.parse_args()

    rows: dict[str, dict[str, Any]] = {}
    bare_calls, bare_casts = bare_handoff(max(args.calls, args.casts))
    rows["bare thread hand-off (peer)"] = {"call": figures(bare_calls),
                                            "cast": figures(bare_casts)}
    calls, casts = through_bus("memory://", args.calls, args.casts)
    rows["memory:// (all-in-one)"] = {"call": figures(calls), "cast": figures(casts)}
    if not args.no_rabbitmq:
        made = rabbitmq_vhost(args.rabbitmq)
        if made is None:
            print("RabbitMQ: no broker to compare with (rabbitmqctl missing or failing)")
        else:
            url, drop = made
            try:
                calls, casts = through_bus(url, args.calls, args.casts)
                rows["RabbitMQ (amqp://, same host)"] = {"call": figures(calls),
                                                         "cast": figures(casts)}
            finally:
                drop()

    peer = rows["bare thread hand-off (peer)"]
    print(f"\nBus latency, {args.calls} sequential calls and {args.casts} casts each, "
          f"one client thread ({os.cpu_count()} cores; load average "
          f"{os.getloadavg()[0]:.2f})\n")
    print(f"{'transport':34} {'call p50':>9} {'p99':>8} {'x peer':>7}   "
          f"{'cast p50':>9} {'p99':>8} {'x peer':>7}")
    for name, row in rows.items():
        for kind in ("call", "cast"):
            row[kind]["ratio_to_peer"] = peer[kind]["p50_ms"] / row[kind]["p50_ms"]
        c, k = row["call"], row["cast"]
        print(f"{name:34} {c['p50_ms']:8.3f}ms {c['p99_ms']:6.3f}ms {c['ratio_to_peer']:7.3f}"
              f"   {k['p50_ms']:8.3f}ms {k['p99_ms']:6.3f}ms {k['ratio_to_peer']:7.3f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    out = RESULTS / f"bus-{stamp}.json"
    out.write_text(json.dumps({"bench": "bus", "when": stamp, "calls": args.calls,
                               "casts": args.casts, "python": platform.python_version(),
                               "cores": os.cpu_count(), "rows": rows}, indent=2))
    print(f"\nwritten to {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")


if __name__ == "__main__":
    main()
