"""The control plane in one process: conductors, a scheduler and simulated compute
hosts as threads — what ``make run`` (the all-in-one controller) runs beside the
API. Scale-out runs the same pieces as processes (``python -m core.conductor``,
``python -m core.scheduler``, ``python -m core.agent``)."""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from sqlalchemy.exc import IntegrityError

from core.agent.manager import ComputeAgent, HostResources
from core.agent.virt import build_driver
from core.compute.rpcapi import CONDUCTOR, CONDUCTOR_AGENTS, SCHEDULER
from core.conductor.manager import Conductor
from core.db import Database
from core.messaging import Bus
from core.network.ipam import Ipam
from core.settings import Settings

log = logging.getLogger(__name__)


def ensure_address_pool(settings: Settings, db: Database) -> None:
    """Fill the fixed-IP pool. Conductors starting side by side may each find it
    empty and insert it; the loser's insert conflicts once the winner commits,
    and then the pool is complete."""
    ipam = Ipam(db, settings.fixed_range, settings.network_name)
    try:
        ipam.ensure_pool()
    except IntegrityError:
        ipam.ensure_pool()


def service_name(kind: str, index: int = 0) -> str:
    return f"{kind}-{socket.gethostname()}-{os.getpid()}-{index}"


def serve_conductors(settings: Settings, db: Database, bus: Bus, images: Any,
                     workers: int, scheduler: Any = None) -> list[Any]:
    """``workers`` conductor servers on each of the conductor's two shared queues: the
    long flows the API casts, and the short calls of compute agents — on a queue of
    their own so that an agent's report never waits behind a burst of builds. Each
    server handles one message at a time; several let flows overlap."""
    servers = []
    for i in range(workers):
        name = service_name("conductor", i)
        conductor = Conductor(settings, db, bus, images, host=name, scheduler=scheduler)
        servers.append(bus.serve(CONDUCTOR, name, conductor))
        servers.append(bus.serve(CONDUCTOR_AGENTS, name, conductor))
    return servers


def scheduler_endpoints(settings: Settings, db: Database) -> Any:
    from core.scheduler.manager import Scheduler
    from core.scheduler.rpc import SchedulerEndpoints

    return SchedulerEndpoints(Scheduler(db, settings))


def serve_schedulers(bus: Bus, endpoints: Any, workers: int) -> list[Any]:
    return [bus.serve(SCHEDULER, service_name("scheduler", i), endpoints)
            for i in range(workers)]


def simulated_agent(settings: Settings, bus: Bus, host: str) -> ComputeAgent:
    resources = HostResources(
        host=host, vcpus=settings.compute_host_vcpus, memory_mb=settings.compute_host_memory_mb,
        local_gb=settings.compute_host_disk_gb,
        availability_zone=settings.default_availability_zone,
        cpu_allocation_ratio=settings.cpu_allocation_ratio,
        ram_allocation_ratio=settings.ram_allocation_ratio,
        disk_allocation_ratio=settings.disk_allocation_ratio)
    driver = build_driver("simulated", host=host,
                          operation_time=settings.driver_operation_time,
                          failure_rate=settings.driver_failure_rate)
    return ComputeAgent(resources, driver, bus, report_interval=settings.report_interval)


class ControlPlane:
    """Starts and stops the in-process control plane."""

    def __init__(self, settings: Settings, db: Database, bus: Bus, images: Any,
                 conductors: int = 4, schedulers: int = 2) -> None:
        self.settings = settings
        self.bus = bus
        ensure_address_pool(settings, db)
        # The scheduler also serves the bus (for processes elsewhere), but this
        # process's conductors call it directly.
        scheduler = scheduler_endpoints(settings, db)
        self.servers = (serve_conductors(settings, db, bus, images, conductors, scheduler)
                        + serve_schedulers(bus, scheduler, schedulers))
        self.agents = [simulated_agent(settings, bus, f"compute-{i + 1}")
                       for i in range(settings.compute_hosts)]

    def start(self) -> ControlPlane:
        for server in self.servers:
            server.start()
        for agent in self.agents:
            agent.start()
        log.info("control plane started: %d conductor/scheduler servers, %d hosts",
                 len(self.servers), len(self.agents))
        return self

    def stop(self) -> None:
        for agent in self.agents:
            agent.stop()
        for server in self.servers:
            server.stop()
