"""What the scheduler places instances on: compute nodes and their allocations,
and the log of node changes the schedulers' in-memory host states follow.

A node's ``generation`` is bumped by every claim or release. A claim is one
conditional UPDATE that re-checks the room left (and, when asked, the
generation), so two schedulers never both take the last room on a host.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import MYSQL, Base, UTCDateTime, new_uuid, utcnow


class ComputeNode(Base):
    __tablename__ = "compute_nodes"
    __table_args__ = MYSQL
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    host: Mapped[str] = mapped_column(String(255), unique=True)
    hypervisor_hostname: Mapped[str] = mapped_column(String(255))
    hypervisor_type: Mapped[str] = mapped_column(String(64), default="fake")
    hypervisor_version: Mapped[int] = mapped_column(Integer, default=1000)
    architecture: Mapped[str] = mapped_column(String(32), default="x86_64")
    host_ip: Mapped[str] = mapped_column(String(39), default="127.0.0.1")
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova")
    # Capabilities ComputeCapabilitiesFilter matches flavor extra_specs against.
    capabilities: Mapped[dict] = mapped_column(JSON, default=dict)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    local_gb: Mapped[int] = mapped_column(Integer)
    cpu_allocation_ratio: Mapped[float] = mapped_column(Float, default=4.0)
    ram_allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    disk_allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    vcpus_used: Mapped[int] = mapped_column(Integer, default=0)
    memory_mb_used: Mapped[int] = mapped_column(Integer, default=0)
    local_gb_used: Mapped[int] = mapped_column(Integer, default=0)
    running_vms: Mapped[int] = mapped_column(Integer, default=0)
    # Consecutive failed builds (BuildFailureWeigher); reset by a successful one.
    failed_builds: Mapped[int] = mapped_column(Integer, default=0)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Allocation(Base):
    """Resources a consumer (an instance, or a resize's source side) holds on a node."""

    __tablename__ = "allocations"
    __table_args__ = MYSQL
    consumer_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("compute_nodes.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    disk_gb: Mapped[int] = mapped_column(Integer)
    project_id: Mapped[str | None] = mapped_column(String(64))
    # The conductor flow that took the claim for a build (its scheduling request's
    # id), or None for a claim that belongs to the instance itself. A flow
    # releases only its own claims: a duplicate delivery of a build never takes
    # the claim of the live flow it duplicates.
    holder: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HostChange(Base):
    """One change to what the schedulers know of a compute node: its usage (a
    claim or a release), its report, its service (enabled, forced down), its
    aggregates; or its removal. Written in the transaction that makes the change
    (``core.placement.changes``); each scheduler reads the rows past the last one
    it has seen and reloads only those nodes."""

    __tablename__ = "host_changes"
    # AUTOINCREMENT: SQLite must never hand out a number again once the rows
    # below it are pruned (readers remember the last one they saw).
    __table_args__ = {**MYSQL, "sqlite_autoincrement": True}
    # 64 bits: a busy cloud makes thousands of changes a second.
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                     primary_key=True, autoincrement=True)
    node_id: Mapped[int] = mapped_column(Integer)
