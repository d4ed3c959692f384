"""security group vpcs

EC2's VPC of a security group (issue 11): a group made with the VpcId of a
VPC other than the default one, and each VPC's own default group, name their
router here. Groups made before are in the default VPC, which is what having
no row means: no backfill.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 15:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ec2_security_group_vpcs',
    sa.Column('group_uuid', sa.String(length=36), nullable=False),
    sa.Column('router_id', sa.String(length=36), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('group_uuid', name=op.f('pk_ec2_security_group_vpcs')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('ec2_security_group_vpcs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ec2_security_group_vpcs_router_id'), ['router_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ec2_security_group_vpcs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ec2_security_group_vpcs_router_id'))

    op.drop_table('ec2_security_group_vpcs')
