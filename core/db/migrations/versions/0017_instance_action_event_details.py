"""instance action event details

Nova's ``details`` of an instance action event (shown from compute API 2.84):
why an action failed, in words a non-admin may read.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 22:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('instance_action_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('details', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('instance_action_events', schema=None) as batch_op:
        batch_op.drop_column('details')
