"""The block storage model, as Cinder's: volumes of a type, placed on a pool of
a storage back end, their snapshots and attachments to instances.

A volume's ``status`` moves by compare-and-swap only (an UPDATE conditioned on
the status it is expected to have), so two attaches of one volume never both
win. ``attach_status`` is kept beside it, as Cinder keeps it.

Pools are what the volume scheduler places volumes on. Their reported figures
(total, free, thin support, capabilities) come from the back ends' reports;
``provisioned_capacity_gb`` is the sum of the claims on the pool, changed only
with a claim row (``volume_claims``) in the same transaction, so it always
equals the sum of the pool's volumes' sizes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import MYSQL, Base, UTCDateTime, new_uuid, utcnow

DEFAULT_TYPE = "__DEFAULT__"


class VolumeType(Base):
    __tablename__ = "volume_types"
    __table_args__ = (UniqueConstraint("name", name="uq_volume_types_name"), MYSQL)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    extra_specs: Mapped[dict] = mapped_column(JSON, default=dict)
    # projects a private type is shared with
    projects: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Volume(Base):
    __tablename__ = "volumes"
    __table_args__ = (
        Index("ix_volumes_project_created", "project_id", "created_at"),
        UniqueConstraint("project_id", "client_token", name="uq_volumes_client_token"),
        MYSQL)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    project_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str | None] = mapped_column(String(255), index=True)
    description: Mapped[str | None] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32), default="creating", index=True)
    attach_status: Mapped[str] = mapped_column(String(32), default="detached")
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova")
    volume_type_id: Mapped[str] = mapped_column(ForeignKey("volume_types.id"))
    # the pool it is placed on: host@backend#pool (None until scheduled)
    host: Mapped[str | None] = mapped_column(String(255), index=True)
    snapshot_id: Mapped[str | None] = mapped_column(String(36), index=True)
    source_volid: Mapped[str | None] = mapped_column(String(36))
    image_id: Mapped[str | None] = mapped_column(String(36))
    bootable: Mapped[bool] = mapped_column(Boolean, default=False)
    readonly: Mapped[bool] = mapped_column(Boolean, default=False)
    multiattach: Mapped[bool] = mapped_column(Boolean, default=False)
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    image_metadata: Mapped[dict] = mapped_column(JSON, default=dict)
    migration_status: Mapped[str | None] = mapped_column(String(32))
    # the status an extend returns to (available or in-use)
    previous_status: Mapped[str | None] = mapped_column(String(32))
    # scheduling: hosts tried and the reason of the last failure
    scheduling: Mapped[dict] = mapped_column(JSON, default=dict)
    fault: Mapped[str | None] = mapped_column(String(1024))
    # EC2's idempotency token of the CreateVolume that made it
    client_token: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class VolumeAttachment(Base):
    """Cinder's attachment, holding what Nova keeps in its block device mapping
    too (device, delete_on_termination, tag, boot index)."""

    __tablename__ = "volume_attachments"
    __table_args__ = (Index("ix_volume_attachments_instance", "instance_uuid"), MYSQL)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    volume_id: Mapped[str] = mapped_column(ForeignKey("volumes.id", ondelete="CASCADE"),
                                           index=True)
    project_id: Mapped[str] = mapped_column(String(64), default="")
    instance_uuid: Mapped[str | None] = mapped_column(String(36))
    # reserved, attaching, attached, detaching, error_attaching, error_detaching
    attach_status: Mapped[str] = mapped_column(String(32), default="reserved")
    mountpoint: Mapped[str | None] = mapped_column(String(255))
    attach_mode: Mapped[str] = mapped_column(String(8), default="rw")
    attached_host: Mapped[str | None] = mapped_column(String(255))
    connector: Mapped[dict | None] = mapped_column(JSON)
    connection_info: Mapped[dict | None] = mapped_column(JSON)
    # Nova's side of it (the block device mapping)
    bdm_uuid: Mapped[str] = mapped_column(String(36), default=new_uuid)
    delete_on_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    tag: Mapped[str | None] = mapped_column(String(60))
    boot_index: Mapped[int | None] = mapped_column(Integer)
    # the device name an EC2 client asked for (/dev/sdf), echoed on the EC2 side
    ec2_device: Mapped[str | None] = mapped_column(String(255))
    attached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Snapshot(Base):
    __tablename__ = "volume_snapshots"
    __table_args__ = (Index("ix_volume_snapshots_project_created", "project_id",
                            "created_at"), MYSQL)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    project_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64), default="")
    volume_id: Mapped[str] = mapped_column(ForeignKey("volumes.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(255), index=True)
    description: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32), default="creating")
    size: Mapped[int] = mapped_column(Integer)
    progress: Mapped[str] = mapped_column(String(8), default="0%")
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    # the pool of its volume, where the back end keeps it
    host: Mapped[str | None] = mapped_column(String(255))
    fault: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class VolumePool(Base):
    """A pool of a storage back end, as the back end last reported it."""

    __tablename__ = "volume_pools"
    __table_args__ = (UniqueConstraint("name", name="uq_volume_pools_name"), MYSQL)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255))  # host@backend#pool
    backend: Mapped[str] = mapped_column(String(255), index=True)  # host@backend
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova")
    total_capacity_gb: Mapped[float] = mapped_column(Float, default=0.0)
    free_capacity_gb: Mapped[float] = mapped_column(Float, default=0.0)
    # claimed: the sum of the sizes of the volumes placed on it
    provisioned_capacity_gb: Mapped[int] = mapped_column(Integer, default=0)
    max_over_subscription_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    thin_provisioning_support: Mapped[bool] = mapped_column(Boolean, default=False)
    thick_provisioning_support: Mapped[bool] = mapped_column(Boolean, default=True)
    reserved_percentage: Mapped[int] = mapped_column(Integer, default=0)
    # backend-level keys (volume_backend_name, storage_protocol, ...) and custom ones
    capabilities: Mapped[dict] = mapped_column(JSON, default=dict)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last report


class VolumeClaim(Base):
    """The capacity one volume holds on its pool; its row and the pool's counter
    change in one transaction."""

    __tablename__ = "volume_claims"
    __table_args__ = MYSQL
    volume_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("volume_pools.id", ondelete="CASCADE"),
                                         index=True)
    size_gb: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
