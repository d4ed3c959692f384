"""At-least-once on RabbitMQ: a worker killed with SIGKILL mid-message loses nothing."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.messaging import Bus
from tests.conftest import unique
from tests.unit.core.messaging import rabbit

REPO = Path(__file__).resolve().parents[2]

# A worker process: handles "work" on topic "jobs". It writes started-<job>-<pid>
# when a job begins and done-<job>-<pid> when it ends; with HANG set it never ends.
WORKER = """
import os, sys, time
from core.messaging import Bus

url, namespace, out = sys.argv[1:4]
out_dir = __import__("pathlib").Path(out)
pid = os.getpid()

class Jobs:
    def work(self, job):
        (out_dir / f"started-{job}-{pid}").touch()
        if os.environ.get("HANG"):
            time.sleep(60)
        (out_dir / f"done-{job}-{pid}").touch()

server = Bus(url, namespace=namespace).serve("jobs", f"worker-{pid}", Jobs())
server.start()
print("ready", flush=True)
sys.stdin.read()  # run until the test closes our stdin
server.stop()
"""


@pytest.fixture(scope="module")
def rabbitmq_url():
    with rabbit.broker_url() as url:
        yield url


def start_worker(url: str, namespace: str, out: Path, hang: bool) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("HANG", None)
    if hang:
        env["HANG"] = "1"
    proc = subprocess.Popen([sys.executable, "-c", WORKER, url, namespace, str(out)],
                            cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    readable, _, _ = select.select([proc.stdout], [], [], 15)
    if not readable or proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise AssertionError("worker did not start")
    return proc


def wait_for(out: Path, pattern: str, timeout: float = 5.0) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(out.glob(pattern))
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"nothing matching {pattern} within {timeout} s: {list(out.iterdir())}")


def test_message_of_a_killed_worker_is_redelivered(rabbitmq_url, tmp_path):
    namespace = unique("kill")
    bus = Bus(rabbitmq_url, namespace=namespace)
    hanging = start_worker(rabbitmq_url, namespace, tmp_path, hang=True)
    spare = None
    try:
        bus.cast("jobs", "work", {"job": "j1"})
        (started,) = wait_for(tmp_path, "started-j1-*")
        assert started.name == f"started-j1-{hanging.pid}"
        # Prefetch 1: the hanging worker holds the message unacknowledged; the
        # spare gets it only when the first dies.
        spare = start_worker(rabbitmq_url, namespace, tmp_path, hang=False)
        hanging.send_signal(signal.SIGKILL)
        hanging.wait(timeout=5)
        (done,) = wait_for(tmp_path, "done-j1-*")
        assert done.name == f"done-j1-{spare.pid}"
        assert len(list(tmp_path.glob("started-j1-*"))) == 2
    finally:
        for proc in (hanging, spare):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
        bus.close()
