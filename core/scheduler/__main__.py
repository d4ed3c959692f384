"""``python -m core.scheduler``: serve topic ``scheduler`` until SIGTERM or SIGINT.

Run as many as needed: they share the topic's queue, and claims in the database
keep them from over-committing a host.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading

from core.db import Database
from core.log import configure_logging
from core.messaging import Bus
from core.scheduler.manager import Scheduler
from core.scheduler.rpc import TOPIC, SchedulerEndpoints
from core.settings import load_settings

log = logging.getLogger("core.scheduler")


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level)
    db = Database(settings.effective_database_url)
    bus = Bus(settings.transport_url)
    endpoints = SchedulerEndpoints(Scheduler(db, settings))
    name = f"{socket.gethostname()}-{os.getpid()}"
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("scheduler %s: %s received, stopping", name, signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server = bus.serve(TOPIC, name, endpoints)
    server.start()
    log.info("scheduler %s serving topic %s", name, TOPIC,
             extra={"fields": {"server": name, "topic": TOPIC}})
    try:
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()  # finishes the call in hand first
        bus.close()
        db.dispose()
        stats = endpoints.counts.snapshot()
        log.info("scheduler %s stopped after %d calls (%d without a valid host)", name,
                 stats["calls"], stats["no_valid_host"],
                 extra={"fields": {"server": name, **stats}})


if __name__ == "__main__":
    main()
