"""``python -m core.scheduler``: serve topic ``scheduler`` until SIGTERM or SIGINT.

Run as many as needed: they share the topic's queue, and claims in the database
keep them from over-committing a host.
"""

from __future__ import annotations

import logging
import os
import socket

from core.compute.service_heartbeat import SCHEDULER_BINARY, ServiceHeartbeat
from core.log import configure_logging
from core.messaging.server import stop_consumers
from core.metrics import serve_metrics
from core.scheduler.rpc import TOPIC
from core.scheduler.wiring import build_scheduler, serve_schedulers
from core.service_main import run_until_signalled
from core.services import build_core
from core.settings import load_settings

log = logging.getLogger("core.scheduler")


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level)
    core = build_core(settings, prepare_keys=False)  # it issues no tokens
    endpoints = build_scheduler(core)
    name = f"{socket.gethostname()}-{os.getpid()}"
    (server,) = serve_schedulers(core, endpoints, [name])
    server.start()
    heartbeat = ServiceHeartbeat(core.db, settings.effective_service_host, SCHEDULER_BINARY,
                                 settings.report_interval).start()
    stop_metrics = serve_metrics(core.metrics, settings.metrics_host, settings.metrics_port)
    log.info("scheduler %s serving topic %s", name, TOPIC,
             extra={"fields": {"server": name, "topic": TOPIC}})

    def stop() -> None:
        stop_consumers([server], settings.shutdown_timeout)  # the call in hand first
        heartbeat.stop()
        if stop_metrics is not None:
            stop_metrics()
        core.bus.close()
        core.db.dispose()
        stats = endpoints.counts.snapshot()
        log.info("scheduler %s stopped after %d calls (%d without a valid host)", name,
                 stats["calls"], stats["no_valid_host"],
                 extra={"fields": {"server": name, **stats}})

    run_until_signalled(stop, f"scheduler {name}")


if __name__ == "__main__":
    main()
