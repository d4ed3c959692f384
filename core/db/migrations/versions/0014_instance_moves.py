"""instance moves

Shelve, migrations and evacuations (nova-move): instances keep Nova's system
metadata (the shelved image, host and time), and every move between hosts
(resize, cold and live migration, evacuation) is a row of ``migrations``, as
``GET /os-migrations`` lists them.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 19:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import core.db.base


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('instances') as batch:
        batch.add_column(sa.Column('system_metadata', sa.JSON(), nullable=True))
    op.create_table('migrations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('instance_uuid', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=True),
    sa.Column('user_id', sa.String(length=64), nullable=True),
    sa.Column('migration_type', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('source_compute', sa.String(length=255), nullable=True),
    sa.Column('source_node', sa.String(length=255), nullable=True),
    sa.Column('dest_compute', sa.String(length=255), nullable=True),
    sa.Column('dest_node', sa.String(length=255), nullable=True),
    sa.Column('dest_host', sa.String(length=255), nullable=True),
    sa.Column('old_instance_type_id', sa.Integer(), nullable=True),
    sa.Column('new_instance_type_id', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.db.base.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_migrations')),
    sa.UniqueConstraint('uuid', name=op.f('uq_migrations_uuid')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('migrations', schema=None) as batch_op:
        batch_op.create_index('ix_migrations_instance_status', ['instance_uuid', 'status'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_migrations_instance_uuid'), ['instance_uuid'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_migrations_migration_type'), ['migration_type'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_migrations_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_migrations_source_compute'), ['source_compute'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_migrations_created_at'), ['created_at'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('migrations')
    with op.batch_alter_table('instances') as batch:
        batch.drop_column('system_metadata')
