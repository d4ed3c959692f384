"""Network records: fixed addresses (one row per address of the configured range,
taken by an instance with a compare-and-swap on ``instance_uuid``, never handed out
twice), floating addresses likewise, and security groups with their rules."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import MYSQL, Base, UTCDateTime, new_uuid, utcnow


class FixedIP(Base):
    __tablename__ = "fixed_ips"
    __table_args__ = MYSQL
    address: Mapped[str] = mapped_column(String(39), primary_key=True)
    network: Mapped[str] = mapped_column(String(255))
    instance_uuid: Mapped[str | None] = mapped_column(String(36), index=True)
    mac_address: Mapped[str | None] = mapped_column(String(17))
    allocated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SecurityGroup(Base):
    """A project's named set of firewall rules; ``default`` is made on first use.

    Instances name the groups they were booted with (``Instance.security_groups``);
    ``generation`` is bumped by a boot naming the group and by its deletion, so the
    two serialise on the row and a group in use is never deleted under a boot.
    """

    __tablename__ = "security_groups"
    __table_args__ = (UniqueConstraint("project_id", "name"), MYSQL)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    project_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String(255), default="")
    generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SecurityGroupRule(Base):
    """One rule: traffic of ``protocol`` (None: all) on ports ``port_min``..``port_max``
    (ICMP: type and code, -1 for any) from / to ``cidr`` or the members of
    ``remote_group_id``. ``fingerprint`` spells the rule out, unique per group, so a
    duplicate never gets in, also when two requests add it at once."""

    __tablename__ = "security_group_rules"
    __table_args__ = (UniqueConstraint("group_id", "fingerprint"), MYSQL)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(7))  # ingress | egress
    protocol: Mapped[str | None] = mapped_column(String(8))
    port_min: Mapped[int | None] = mapped_column(Integer)
    port_max: Mapped[int | None] = mapped_column(Integer)
    cidr: Mapped[str | None] = mapped_column(String(43))
    remote_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True)
    description: Mapped[str | None] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FloatingIP(Base):
    """A public address of the floating range: one row per address, free while
    ``project_id`` is empty. A project takes one with a compare-and-swap
    (``allocation_id`` names that allocation: its EC2 ``eipalloc-`` ID maps to it),
    and associates it with one instance's fixed address (``association_id``:
    ``eipassoc-``)."""

    __tablename__ = "floating_ips"
    __table_args__ = MYSQL
    address: Mapped[str] = mapped_column(String(39), primary_key=True)
    pool: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(64), index=True)
    allocation_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    instance_uuid: Mapped[str | None] = mapped_column(String(36), index=True)
    fixed_address: Mapped[str | None] = mapped_column(String(39))
    association_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    allocated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    associated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
