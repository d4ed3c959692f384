"""Database access: models' declarative base, engine/session factory, migrations."""

from core.db.base import Base
from core.db.engine import Database

__all__ = ["Base", "Database"]
