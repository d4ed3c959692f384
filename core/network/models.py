"""Fixed addresses: one row per address of the configured range, taken by an
instance with a compare-and-swap on ``instance_uuid`` (never handed out twice)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, UTCDateTime
from core.identity.models import MYSQL


class FixedIP(Base):
    __tablename__ = "fixed_ips"
    __table_args__ = MYSQL
    address: Mapped[str] = mapped_column(String(39), primary_key=True)
    network: Mapped[str] = mapped_column(String(255))
    instance_uuid: Mapped[str | None] = mapped_column(String(36), index=True)
    mac_address: Mapped[str | None] = mapped_column(String(17))
    allocated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
