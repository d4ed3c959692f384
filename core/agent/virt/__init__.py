"""Virt drivers: how a compute agent runs instances. ``build_driver`` picks one by name."""

from __future__ import annotations

from core.agent.virt.driver import DriverError, InstanceInfo, VirtDriver
from core.agent.virt.simulated import SimulatedDriver

DRIVERS = {"simulated": SimulatedDriver}


def build_driver(name: str, **options: object) -> VirtDriver:
    try:
        cls = DRIVERS[name]
    except KeyError:
        raise ValueError(f"unknown virt driver {name!r}; known: {sorted(DRIVERS)}") from None
    return cls(**options)  # type: ignore[arg-type]


__all__ = ["DriverError", "InstanceInfo", "VirtDriver", "build_driver"]
