"""aggregates, console tokens, server passwords

Host aggregates (issue 13) with their hosts and metadata, the remote
consoles' access tokens and the passwords guests post (os-server-password).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 19:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import core.db.base


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('aggregates',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.db.base.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_aggregates')),
    sa.UniqueConstraint('name', name=op.f('uq_aggregates_name')),
    sa.UniqueConstraint('uuid', name=op.f('uq_aggregates_uuid')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    op.create_table('aggregate_hosts',
    sa.Column('aggregate_id', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['aggregate_id'], ['aggregates.id'], name=op.f('fk_aggregate_hosts_aggregate_id_aggregates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('aggregate_id', 'host', name=op.f('pk_aggregate_hosts')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('aggregate_hosts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_aggregate_hosts_host'), ['host'], unique=False)

    op.create_table('aggregate_metadata',
    sa.Column('aggregate_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['aggregate_id'], ['aggregates.id'], name=op.f('fk_aggregate_metadata_aggregate_id_aggregates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('aggregate_id', 'key', name=op.f('pk_aggregate_metadata')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('aggregate_metadata', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_aggregate_metadata_key'), ['key'], unique=False)

    op.create_table('instance_passwords',
    sa.Column('instance_uuid', sa.String(length=36), nullable=False),
    sa.Column('password', sa.Text(), nullable=False),
    sa.Column('updated_at', core.db.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('instance_uuid', name=op.f('pk_instance_passwords')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    op.create_table('console_auth_tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('token_hash', sa.String(length=255), nullable=False),
    sa.Column('console_type', sa.String(length=255), nullable=False),
    sa.Column('instance_uuid', sa.String(length=36), nullable=False),
    sa.Column('expires', core.db.base.UTCDateTime(), nullable=False),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_auth_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_console_auth_tokens_token_hash')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('console_auth_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_auth_tokens_expires'), ['expires'], unique=False)
        batch_op.create_index(batch_op.f('ix_console_auth_tokens_instance_uuid'), ['instance_uuid'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('console_auth_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_auth_tokens_instance_uuid'))
        batch_op.drop_index(batch_op.f('ix_console_auth_tokens_expires'))

    op.drop_table('console_auth_tokens')
    op.drop_table('instance_passwords')
    with op.batch_alter_table('aggregate_metadata', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_aggregate_metadata_key'))

    op.drop_table('aggregate_metadata')
    with op.batch_alter_table('aggregate_hosts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_aggregate_hosts_host'))

    op.drop_table('aggregate_hosts')
    op.drop_table('aggregates')
