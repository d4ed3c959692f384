"""Assembling the volume scheduler and the volume manager over a database and
a bus, and serving them (the scheduler main and the in-process control plane).
Both run in the scheduler's process: the manager records the agents' results
and hands failed creates back to the schedulers."""

from __future__ import annotations

from typing import Any

from core.db import Database
from core.image.access import ImageAccess
from core.image.data import ImageData
from core.image.stores import build_stores
from core.messaging.interfaces import Consumer
from core.policy import Enforcer
from core.policy.defaults import all_defaults
from core.quota.service import QuotaService
from core.settings import Settings
from core.volume.manager import VolumeManager
from core.volume.recovery import CreateWatch
from core.volume.rpcapi import (
    MANAGER_TOPIC,
    SCHEDULER_TOPIC,
    VolumeAgentClient,
    VolumeSchedulerClient,
)
from core.volume.scheduler.manager import VolumeScheduler


def build_volume_scheduler(db: Database, bus: Any, settings: Settings,
                           quotas: QuotaService) -> VolumeScheduler:
    return VolumeScheduler(db, settings, VolumeAgentClient(bus), quotas)


def build_volume_manager(db: Database, bus: Any, settings: Settings,
                         quotas: QuotaService, images: ImageData | None = None) -> VolumeManager:
    """``images``: the image data service uploads write through (built from
    ``settings``' stores unless given)."""
    if images is None:
        policy = Enforcer(all_defaults(), settings.effective_policy_file)
        images = ImageData(db, policy, build_stores(settings), settings.image_default_store,
                           ImageAccess(policy).load, settings.image_size_cap,
                           settings.image_project_quota)
    return VolumeManager(db, quotas, VolumeSchedulerClient(bus), settings.volume_max_attempts,
                         images=images)


def serve_volume_control(bus: Any, scheduler: VolumeScheduler, manager: VolumeManager,
                         names: list[str]) -> list[Consumer]:
    """A scheduler server (shared topic, own queue and fanout copy) and a manager
    server per name."""
    servers = []
    for name in names:
        servers.append(bus.serve(SCHEDULER_TOPIC, name, scheduler))
        servers.append(bus.serve(MANAGER_TOPIC, name, manager))
    return servers


def watch_creates(db: Database, bus: Any, settings: Settings) -> CreateWatch:
    """The thread that sends volumes stuck ``creating`` on again."""
    return CreateWatch(db, VolumeSchedulerClient(bus), VolumeAgentClient(bus),
                       settings.volume_create_timeout,
                       max(1.0, min(60.0, settings.volume_create_timeout / 4)))
