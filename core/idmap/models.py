"""The EC2 ID mapping (one row per OpenStack object that has an EC2 ID), the
EC2 tags of kinds that have no key/value store of their own, and each
project's AWS-style account id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import MYSQL, Base, UTCDateTime, utcnow


class Ec2Id(Base):
    """``ec2_id`` (``i-0a1b2c3d4e5f60718``) names the object of ``kind`` whose
    OpenStack identifier is ``os_uuid``, owned by ``project_id``.

    Each object has at most one EC2 ID (unique kind + os_uuid) and each EC2 ID
    names one object (the primary key). Rows are never rewritten: an ID is
    stable for the object's life.
    """

    __tablename__ = "ec2_ids"
    __table_args__ = (UniqueConstraint("kind", "os_uuid"), MYSQL)
    ec2_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    os_uuid: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Ec2Tag(Base):
    """One EC2 tag (``key`` = ``value``) that project ``project_id`` put on the
    object of ``kind`` (an :class:`~core.idmap.ids.Kind` value) whose OpenStack
    id is ``os_uuid``.

    Tags are private to the project that set them, as AWS keeps an account's
    tags on a shared AMI to itself: another project tagging the same image
    has rows of its own. Instances keep theirs as server name and metadata
    instead (see ``core.tagging``).
    """

    __tablename__ = "ec2_tags"
    __table_args__ = (UniqueConstraint("kind", "os_uuid", "project_id", "key"),
                      Index("ix_ec2_tags_project_id_kind", "project_id", "kind"), MYSQL)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    os_uuid: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    value: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProjectAccount(Base):
    """``account_id`` (twelve decimal digits, as AWS's) names project
    ``project_id`` in the EC2 dialect: the ``OwnerId`` of its objects and the
    account field of their ARNs.

    Each project has at most one (the primary key) and each account id names
    one project (unique). Rows are never rewritten nor deleted, not even with
    the project, so an account id is never handed to another project.
    """

    __tablename__ = "project_accounts"
    __table_args__ = (UniqueConstraint("account_id"), MYSQL)
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
