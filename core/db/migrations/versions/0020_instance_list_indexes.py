"""instance list indexes

An index on every column the server lists filter or sort by (Nova's sort keys
and filters, EC2's terminated window), and the default order (newest first)
within a project as a composite index, so a page is read in index order
without sorting the whole project. The (project_id, deleted)
index is the new project index's prefix and goes.
tests/db/test_list_query_plans.py reads the plans on SQLite and PostgreSQL.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 01:40:00.000000
"""
from alembic import op


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

COLUMNS = ('hostname', 'user_id', 'task_state', 'power_state', 'node', 'availability_zone',
           'key_name', 'launch_index', 'config_drive', 'access_ip_v4', 'access_ip_v6',
           'locked', 'locked_by', 'progress', 'launched_at', 'terminated_at', 'deleted_at')


def upgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_index('ix_instances_project_deleted')
        batch_op.create_index('ix_instances_project_listing',
                              ['project_id', 'deleted', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_instances_description', ['description'], unique=False,
                              mysql_length=255)
        for column in COLUMNS:
            batch_op.create_index(f'ix_instances_{column}', [column], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        for column in reversed(COLUMNS):
            batch_op.drop_index(f'ix_instances_{column}')
        batch_op.drop_index('ix_instances_description')
        batch_op.drop_index('ix_instances_project_listing')
        batch_op.create_index('ix_instances_project_deleted', ['project_id', 'deleted'],
                              unique=False)
