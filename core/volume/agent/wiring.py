"""Assembling a volume agent from the settings and a bus (no database code)."""

from __future__ import annotations

from typing import Any

from core.settings import Settings
from core.volume.agent.driver import PoolSpec, SimulatedStorage, parse_pools
from core.volume.agent.manager import VolumeAgent
from core.volume.rpcapi import VolumeManagerClient, VolumeSchedulerClient

RPC_TIMEOUT = 30.0  # a report retried after it (they are idempotent)


def build_volume_agent(settings: Settings, bus: Any, backend: str | None = None,
                       pools: list[PoolSpec] | None = None,
                       operation_time: float | None = None,
                       failure_rate: float | None = None,
                       availability_zone: str | None = None) -> VolumeAgent:
    """A simulated back end; what is not given comes from the settings."""
    driver = SimulatedStorage(
        parse_pools(settings.volume_pools) if pools is None else pools,
        settings.volume_operation_time if operation_time is None else operation_time,
        settings.volume_failure_rate if failure_rate is None else failure_rate)
    return VolumeAgent(backend or settings.effective_volume_backend, driver, bus,
                       VolumeManagerClient(bus, timeout=RPC_TIMEOUT), VolumeSchedulerClient(bus),
                       availability_zone=availability_zone or settings.default_availability_zone,
                       report_interval=settings.volume_report_interval,
                       max_over_subscription_ratio=settings.volume_max_over_subscription_ratio,
                       reserved_percentage=settings.volume_reserved_percentage)
