"""The declarative base shared by every domain's models (one metadata for Alembic)."""

from __future__ import annotations

import uuid
from datetime import UTC

from sqlalchemy import DateTime, MetaData, TypeDecorator
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase

from core.clock import utcnow

__all__ = ["MYSQL", "Base", "UTCDateTime", "new_id", "new_uuid", "utcnow"]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Every table's options on MySQL / MariaDB: 4-byte UTF-8 and exact (binary,
# no-pad) comparison, so names that differ in case or trailing spaces differ.
MYSQL = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_nopad_bin"}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite and MySQL drop tzinfo)."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        # MySQL's DATETIME keeps whole seconds unless told otherwise.
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=False))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def new_id() -> str:
    """A new resource id: 32 lower-case hex digits, as Keystone uses."""
    return uuid.uuid4().hex


def new_uuid() -> str:
    """A new resource id in the dashed UUID form (Nova's and Glance's)."""
    return str(uuid.uuid4())
