"""Assembling a compute agent: its host's resources, its virt driver and the
bus. No database code is reachable from here (the agent reaches the database
only through the conductor), so agents are built without ``core.services``."""

from __future__ import annotations

from pathlib import Path

from core.agent.manager import ComputeAgent, HostResources
from core.agent.virt import build_driver
from core.compute.notifications import Notifier
from core.compute.rpcapi import ConductorClient
from core.messaging.interfaces import MessageBus
from core.settings import Settings

RPC_TIMEOUT = 60.0  # an agent waits this long for the conductor to answer


def host_resources(settings: Settings, host: str) -> HostResources:
    """What a host of the size ``settings`` give simulated hosts reports."""
    return HostResources(
        host=host, vcpus=settings.compute_host_vcpus,
        memory_mb=settings.compute_host_memory_mb, local_gb=settings.compute_host_disk_gb,
        availability_zone=settings.default_availability_zone,
        cpu_allocation_ratio=settings.cpu_allocation_ratio,
        ram_allocation_ratio=settings.ram_allocation_ratio,
        disk_allocation_ratio=settings.disk_allocation_ratio)


def build_agent(settings: Settings, bus: MessageBus, resources: HostResources,
                driver: str = "simulated", operation_time: float | None = None,
                failure_rate: float | None = None, state_dir: Path | None = None
                ) -> ComputeAgent:
    """The agent of ``resources.host`` with the named virt driver; a simulated
    host keeps its guests in ``state_dir`` (default: settings'
    ``simulated_state_dir``; none: they die with the process)."""
    state_dir = state_dir or settings.simulated_state_dir
    virt = build_driver(driver, host=resources.host,
                        operation_time=settings.driver_operation_time
                        if operation_time is None else operation_time,
                        failure_rate=settings.driver_failure_rate
                        if failure_rate is None else failure_rate,
                        state_file=state_dir / f"{resources.host}.json" if state_dir else None,
                        resume_guests=settings.resume_guests_state_on_host_boot)
    return ComputeAgent(resources, virt, bus, ConductorClient(bus, timeout=RPC_TIMEOUT),
                        Notifier(bus, f"compute.{resources.host}"),
                        report_interval=settings.report_interval,
                        sync_interval=settings.sync_power_state_interval)
