"""host changes log for the schedulers' in-memory host states

Every change to what a scheduler knows of a compute node (a claim, a release,
an agent's report, a deleted service, an aggregate) appends a
row; each scheduler reloads only the nodes of the rows it has not seen. The
indexes on compute_services find the hosts that are disabled, forced down or
stopped reporting without reading every service.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 01:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('host_changes',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
              nullable=False),
    sa.Column('node_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_host_changes')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin',
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('compute_services', schema=None) as batch_op:
        batch_op.create_index('ix_compute_services_binary_last_seen_up',
                              ['binary', 'last_seen_up'], unique=False)
        batch_op.create_index('ix_compute_services_binary_disabled',
                              ['binary', 'disabled'], unique=False)
        batch_op.create_index('ix_compute_services_binary_forced_down',
                              ['binary', 'forced_down'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('compute_services', schema=None) as batch_op:
        batch_op.drop_index('ix_compute_services_binary_forced_down')
        batch_op.drop_index('ix_compute_services_binary_disabled')
        batch_op.drop_index('ix_compute_services_binary_last_seen_up')
    op.drop_table('host_changes')
