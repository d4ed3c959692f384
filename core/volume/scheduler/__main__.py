"""``python -m core.volume.scheduler``: serve ``volume-scheduler`` (and the volume
manager's ``volume-manager``) until SIGTERM or SIGINT.

Run as many as needed: they share the topics' queues, each gets every back
end's capacity report (fanout), and claims in the database keep them from
over-subscribing a pool.
"""

from __future__ import annotations

import logging
import os
import socket

from core.db import Database
from core.log import configure_logging
from core.messaging import Bus
from core.messaging.server import stop_consumers
from core.metrics import Metrics, serve_metrics
from core.quota.service import QuotaService
from core.service_main import run_until_signalled
from core.settings import load_settings
from core.volume.rpcapi import SCHEDULER_TOPIC
from core.volume.scheduler.wiring import (
    build_volume_manager,
    build_volume_scheduler,
    serve_volume_control,
    watch_creates,
)

log = logging.getLogger("core.volume.scheduler")


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level)
    metrics = Metrics()
    db = Database.from_settings(settings)
    bus = Bus.from_settings(settings, metrics=metrics)
    quotas = QuotaService(db, settings)
    scheduler = build_volume_scheduler(db, bus, settings, quotas)
    manager = build_volume_manager(db, bus, settings, quotas)
    name = f"volume-scheduler-{socket.gethostname()}-{os.getpid()}"
    servers = serve_volume_control(bus, scheduler, manager, [name])
    for server in servers:
        server.start()
    watch = watch_creates(db, bus, settings).start()
    stop_metrics = serve_metrics(metrics, settings.metrics_host, settings.metrics_port)
    log.info("volume scheduler %s serving topic %s", name, SCHEDULER_TOPIC,
             extra={"fields": {"server": name, "topic": SCHEDULER_TOPIC}})

    def stop() -> None:
        watch.stop()
        stop_consumers(servers, settings.shutdown_timeout)  # the message in hand first
        if stop_metrics is not None:
            stop_metrics()
        bus.close()
        quotas.dispose()
        db.dispose()
        log.info("volume scheduler %s stopped: %s", name, scheduler.counts)

    run_until_signalled(stop, f"volume scheduler {name}")


if __name__ == "__main__":
    main()
