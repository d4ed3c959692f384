"""ec2 tags

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 12:40:00.000000
"""
from alembic import op
import sqlalchemy as sa
import core.db.base


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ec2_tags',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('os_uuid', sa.String(length=64), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('value', sa.String(length=256), nullable=False),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ec2_tags')),
    sa.UniqueConstraint('kind', 'os_uuid', 'project_id', 'key',
                        name=op.f('uq_ec2_tags_kind_os_uuid_project_id_key')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    op.create_index('ix_ec2_tags_project_id_kind', 'ec2_tags', ['project_id', 'kind'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_ec2_tags_project_id_kind', table_name='ec2_tags')
    op.drop_table('ec2_tags')
