"""Compute records: flavors, key pairs, instances and what hangs off them,
server groups and the services (compute hosts) registry."""

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
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import MYSQL, Base, UTCDateTime, new_uuid, utcnow


class Flavor(Base):
    __tablename__ = "flavors"
    __table_args__ = MYSQL
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flavorid: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer, default=0)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    swap: Mapped[int] = mapped_column(Integer, default=0)
    rxtx_factor: Mapped[float] = mapped_column(Float, default=1.0)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)
    extra_specs: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FlavorProject(Base):
    """Which projects may use a private flavor."""

    __tablename__ = "flavor_projects"
    __table_args__ = MYSQL
    flavor_id: Mapped[int] = mapped_column(ForeignKey("flavors.id", ondelete="CASCADE"),
                                           primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class KeyPair(Base):
    __tablename__ = "key_pairs"
    __table_args__ = (UniqueConstraint("user_id", "name"), MYSQL)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    project_id: Mapped[str | None] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(10), default="ssh")
    fingerprint: Mapped[str] = mapped_column(String(255))
    public_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Instance(Base):
    """A server. Rows stay after deletion (``deleted_at`` set, vm_state ``deleted``)
    so that EC2 can show terminated instances for a while and actions keep history."""

    __tablename__ = "instances"
    __table_args__ = (
        # The server lists' default order (newest first) within a project, read in
        # index order with no sort (migration 0019).
        Index("ix_instances_project_listing", "project_id", "deleted", "created_at", "id"),
        # a sort key of GET /servers (a TEXT column: MySQL indexes a prefix)
        Index("ix_instances_description", "description", mysql_length=255),
                      # EC2 RunInstances' ClientToken: one reservation per token and
                      # project, so two calls racing with one token boot once.
                      UniqueConstraint("project_id", "client_token", "launch_index",
                                       name="uq_instances_client_token"),
                      MYSQL)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    display_name: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    hostname: Mapped[str | None] = mapped_column(String(255), index=True)
    project_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    image_ref: Mapped[str | None] = mapped_column(String(36), index=True)
    # The flavor as it was at boot (Nova embeds it too): flavorid, name, vcpus,
    # memory_mb, root_gb, ephemeral_gb, swap, extra_specs.
    flavor: Mapped[dict] = mapped_column(JSON)
    flavorid: Mapped[str] = mapped_column(String(255), index=True)
    old_flavor: Mapped[dict | None] = mapped_column(JSON)
    new_flavor: Mapped[dict | None] = mapped_column(JSON)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer)
    vm_state: Mapped[str] = mapped_column(String(32), index=True, default="building")
    task_state: Mapped[str | None] = mapped_column(String(32), default="scheduling", index=True)
    power_state: Mapped[int] = mapped_column(Integer, default=0, index=True)
    host: Mapped[str | None] = mapped_column(String(255), index=True)
    node: Mapped[str | None] = mapped_column(String(255), index=True)
    source_host: Mapped[str | None] = mapped_column(String(255))
    availability_zone: Mapped[str | None] = mapped_column(String(255), index=True)
    requested_availability_zone: Mapped[str | None] = mapped_column(String(255))
    key_name: Mapped[str | None] = mapped_column(String(255), index=True)
    key_data: Mapped[str | None] = mapped_column(Text)
    user_data: Mapped[str | None] = mapped_column(Text)
    metadata_items: Mapped[dict] = mapped_column(JSON, default=dict)
    security_groups: Mapped[list] = mapped_column(JSON, default=list)
    # The networks asked for at boot, resolved by the API: [{"network_id", "fixed_ip"}
    # | {"port_id"}], made into (or bound as) the server's ports when it is built.
    requested_networks: Mapped[list | None] = mapped_column(JSON)
    scheduler_hints: Mapped[dict] = mapped_column(JSON, default=dict)
    reservation_id: Mapped[str] = mapped_column(String(255), index=True)
    launch_index: Mapped[int] = mapped_column(Integer, default=0, index=True)
    config_drive: Mapped[str] = mapped_column(String(255), default="", index=True)
    access_ip_v4: Mapped[str | None] = mapped_column(String(39), index=True)
    access_ip_v6: Mapped[str | None] = mapped_column(String(39), index=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    locked_by: Mapped[str | None] = mapped_column(String(10), index=True)
    locked_reason: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[int] = mapped_column(Integer, default=0, index=True)
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Whether the instance still counts against its project's quota (a failed
    # build releases its quota at once; deleting it later must not release twice).
    quota_held: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on every state change; writers compare-and-swap on it.
    generation: Mapped[int] = mapped_column(Integer, default=0)
    # EC2 RunInstances' idempotency token (None for other boots) and a digest of
    # the request it came with, to tell a retry from a different request.
    client_token: Mapped[str | None] = mapped_column(String(64))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    # Nova's system metadata: what the cloud keeps about the instance for itself
    # (shelved_image_id, shelved_at, shelved_host while it is shelved).
    system_metadata: Mapped[dict | None] = mapped_column(JSON)


class InstanceTag(Base):
    __tablename__ = "instance_tags"
    __table_args__ = MYSQL
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(80), primary_key=True, index=True)


class InstanceFault(Base):
    __tablename__ = "instance_faults"
    __table_args__ = MYSQL
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), index=True)
    code: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(255))
    details: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InstanceAction(Base):
    __tablename__ = "instance_actions"
    __table_args__ = MYSQL
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str | None] = mapped_column(String(64))
    project_id: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(String(255))
    start_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finish_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InstanceActionEvent(Base):
    __tablename__ = "instance_action_events"
    __table_args__ = MYSQL
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("instance_actions.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(255))
    result: Mapped[str | None] = mapped_column(String(255))
    traceback: Mapped[str | None] = mapped_column(Text)
    details: Mapped[str | None] = mapped_column(Text)  # Nova's, shown from 2.84
    host: Mapped[str | None] = mapped_column(String(255))
    start_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finish_time: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Migration(Base):
    """A move of an instance between hosts (Nova's migrations table): a resize,
    a cold migration, a live migration or an evacuation, with its status."""

    __tablename__ = "migrations"
    __table_args__ = (Index("ix_migrations_instance_status", "instance_uuid", "status"),
                      MYSQL)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    project_id: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(64))
    # resize, migration, live-migration, evacuation
    migration_type: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    source_compute: Mapped[str | None] = mapped_column(String(255), index=True)
    source_node: Mapped[str | None] = mapped_column(String(255))
    dest_compute: Mapped[str | None] = mapped_column(String(255))
    dest_node: Mapped[str | None] = mapped_column(String(255))
    dest_host: Mapped[str | None] = mapped_column(String(255))
    old_instance_type_id: Mapped[int | None] = mapped_column(Integer)
    new_instance_type_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ServerGroup(Base):
    __tablename__ = "server_groups"
    __table_args__ = MYSQL
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    policy: Mapped[str] = mapped_column(String(32))
    rules: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServerGroupMember(Base):
    __tablename__ = "server_group_members"
    __table_args__ = MYSQL
    group_id: Mapped[int] = mapped_column(ForeignKey("server_groups.id", ondelete="CASCADE"),
                                          primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)


class ComputeService(Base):
    """A control-plane service on a host: nova-compute agents, conductors, schedulers."""

    __tablename__ = "compute_services"
    # The indexes answer the schedulers' "which hosts are disabled, forced down or
    # silent" at each request, reading only those hosts' entries.
    __table_args__ = (UniqueConstraint("host", "binary"),
                      Index("ix_compute_services_binary_last_seen_up", "binary", "last_seen_up"),
                      Index("ix_compute_services_binary_disabled", "binary", "disabled"),
                      Index("ix_compute_services_binary_forced_down", "binary", "forced_down"),
                      MYSQL)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    host: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(64))
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    forced_down: Mapped[bool] = mapped_column(Boolean, default=False)
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    last_seen_up: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Aggregate(Base):
    """A host aggregate: a named group of compute hosts with metadata; its
    ``availability_zone`` metadata puts its hosts in that zone."""

    __tablename__ = "aggregates"
    __table_args__ = MYSQL
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AggregateHost(Base):
    __tablename__ = "aggregate_hosts"
    __table_args__ = MYSQL
    aggregate_id: Mapped[int] = mapped_column(ForeignKey("aggregates.id", ondelete="CASCADE"),
                                              primary_key=True)
    host: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class AggregateMetadata(Base):
    __tablename__ = "aggregate_metadata"
    __table_args__ = MYSQL
    aggregate_id: Mapped[int] = mapped_column(ForeignKey("aggregates.id", ondelete="CASCADE"),
                                              primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)
    value: Mapped[str] = mapped_column(String(255))


class InstancePassword(Base):
    """The encrypted password a guest posted (os-server-password); Nova keeps it in
    the instance's system metadata."""

    __tablename__ = "instance_passwords"
    __table_args__ = MYSQL
    instance_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    password: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsoleAuthToken(Base):
    """A remote console's access token (Nova's console_auth_tokens): only its
    hash is kept; it opens the console of one instance until it expires."""

    __tablename__ = "console_auth_tokens"
    __table_args__ = MYSQL
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(255), unique=True)
    console_type: Mapped[str] = mapped_column(String(255))
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    expires: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
