"""Assembling conductors from the core services (``core.services.build_core``)
and serving them on the conductor's two shared queues."""

from __future__ import annotations

import os
import socket
from typing import Any

from core.compute.notifications import Notifier
from core.compute.rpcapi import CONDUCTOR, CONDUCTOR_AGENTS, AgentClient
from core.conductor.agents_api import AgentRequests
from core.conductor.build import BuildResults
from core.conductor.delete import Deletes
from core.conductor.manager import Conductor
from core.conductor.move_recovery import MoveRecovery
from core.conductor.reclaim import Reclaim
from core.conductor.recovery import BuildWatch, Recovery
from core.conductor.resize import Resizes
from core.conductor.snapshot import Snapshots
from core.conductor.tasks import ConductorDeps, Destinations
from core.conductor.volume_recovery import AttachmentRecovery
from core.messaging.interfaces import Consumer
from core.services import CoreServices


def service_name(kind: str, index: int = 0) -> str:
    """A name for one server of this process, unique across hosts and processes."""
    return f"{kind}-{socket.gethostname()}-{os.getpid()}-{index}"


def build_conductor(core: CoreServices, host: str = "conductor",
                    scheduler: Any = None) -> Conductor:
    """A conductor named ``host`` over ``core``'s database, bus and services;
    ``scheduler``: the scheduler's endpoints when one runs in this process."""
    deps = ConductorDeps(settings=core.settings, db=core.db, store=core.instances,
                         quotas=core.quotas, ipam=core.ipam, images=core.images,
                         agents=AgentClient(core.bus),
                         notifier=Notifier(core.bus, f"conductor.{host}"),
                         destinations=Destinations(
                             core.bus, scheduler, timeout=core.settings.service_down_time + 60),
                         metrics=core.metrics, volumes=getattr(core, "volumes", None))
    return Conductor(deps, BuildResults(deps), Deletes(deps), Resizes(deps), Snapshots(deps),
                     AgentRequests(deps), Recovery(deps))


def watch_builds(core: CoreServices) -> BuildWatch:
    """The thread that fails builds left without progress for ``build_timeout``,
    recovers volume attachments stuck for ``volume_attach_timeout`` and reclaims
    servers soft-deleted ``reclaim_instance_interval`` ago."""
    settings = core.settings
    conductor = build_conductor(core, "build-watch")
    return BuildWatch(conductor.recovery, settings.build_timeout,
                      settings.build_check_interval, AttachmentRecovery(conductor.deps),
                      settings.volume_attach_timeout,
                      Reclaim(conductor.deps, conductor.deletes),
                      settings.reclaim_instance_interval, MoveRecovery(conductor.deps))


def serve_conductors(core: CoreServices, workers: int, scheduler: Any = None
                     ) -> list[Consumer]:
    """``workers`` conductor servers on each of the conductor's two shared queues: the
    long flows the API casts, and the short calls of compute agents — on a queue of
    their own so that an agent's report never waits behind a burst of builds. Each
    server handles one message at a time; several let flows overlap."""
    servers = []
    for i in range(workers):
        name = service_name("conductor", i)
        conductor = build_conductor(core, name, scheduler)
        servers.append(core.bus.serve(CONDUCTOR, name, conductor))
        servers.append(core.bus.serve(CONDUCTOR_AGENTS, name, conductor))
    return servers
