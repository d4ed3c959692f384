"""Assembling schedulers from the core services and serving them on the
``scheduler`` topic (the scheduler main and the in-process control plane)."""

from __future__ import annotations

from core.messaging.interfaces import Consumer
from core.scheduler.manager import Scheduler
from core.scheduler.rpc import TOPIC, SchedulerEndpoints
from core.services import CoreServices


def build_scheduler(core: CoreServices) -> SchedulerEndpoints:
    """The scheduler's endpoints over ``core``'s database and settings."""
    return SchedulerEndpoints(Scheduler(core.db, core.settings), core.metrics)


def serve_schedulers(core: CoreServices, endpoints: SchedulerEndpoints, names: list[str]
                     ) -> list[Consumer]:
    """One server of ``endpoints`` on the shared topic per name."""
    return [core.bus.serve(TOPIC, name, endpoints) for name in names]
