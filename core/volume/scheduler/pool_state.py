"""What the scheduler knows of a pool and asks of a request, and Cinder's
capacity factors computed from them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from core.volume.claims import capacity_limit
from core.volume.models import VolumePool


@dataclass
class PoolState:
    id: int
    name: str  # host@backend#pool
    backend: str
    availability_zone: str = "nova"
    total_capacity_gb: float = 0.0  # negative: infinite or unknown
    free_capacity_gb: float = 0.0
    provisioned_capacity_gb: int = 0
    max_over_subscription_ratio: float = 1.0
    thin_provisioning_support: bool = False
    thick_provisioning_support: bool = True
    reserved_percentage: int = 0
    capabilities: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: VolumePool) -> PoolState:
        return cls(id=row.id, name=row.name, backend=row.backend,
                   availability_zone=row.availability_zone,
                   total_capacity_gb=row.total_capacity_gb,
                   free_capacity_gb=row.free_capacity_gb,
                   provisioned_capacity_gb=row.provisioned_capacity_gb,
                   max_over_subscription_ratio=row.max_over_subscription_ratio,
                   thin_provisioning_support=row.thin_provisioning_support,
                   thick_provisioning_support=row.thick_provisioning_support,
                   reserved_percentage=row.reserved_percentage,
                   capabilities=dict(row.capabilities or {}))

    @property
    def unlimited(self) -> bool:
        """Reported as infinite or unknown."""
        return self.total_capacity_gb < 0 or math.isinf(self.total_capacity_gb)

    def uses_thin(self, thin: bool) -> bool:
        return thin and self.thin_provisioning_support

    def total_available(self, thin: bool) -> float:
        return capacity_limit(self.total_capacity_gb, self.reserved_percentage,
                              self.max_over_subscription_ratio,
                              self.thin_provisioning_support, thin)

    def virtual_free(self, thin: bool) -> float:
        """Cinder's ``virtual_free_capacity``: thin, what over-subscription still
        allows; thick, the least of free and unprovisioned space."""
        available = self.total_available(thin)
        if self.uses_thin(thin):
            return available - self.provisioned_capacity_gb
        return min(self.free_capacity_gb, available - self.provisioned_capacity_gb)


@dataclass
class VolumeRequest:
    """One volume to place (or to extend on its own pool)."""

    volume_id: str
    size: int  # GB asked of the pool: the size, or an extend's delta
    availability_zone: str | None = None
    extra_specs: dict[str, str] = field(default_factory=dict)
    attempted: list[str] = field(default_factory=list)  # pools tried before
    extend: bool = False
    attached: bool = False

    @property
    def thin(self) -> bool:
        return str(self.extra_specs.get("provisioning:type", "thin")).lower() != "thick"

    @property
    def availability_zones(self) -> list[str]:
        """The zones allowed: the type's ``RESKEY:availability_zones``, else the
        volume's own zone (none: any)."""
        listed = self.extra_specs.get("RESKEY:availability_zones")
        if listed:
            return [z.strip() for z in str(listed).split(",") if z.strip()]
        return [self.availability_zone] if self.availability_zone else []
