"""Back ends' capacity reports, as every volume scheduler records them: the
reported columns of ``volume_pools`` are upserted; ``provisioned_capacity_gb``
is the claims' and never reported."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from core.clock import utcnow
from core.db import Database
from core.volume.models import VolumePool

log = logging.getLogger(__name__)

POOL_FIELDS = ("total_capacity_gb", "free_capacity_gb", "max_over_subscription_ratio",
               "thin_provisioning_support", "thick_provisioning_support",
               "reserved_percentage")
# Reported per pool, but not capabilities to match extra specs against.
_NOT_CAPABILITIES = {*POOL_FIELDS, "pool_name", "allocated_capacity_gb",
                     "provisioned_capacity_gb"}


def _capacity(value: Any) -> float:
    """A reported capacity; ``infinite`` and ``unknown`` are stored as -1."""
    if isinstance(value, str) and value.lower() in ("infinite", "unknown"):
        return -1.0
    return float(value or 0)


def pool_values(backend: str, availability_zone: str, capabilities: dict, pool: dict
                ) -> dict[str, Any]:
    """The ``volume_pools`` columns one reported pool sets."""
    thin = bool(pool.get("thin_provisioning_support", False))
    mosr = float(pool.get("max_over_subscription_ratio", 1.0) or 1.0)
    return {
        "name": f"{backend}#{pool['pool_name']}", "backend": backend,
        "availability_zone": availability_zone,
        "total_capacity_gb": _capacity(pool.get("total_capacity_gb")),
        "free_capacity_gb": _capacity(pool.get("free_capacity_gb")),
        # Cinder forces the ratio to 1 without thin support.
        "max_over_subscription_ratio": mosr if thin else 1.0,
        "thin_provisioning_support": thin,
        "thick_provisioning_support": bool(pool.get("thick_provisioning_support", True)),
        "reserved_percentage": int(pool.get("reserved_percentage", 0) or 0),
        "capabilities": {**capabilities,
                         **{k: v for k, v in pool.items() if k not in _NOT_CAPABILITIES},
                         "pool_name": pool["pool_name"]},
    }


def record_report(db: Database, backend: str, availability_zone: str, capabilities: dict,
                  pools: list[dict]) -> int:
    """Upsert the back end's pools; returns how many. A back end without pools
    is one pool named by its ``volume_backend_name`` (as Cinder does)."""
    if not pools:
        name = capabilities.get("volume_backend_name") or backend.partition("@")[2] or backend
        pools = [{**capabilities, "pool_name": name}]
    now = utcnow()
    for pool in pools:
        values = pool_values(backend, availability_zone, capabilities, pool)
        name = values.pop("name")
        for _ in range(2):
            try:
                with db.session() as s:
                    changed = s.execute(update(VolumePool).where(VolumePool.name == name)
                                        .values(**values, updated_at=now),
                                        execution_options={"synchronize_session": False})
                    if changed.rowcount == 0:  # type: ignore[attr-defined]
                        s.execute(insert(VolumePool).values(name=name, **values,
                                                            provisioned_capacity_gb=0,
                                                            created_at=now, updated_at=now))
                break
            except IntegrityError:
                continue  # another scheduler inserted it first: update it now
    return len(pools)
