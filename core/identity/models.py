"""Identity tables: domains, projects, users, groups, roles, assignments,
catalog, credentials, application credentials, token revocation events, and
the identity revision that validated tokens are cached against."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import MYSQL, Base, UTCDateTime, new_id, utcnow

ID = String(64)
NAME = String(255)


class Domain(Base):
    __tablename__ = "domains"
    __table_args__ = MYSQL
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("domain_id", "name"), MYSQL)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(NAME, index=True)
    domain_id: Mapped[str] = mapped_column(ID, ForeignKey("domains.id"), index=True)
    parent_id: Mapped[str | None] = mapped_column(ID, ForeignKey("projects.id"), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("domain_id", "name"), MYSQL)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(NAME, index=True)
    domain_id: Mapped[str] = mapped_column(ID, ForeignKey("domains.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(128))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    default_project_id: Mapped[str | None] = mapped_column(ID)
    description: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(NAME)
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Group(Base):
    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("domain_id", "name"), MYSQL)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(NAME, index=True)
    domain_id: Mapped[str] = mapped_column(ID, ForeignKey("domains.id"), index=True)
    description: Mapped[str | None] = mapped_column(Text)


class GroupMembership(Base):
    __tablename__ = "group_memberships"
    __table_args__ = MYSQL
    user_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    group_id: Mapped[str] = mapped_column(ID, ForeignKey("groups.id", ondelete="CASCADE"),
                                          primary_key=True, index=True)


class Role(Base):
    __tablename__ = "roles"
    __table_args__ = MYSQL
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    description: Mapped[str | None] = mapped_column(Text)


class ImpliedRole(Base):
    __tablename__ = "implied_roles"
    __table_args__ = MYSQL
    prior_role_id: Mapped[str] = mapped_column(ID, ForeignKey("roles.id", ondelete="CASCADE"),
                                               primary_key=True)
    implied_role_id: Mapped[str] = mapped_column(ID, ForeignKey("roles.id", ondelete="CASCADE"),
                                                 primary_key=True)


class Assignment(Base):
    """A role granted to an actor (user or group) on a target (project or domain)."""

    __tablename__ = "assignments"
    __table_args__ = (Index("ix_assignments_target", "target_id"), MYSQL)
    type: Mapped[str] = mapped_column(String(16), primary_key=True)  # UserProject, ...
    actor_id: Mapped[str] = mapped_column(ID, primary_key=True)
    target_id: Mapped[str] = mapped_column(ID, primary_key=True)
    role_id: Mapped[str] = mapped_column(ID, ForeignKey("roles.id", ondelete="CASCADE"),
                                         primary_key=True)


class Region(Base):
    __tablename__ = "regions"
    __table_args__ = MYSQL
    id: Mapped[str] = mapped_column(NAME, primary_key=True)
    description: Mapped[str | None] = mapped_column(Text)
    parent_region_id: Mapped[str | None] = mapped_column(NAME)


class Service(Base):
    __tablename__ = "services"
    __table_args__ = MYSQL
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(NAME, index=True)
    name: Mapped[str | None] = mapped_column(NAME)
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class Endpoint(Base):
    __tablename__ = "endpoints"
    __table_args__ = MYSQL
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    service_id: Mapped[str] = mapped_column(ID, ForeignKey("services.id", ondelete="CASCADE"),
                                            index=True)
    interface: Mapped[str] = mapped_column(String(8))
    region_id: Mapped[str | None] = mapped_column(NAME, ForeignKey("regions.id"))
    url: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class Credential(Base):
    """A stored credential; EC2 ones have id = sha256(access) and an encrypted blob."""

    __tablename__ = "credentials"
    __table_args__ = MYSQL
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    project_id: Mapped[str | None] = mapped_column(ID, index=True)
    type: Mapped[str] = mapped_column(String(32))
    encrypted_blob: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApplicationCredential(Base):
    __tablename__ = "application_credentials"
    __table_args__ = (UniqueConstraint("user_id", "name"), MYSQL)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(NAME)
    user_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    project_id: Mapped[str] = mapped_column(ID, ForeignKey("projects.id", ondelete="CASCADE"))
    secret_hash: Mapped[str] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unrestricted: Mapped[bool] = mapped_column(Boolean, default=False)
    role_ids: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RevocationEvent(Base):
    """Tokens matching an event are invalid: by audit id, or by user/project
    for every token issued at or before ``issued_before``."""

    __tablename__ = "revocation_events"
    __table_args__ = MYSQL
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    audit_id: Mapped[str | None] = mapped_column(String(32), index=True)
    user_id: Mapped[str | None] = mapped_column(ID, index=True)
    project_id: Mapped[str | None] = mapped_column(ID, index=True)
    app_cred_id: Mapped[str | None] = mapped_column(ID, index=True)
    issued_before: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class IdentityRevision(Base):
    """One row (id 1) whose revision moves on, in the same transaction, with every
    write to a table that a token validation or the catalog reads
    (core.identity.revision): what validated tokens are cached against."""

    __tablename__ = "identity_revision"
    __table_args__ = MYSQL
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
