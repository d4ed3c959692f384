"""A control-plane-like worker process for SIGTERM tests: it serves topic
``jobs`` with one endpoint, ``work(job)``, that takes ``--seconds`` and
appends ``start JOB PID`` and ``done JOB PID`` lines to ``--record``.

It stops as conductors, schedulers and agents do (``core.service_main`` and
``core.messaging.server.stop_consumers``, NIMBUS_SHUTDOWN_TIMEOUT), so a test
can send it SIGTERM with a job in hand::

    python -m tests.support.slow_worker --seconds 2 --record FILE
"""

from __future__ import annotations

import argparse
import logging
import os
import time

from core.log import configure_logging
from core.messaging import Bus
from core.messaging.server import stop_consumers
from core.service_main import run_until_signalled
from core.settings import load_settings

log = logging.getLogger("slow_worker")
TOPIC = "jobs"


class Jobs:
    def __init__(self, seconds: float, record: str) -> None:
        self.seconds = seconds
        self.record = record

    def _write(self, line: str) -> None:
        with open(self.record, "a") as fh:
            fh.write(f"{line} {os.getpid()}\n")

    def work(self, job: str) -> None:
        self._write(f"start {job}")
        time.sleep(self.seconds)
        self._write(f"done {job}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--namespace", default="nimbus")
    args = parser.parse_args()
    settings = load_settings()
    configure_logging(settings.log_level)
    bus = Bus(settings.transport_url, namespace=args.namespace)
    server = bus.serve(TOPIC, f"worker-{os.getpid()}", Jobs(args.seconds, args.record))
    server.start()
    log.info("worker serving")

    def stop() -> None:
        stop_consumers([server], settings.shutdown_timeout)
        bus.close()

    run_until_signalled(stop, "worker")


if __name__ == "__main__":
    main()
