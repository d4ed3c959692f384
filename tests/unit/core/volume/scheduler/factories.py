"""Pools and requests for the volume scheduler's unit tests."""

from __future__ import annotations

from core.settings import load_settings
from core.volume.scheduler.pool_state import PoolState, VolumeRequest


def make_settings(**overrides):
    return load_settings(environ={}, **overrides)


def make_pool(name: str = "h@b#p", **fields) -> PoolState:
    values = {"id": 1, "backend": name.partition("#")[0], "total_capacity_gb": 100.0,
              "free_capacity_gb": 100.0}
    values.update(fields)
    return PoolState(name=name, **values)


def make_request(size: int = 10, **fields) -> VolumeRequest:
    return VolumeRequest(volume_id=fields.pop("volume_id", "v1"), size=size, **fields)
