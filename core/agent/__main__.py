"""``python -m core.agent --host NAME [--vcpus N --memory-mb N --disk-gb N --zone AZ
--architecture ARCH --hypervisor-type T]``: one compute host's agent.

The agent has no database settings at all: it reaches the database only through
the conductor, over the message bus (NIMBUS_TRANSPORT_URL).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging

from core.agent.wiring import build_agent, host_resources
from core.log import configure_logging
from core.messaging import Bus
from core.metrics import Metrics, serve_metrics
from core.service_main import run_until_signalled
from core.settings import load_settings

log = logging.getLogger("core.agent")


def main(argv: list[str] | None = None) -> None:
    settings = load_settings()
    parser = argparse.ArgumentParser(prog="python -m core.agent")
    parser.add_argument("--host", required=True)
    parser.add_argument("--vcpus", type=int, default=settings.compute_host_vcpus)
    parser.add_argument("--memory-mb", type=int, default=settings.compute_host_memory_mb)
    parser.add_argument("--disk-gb", type=int, default=settings.compute_host_disk_gb)
    parser.add_argument("--zone", default=settings.default_availability_zone)
    parser.add_argument("--architecture", default="x86_64")
    parser.add_argument("--hypervisor-type", default="fake")
    parser.add_argument("--driver", default="simulated")
    parser.add_argument("--operation-time", type=float, default=settings.driver_operation_time)
    parser.add_argument("--failure-rate", type=float, default=settings.driver_failure_rate)
    args = parser.parse_args(argv)
    configure_logging(settings.log_level)
    resources = dataclasses.replace(
        host_resources(settings, args.host), vcpus=args.vcpus, memory_mb=args.memory_mb,
        local_gb=args.disk_gb, availability_zone=args.zone, architecture=args.architecture,
        hypervisor_type=args.hypervisor_type)
    metrics = Metrics()
    bus = Bus.from_settings(settings, metrics=metrics)
    agent = build_agent(settings, bus, resources, args.driver, args.operation_time,
                        args.failure_rate)
    agent.start(register_timeout=120.0)
    stop_metrics = serve_metrics(metrics, settings.metrics_host, settings.metrics_port)
    log.info("compute agent %s serving", args.host)

    def stop() -> None:
        agent.stop(settings.shutdown_timeout)  # the operation in hand first
        if stop_metrics is not None:
            stop_metrics()
        bus.close()

    run_until_signalled(stop, f"compute agent {args.host}")


if __name__ == "__main__":
    main()
