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

from core.log import configure_logging
from core.scheduler.rpc import TOPIC
from core.scheduler.wiring import build_scheduler, serve_schedulers
from core.services import build_core
from core.settings import load_settings

log = logging.getLogger("core.scheduler")


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level)
    core = build_core(settings, prepare_keys=False)  # it issues no tokens
    endpoints = build_scheduler(core)
    name = f"{socket.gethostname()}-{os.getpid()}"
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("scheduler %s: %s received, stopping", name, signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    (server,) = serve_schedulers(core, endpoints, [name])
    server.start()
    log.info("scheduler %s serving topic %s", name, TOPIC,
             extra={"fields": {"server": name, "topic": TOPIC}})
    try:
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()  # finishes the call in hand first
        core.bus.close()
        core.db.dispose()
        stats = endpoints.counts.snapshot()
        log.info("scheduler %s stopped after %d calls (%d without a valid host)", name,
                 stats["calls"], stats["no_valid_host"],
                 extra={"fields": {"server": name, **stats}})


if __name__ == "__main__":
    main()
