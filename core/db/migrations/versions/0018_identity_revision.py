"""identity revision

One row whose revision moves on, in the same transaction, with every write to
a table a token validation or the catalog reads: each API process caches
validated tokens against it (core/identity/revision.py). It starts at a random
value, so that a database made anew never repeats the revisions a running
process has cached entries for.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 01:00:00.000000
"""
import secrets

from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table('identity_revision',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('revision', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_revision')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    op.bulk_insert(table, [{'id': 1, 'revision': secrets.randbelow(2 ** 48)}])


def downgrade() -> None:
    op.drop_table('identity_revision')
