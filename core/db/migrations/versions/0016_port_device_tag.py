"""ports.device_tag: the device tag a server's interface was attached with

Nova keeps an attached interface's ``tag`` (os-interface 2.49, shown from 2.70)
with the server's virtual interface; here the compute-made port record holds it,
beside ``compute_made``.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 21:45:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ports') as batch:
        batch.add_column(sa.Column('device_tag', sa.String(length=60), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ports') as batch:
        batch.drop_column('device_tag')
