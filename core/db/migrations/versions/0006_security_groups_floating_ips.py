"""security groups and floating ips

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 12:40:00.000000
"""
from alembic import op
import sqlalchemy as sa
import core.db.base


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('floating_ips',
    sa.Column('address', sa.String(length=39), nullable=False),
    sa.Column('pool', sa.String(length=255), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=True),
    sa.Column('allocation_id', sa.String(length=36), nullable=True),
    sa.Column('instance_uuid', sa.String(length=36), nullable=True),
    sa.Column('fixed_address', sa.String(length=39), nullable=True),
    sa.Column('association_id', sa.String(length=36), nullable=True),
    sa.Column('allocated_at', core.db.base.UTCDateTime(), nullable=True),
    sa.Column('associated_at', core.db.base.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('address', name=op.f('pk_floating_ips')),
    sa.UniqueConstraint('allocation_id', name=op.f('uq_floating_ips_allocation_id')),
    sa.UniqueConstraint('association_id', name=op.f('uq_floating_ips_association_id')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('floating_ips', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_floating_ips_instance_uuid'), ['instance_uuid'], unique=False)
        batch_op.create_index(batch_op.f('ix_floating_ips_project_id'), ['project_id'], unique=False)

    op.create_table('security_groups',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.db.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_security_groups')),
    sa.UniqueConstraint('project_id', 'name', name=op.f('uq_security_groups_project_id_name')),
    sa.UniqueConstraint('uuid', name=op.f('uq_security_groups_uuid')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    op.create_table('security_group_rules',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=7), nullable=False),
    sa.Column('protocol', sa.String(length=8), nullable=True),
    sa.Column('port_min', sa.Integer(), nullable=True),
    sa.Column('port_max', sa.Integer(), nullable=True),
    sa.Column('cidr', sa.String(length=43), nullable=True),
    sa.Column('remote_group_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.String(length=255), nullable=True),
    sa.Column('fingerprint', sa.String(length=160), nullable=False),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['security_groups.id'], name=op.f('fk_security_group_rules_group_id_security_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['remote_group_id'], ['security_groups.id'], name=op.f('fk_security_group_rules_remote_group_id_security_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_security_group_rules')),
    sa.UniqueConstraint('group_id', 'fingerprint', name=op.f('uq_security_group_rules_group_id_fingerprint')),
    sa.UniqueConstraint('uuid', name=op.f('uq_security_group_rules_uuid')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('security_group_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_security_group_rules_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_security_group_rules_remote_group_id'), ['remote_group_id'], unique=False)


def downgrade() -> None:
    # Dropping the table drops its indexes (MariaDB refuses to drop an index a
    # foreign key still needs).
    op.drop_table('security_group_rules')
    op.drop_table('security_groups')
    with op.batch_alter_table('floating_ips', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_floating_ips_project_id'))
        batch_op.drop_index(batch_op.f('ix_floating_ips_instance_uuid'))

    op.drop_table('floating_ips')
