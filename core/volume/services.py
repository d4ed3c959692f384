"""The block storage domain's services, built together (``build_volume``) and
handed to the API edges, compute and the conductor as one bundle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.db import Database
from core.messaging import MessageBus
from core.policy import PolicyEnforcer
from core.quota.service import QuotaService
from core.volume.attachments import AttachmentService
from core.volume.quotas import VolumeQuotas
from core.volume.rpcapi import VolumeAgentClient, VolumeSchedulerClient
from core.volume.snapshots import SnapshotService
from core.volume.types import VolumeTypeService
from core.volume.volumes import VolumeService


@dataclass(frozen=True)
class VolumeServices:
    volumes: VolumeService
    snapshots: SnapshotService
    types: VolumeTypeService
    attachments: AttachmentService
    quotas: VolumeQuotas
    scheduler: VolumeSchedulerClient
    agents: VolumeAgentClient


def build_volume(db: Database, policy: PolicyEnforcer, quotas: QuotaService,
                 bus: MessageBus, default_zone: str = "nova",
                 images: Any = None) -> VolumeServices:
    """``images``: the image service (``show(ctx, id)``) volumes are made from."""
    scheduler = VolumeSchedulerClient(bus)
    agents = VolumeAgentClient(bus)
    types = VolumeTypeService(db, policy)
    volume_quotas = VolumeQuotas(quotas, policy)
    volumes = VolumeService(db, policy, quotas, volume_quotas, types, scheduler, agents,
                            default_zone=default_zone, images=images)
    return VolumeServices(
        volumes=volumes, snapshots=SnapshotService(db, policy, quotas, agents), types=types,
        attachments=AttachmentService(db, policy), quotas=volume_quotas,
        scheduler=scheduler, agents=agents)
