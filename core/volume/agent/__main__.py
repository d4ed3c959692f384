"""``python -m core.volume.agent --backend NAME --pool NAME:TOTAL_GB[:thin|thick][:RATE]
...``: one simulated storage back end's agent (cinder-volume).

It has no database settings: results go to the volume manager and capacity
reports to the volume schedulers, over the bus (NIMBUS_TRANSPORT_URL). A
``--backend`` without ``@`` is prefixed with the host name (``host@NAME``).
"""

from __future__ import annotations

import argparse
import logging
import socket

from core.log import configure_logging
from core.messaging import Bus
from core.metrics import Metrics, serve_metrics
from core.service_main import run_until_signalled
from core.settings import load_settings
from core.volume.agent.driver import PoolSpec, parse_pools
from core.volume.agent.wiring import build_volume_agent

log = logging.getLogger("core.volume.agent")


def main(argv: list[str] | None = None) -> None:
    settings = load_settings()
    parser = argparse.ArgumentParser(prog="python -m core.volume.agent")
    parser.add_argument("--backend", default=settings.effective_volume_backend)
    parser.add_argument("--pool", action="append", type=PoolSpec.parse, default=None,
                        help="NAME:TOTAL_GB[:thin|thick][:FAILURE_RATE] (repeatable)")
    parser.add_argument("--zone", default=settings.default_availability_zone)
    parser.add_argument("--operation-time", type=float, default=settings.volume_operation_time)
    parser.add_argument("--failure-rate", type=float, default=settings.volume_failure_rate)
    args = parser.parse_args(argv)
    configure_logging(settings.log_level)
    backend = args.backend if "@" in args.backend else f"{socket.gethostname()}@{args.backend}"
    metrics = Metrics()
    bus = Bus.from_settings(settings, metrics=metrics)
    agent = build_volume_agent(settings, bus, backend,
                               args.pool or parse_pools(settings.volume_pools),
                               args.operation_time, args.failure_rate, args.zone)
    agent.start()
    stop_metrics = serve_metrics(metrics, settings.metrics_host, settings.metrics_port)
    log.info("volume agent %s serving pools %s", backend, ", ".join(agent.driver.pools))

    def stop() -> None:
        agent.stop(settings.shutdown_timeout)
        if stop_metrics is not None:
            stop_metrics()
        bus.close()

    run_until_signalled(stop, f"volume agent {backend}")


if __name__ == "__main__":
    main()
