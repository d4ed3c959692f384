"""Alembic migrations: the schema they build is the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, String, inspect

import core.db.migrations.all_models  # noqa: F401  (every table into Base.metadata)
from core.db.base import Base
from core.db.migrate import alembic_config, downgrade, upgrade

MODEL_TABLES = set(Base.metadata.tables)
VERSION_TABLE = "alembic_version"


def tables(db) -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {VERSION_TABLE}


def current_revision(db) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(db) -> str:
    return ScriptDirectory.from_config(alembic_config(db.url)).get_current_head()


def schema_differences(db, metadata: MetaData = Base.metadata) -> list:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, metadata)


def test_empty_database_has_no_tables(empty_db):
    assert tables(empty_db) == set()


def test_upgrade_to_head_creates_every_model_table(empty_db):
    upgrade(empty_db)
    assert tables(empty_db) == MODEL_TABLES
    assert current_revision(empty_db) == head_revision(empty_db)


def test_migrated_schema_matches_the_models(db):
    assert schema_differences(db) == []


def test_schema_comparison_notices_a_changed_model(db):
    """Guards the test above against comparing nothing: a model edit shows up."""
    edited = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(edited)
    edited.tables["users"].c.name.type = String(100)
    edited.tables["roles"].c.description.nullable = False
    changed = {(d[0][0], d[0][2], d[0][3]) for d in schema_differences(db, edited)}
    assert changed == {("modify_type", "users", "name"),
                       ("modify_nullable", "roles", "description")}


def test_downgrade_to_base_drops_every_table(db):
    downgrade(db, "base")
    assert tables(db) == set()
    assert current_revision(db) is None


def test_upgrade_twice_is_a_no_op(db):
    upgrade(db)
    assert tables(db) == MODEL_TABLES
    assert current_revision(db) == head_revision(db)
    assert schema_differences(db) == []


def test_upgrade_after_downgrade_rebuilds_the_schema(db):
    downgrade(db, "base")
    upgrade(db)
    assert tables(db) == MODEL_TABLES
    assert schema_differences(db) == []
