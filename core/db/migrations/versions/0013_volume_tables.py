"""volume tables

Block storage (issue 12): volume types (with Cinder's default type
__DEFAULT__), volumes, their attachments and snapshots, the storage pools
the volume scheduler places them on and the claims it takes there.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 14:56:46.081378
"""
from alembic import op
import sqlalchemy as sa
import core.db.base
import uuid
from datetime import datetime, timezone


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('volume_pools',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('backend', sa.String(length=255), nullable=False),
    sa.Column('availability_zone', sa.String(length=255), nullable=False),
    sa.Column('total_capacity_gb', sa.Float(), nullable=False),
    sa.Column('free_capacity_gb', sa.Float(), nullable=False),
    sa.Column('provisioned_capacity_gb', sa.Integer(), nullable=False),
    sa.Column('max_over_subscription_ratio', sa.Float(), nullable=False),
    sa.Column('thin_provisioning_support', sa.Boolean(), nullable=False),
    sa.Column('thick_provisioning_support', sa.Boolean(), nullable=False),
    sa.Column('reserved_percentage', sa.Integer(), nullable=False),
    sa.Column('capabilities', sa.JSON(), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('disabled_reason', sa.String(length=255), nullable=True),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.db.base.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volume_pools')),
    sa.UniqueConstraint('name', name='uq_volume_pools_name'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('volume_pools', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volume_pools_backend'), ['backend'], unique=False)

    op.create_table('volume_types',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=True),
    sa.Column('is_public', sa.Boolean(), nullable=False),
    sa.Column('extra_specs', sa.JSON(), nullable=False),
    sa.Column('projects', sa.JSON(), nullable=False),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.db.base.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volume_types')),
    sa.UniqueConstraint('name', name='uq_volume_types_name'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    op.create_table('volume_claims',
    sa.Column('volume_id', sa.String(length=36), nullable=False),
    sa.Column('pool_id', sa.Integer(), nullable=False),
    sa.Column('size_gb', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['pool_id'], ['volume_pools.id'], name=op.f('fk_volume_claims_pool_id_volume_pools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('volume_id', name=op.f('pk_volume_claims')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('volume_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volume_claims_pool_id'), ['pool_id'], unique=False)

    op.create_table('volumes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('description', sa.String(length=255), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('attach_status', sa.String(length=32), nullable=False),
    sa.Column('availability_zone', sa.String(length=255), nullable=False),
    sa.Column('volume_type_id', sa.String(length=36), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('snapshot_id', sa.String(length=36), nullable=True),
    sa.Column('source_volid', sa.String(length=36), nullable=True),
    sa.Column('image_id', sa.String(length=36), nullable=True),
    sa.Column('bootable', sa.Boolean(), nullable=False),
    sa.Column('readonly', sa.Boolean(), nullable=False),
    sa.Column('multiattach', sa.Boolean(), nullable=False),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('image_metadata', sa.JSON(), nullable=False),
    sa.Column('migration_status', sa.String(length=32), nullable=True),
    sa.Column('previous_status', sa.String(length=32), nullable=True),
    sa.Column('scheduling', sa.JSON(), nullable=False),
    sa.Column('fault', sa.String(length=1024), nullable=True),
    sa.Column('client_token', sa.String(length=64), nullable=True),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.db.base.UTCDateTime(), nullable=True),
    sa.Column('launched_at', core.db.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['volume_type_id'], ['volume_types.id'], name=op.f('fk_volumes_volume_type_id_volume_types')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volumes')),
    sa.UniqueConstraint('project_id', 'client_token', name='uq_volumes_client_token'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('volumes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volumes_host'), ['host'], unique=False)
        batch_op.create_index(batch_op.f('ix_volumes_name'), ['name'], unique=False)
        batch_op.create_index('ix_volumes_project_created', ['project_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_volumes_snapshot_id'), ['snapshot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_volumes_status'), ['status'], unique=False)

    op.create_table('volume_attachments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('volume_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('instance_uuid', sa.String(length=36), nullable=True),
    sa.Column('attach_status', sa.String(length=32), nullable=False),
    sa.Column('mountpoint', sa.String(length=255), nullable=True),
    sa.Column('attach_mode', sa.String(length=8), nullable=False),
    sa.Column('attached_host', sa.String(length=255), nullable=True),
    sa.Column('connector', sa.JSON(), nullable=True),
    sa.Column('connection_info', sa.JSON(), nullable=True),
    sa.Column('bdm_uuid', sa.String(length=36), nullable=False),
    sa.Column('delete_on_termination', sa.Boolean(), nullable=False),
    sa.Column('tag', sa.String(length=60), nullable=True),
    sa.Column('boot_index', sa.Integer(), nullable=True),
    sa.Column('ec2_device', sa.String(length=255), nullable=True),
    sa.Column('attached_at', core.db.base.UTCDateTime(), nullable=True),
    sa.Column('detached_at', core.db.base.UTCDateTime(), nullable=True),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.db.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['volume_id'], ['volumes.id'], name=op.f('fk_volume_attachments_volume_id_volumes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volume_attachments')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('volume_attachments', schema=None) as batch_op:
        batch_op.create_index('ix_volume_attachments_instance', ['instance_uuid'], unique=False)
        batch_op.create_index(batch_op.f('ix_volume_attachments_volume_id'), ['volume_id'], unique=False)

    op.create_table('volume_snapshots',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('volume_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('description', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('progress', sa.String(length=8), nullable=False),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('fault', sa.String(length=1024), nullable=True),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.db.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['volume_id'], ['volumes.id'], name=op.f('fk_volume_snapshots_volume_id_volumes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volume_snapshots')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('volume_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volume_snapshots_name'), ['name'], unique=False)
        batch_op.create_index('ix_volume_snapshots_project_created', ['project_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_volume_snapshots_volume_id'), ['volume_id'], unique=False)

    types = sa.table('volume_types', sa.column('id', sa.String), sa.column('name', sa.String),
                     sa.column('description', sa.String), sa.column('is_public', sa.Boolean),
                     sa.column('extra_specs', sa.JSON), sa.column('projects', sa.JSON),
                     sa.column('created_at', core.db.base.UTCDateTime()))
    op.bulk_insert(types, [{'id': str(uuid.uuid4()), 'name': '__DEFAULT__',
                            'description': 'Default Volume Type', 'is_public': True,
                            'extra_specs': {}, 'projects': [],
                            'created_at': datetime.now(timezone.utc)}])


def downgrade() -> None:
    # whole tables, children first: MariaDB refuses to drop an index a
    # foreign key needs (1553) while the table lives
    for table in ('volume_snapshots', 'volume_attachments', 'volumes', 'volume_claims',
                  'volume_types', 'volume_pools'):
        op.drop_table(table)
