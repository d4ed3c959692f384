"""Quota records: limits that override the defaults, and usage counters."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import MYSQL, Base


class QuotaLimit(Base):
    """A project's (or a project user's) limit overriding the default for one resource."""

    __tablename__ = "quota_limits"
    __table_args__ = MYSQL
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class QuotaUsage(Base):
    """Usage counters, changed in the same transaction as the records they count by a
    conditional UPDATE (``in_use + n <= limit``): concurrent requests never overshoot."""

    __tablename__ = "quota_usages"
    __table_args__ = MYSQL
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    in_use: Mapped[int] = mapped_column(Integer, default=0)
