"""allocation holder

A claim made for a build belongs to the conductor flow that asked the scheduler
for it (issue 10): a duplicate delivery of the same build may release only the
claims it took itself.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 09:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('allocations') as batch:
        batch.add_column(sa.Column('holder', sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('allocations') as batch:
        batch.drop_column('holder')
