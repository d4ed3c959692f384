"""ec2 instance fields

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 12:40:00.000000
"""
from alembic import op
import sqlalchemy as sa
import core.db.base


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # RunInstances' ClientToken and a digest of the request it came with; one
    # reservation per (project, token): its instances differ by launch_index.
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_token', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('request_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_instances_client_token',
                                          ['project_id', 'client_token', 'launch_index'])


def downgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_constraint('uq_instances_client_token', type_='unique')
        batch_op.drop_column('request_hash')
        batch_op.drop_column('client_token')
