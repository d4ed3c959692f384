"""project accounts

Each project's AWS-style account id (issue 11): twelve random digits, EC2's
``OwnerId`` and the account of ARNs. Projects get theirs on first sight
(core.idmap.accounts), so existing databases need no backfill.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import core.db.base


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('project_accounts',
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=12), nullable=False),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('project_id', name=op.f('pk_project_accounts')),
    sa.UniqueConstraint('account_id', name=op.f('uq_project_accounts_account_id')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )


def downgrade() -> None:
    op.drop_table('project_accounts')
