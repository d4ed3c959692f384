"""The control plane in one process: conductors, a scheduler, simulated compute
hosts, a volume scheduler (with the volume manager) and simulated storage back
ends as threads — what ``make run`` (the all-in-one controller) runs beside the
API. Scale-out runs the same pieces as processes (``python -m core.conductor``,
``python -m core.scheduler``, ``python -m core.agent``, ``python -m
core.volume.scheduler``, ``python -m core.volume.agent``)."""

from __future__ import annotations

import logging

from core.agent.manager import ComputeAgent
from core.agent.wiring import build_agent, host_resources
from core.clock import utcnow
from core.compute.service_heartbeat import CONDUCTOR_BINARY, SCHEDULER_BINARY, ServiceHeartbeat
from core.conductor.wiring import serve_conductors, service_name, watch_builds
from core.messaging.interfaces import Consumer
from core.messaging.server import stop_consumers
from core.scheduler.wiring import build_scheduler, serve_schedulers
from core.services import CoreServices
from core.volume.agent.manager import VolumeAgent
from core.volume.agent.wiring import build_volume_agent
from core.volume.backends import wait_reported
from core.volume.scheduler.wiring import (
    build_volume_manager,
    build_volume_scheduler,
    serve_volume_control,
    watch_creates,
)

log = logging.getLogger(__name__)

# How long start() waits for the first report of the in-process volume back ends.
BACKEND_REPORT_WAIT = 10.0


def simulated_agent(core: CoreServices, host: str) -> ComputeAgent:
    """A simulated compute host of the size settings give simulated hosts; it keeps
    its guests across restarts in the data directory."""
    settings = core.settings
    return build_agent(settings, core.bus, host_resources(settings, host),
                       state_dir=settings.simulated_state_dir
                       or settings.data_dir / "hypervisors")


class ControlPlane:
    """Starts and stops the in-process control plane."""

    def __init__(self, core: CoreServices, conductors: int = 4, schedulers: int = 2) -> None:
        self.core = core
        # The scheduler also serves the bus (for processes elsewhere), but this
        # process's conductors call it directly.
        scheduler = build_scheduler(core)
        names = [service_name("scheduler", i) for i in range(schedulers)]
        self.servers: list[Consumer] = (serve_conductors(core, conductors, scheduler)
                                        + serve_schedulers(core, scheduler, names))
        self.agents = [simulated_agent(core, f"compute-{i + 1}")
                       for i in range(core.settings.compute_hosts)]
        self.watch = watch_builds(core)
        # Block storage: a volume scheduler with the manager, and simulated back ends.
        settings = core.settings
        self.volume_scheduler = build_volume_scheduler(core.db, core.bus, settings, core.quotas)
        self.servers += serve_volume_control(
            core.bus, self.volume_scheduler,
            build_volume_manager(core.db, core.bus, settings, core.quotas, core.images.data),
            [service_name("volume-scheduler")])
        self.volume_watch = watch_creates(core.db, core.bus, settings)
        self.volume_agents: list[VolumeAgent] = [
            build_volume_agent(settings, core.bus,
                               settings.effective_volume_backend if i == 0
                               else f"{settings.effective_volume_backend}-{i + 1}")
            for i in range(settings.volume_agents)]
        # In the services list as Nova's all-in-one lists them.
        self.heartbeats = [ServiceHeartbeat(core.db, settings.effective_service_host, binary,
                                            settings.report_interval)
                           for binary in (CONDUCTOR_BINARY, SCHEDULER_BINARY)]

    def start(self) -> ControlPlane:
        if self.core.settings.transport_url.startswith("memory"):
            # The in-process bus lost every message in flight with the process that
            # ran it: no flow is left to finish the builds it carried.
            failed = self.watch.recovery.fail_interrupted_builds(0)
            if failed:
                log.warning("%d builds interrupted by the last stop went to ERROR",
                            len(failed))
            if self.watch.moves is not None:
                settled = self.watch.moves.recover_interrupted_moves(0)
                if settled:
                    log.warning("%d moves interrupted by the last stop were settled",
                                len(settled))
        for server in self.servers:
            server.start()
        for agent in self.agents:
            agent.start()
        reports_since = utcnow().replace(microsecond=0)
        for volume_agent in self.volume_agents:
            volume_agent.start()
        # A volume created before its back end's first report finds no pool.
        backends = [volume_agent.backend for volume_agent in self.volume_agents]
        if not wait_reported(self.core.db, backends, reports_since, BACKEND_REPORT_WAIT):
            log.warning("volume back ends %s did not report within %.0f s", backends,
                        BACKEND_REPORT_WAIT)
        self.volume_watch.start()
        self.watch.start()
        for heartbeat in self.heartbeats:
            heartbeat.start()
        log.info("control plane started: %d conductor/scheduler servers, %d hosts, "
                 "%d volume back ends", len(self.servers), len(self.agents),
                 len(self.volume_agents))
        return self

    def stop(self) -> None:
        self.watch.stop()
        self.volume_watch.stop()
        for agent in self.agents:
            agent.stop()
        for volume_agent in self.volume_agents:
            volume_agent.stop()
        stop_consumers(self.servers, self.core.settings.shutdown_timeout)
        for heartbeat in self.heartbeats:
            heartbeat.stop()
