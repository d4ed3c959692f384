"""``python -m core.conductor [--workers N]``: conductor servers on the shared queue."""

from __future__ import annotations

import argparse
import logging

from core.compute.service_heartbeat import CONDUCTOR_BINARY, ServiceHeartbeat
from core.conductor.wiring import serve_conductors, watch_builds
from core.log import configure_logging
from core.messaging.server import stop_consumers
from core.metrics import serve_metrics
from core.service_main import run_until_signalled
from core.services import build_core
from core.settings import load_settings

log = logging.getLogger("core.conductor")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m core.conductor")
    parser.add_argument("--workers", type=int, default=4,
                        help="messages handled at once by this process")
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging(settings.log_level)
    core = build_core(settings, prepare_keys=False)  # it issues no tokens
    servers = serve_conductors(core, args.workers)
    for server in servers:
        server.start()
    heartbeat = ServiceHeartbeat(core.db, settings.effective_service_host, CONDUCTOR_BINARY,
                                 settings.report_interval).start()
    watch = watch_builds(core).start()
    stop_metrics = serve_metrics(core.metrics, settings.metrics_host, settings.metrics_port)
    log.info("conductor serving with %d workers", args.workers)

    def stop() -> None:
        watch.stop()
        stop_consumers(servers, settings.shutdown_timeout)
        heartbeat.stop()
        if stop_metrics is not None:
            stop_metrics()
        core.bus.close()
        core.db.dispose()

    run_until_signalled(stop, "conductor")


if __name__ == "__main__":
    main()
