"""vpc records

EC2's VPC family (issue 11): the VPCs' own attributes (a VPC is a router),
subnets' EC2 attributes, route tables and their associations, internet
gateways and DHCP options sets. Routers made before get their rows on first
sight (core.vpc), so no backfill.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 11:53:05.560320
"""
from alembic import op
import sqlalchemy as sa
import core.db.base


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('vpc_dhcp_options',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vpc_dhcp_options')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('vpc_dhcp_options', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vpc_dhcp_options_project_id'), ['project_id'], unique=False)

    op.create_table('vpc_internet_gateways',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('router_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vpc_internet_gateways')),
    sa.UniqueConstraint('router_id', name=op.f('uq_vpc_internet_gateways_router_id')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('vpc_internet_gateways', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vpc_internet_gateways_project_id'), ['project_id'], unique=False)

    op.create_table('vpc_records',
    sa.Column('router_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('cidr_block', sa.String(length=43), nullable=True),
    sa.Column('dhcp_options_id', sa.String(length=36), nullable=True),
    sa.Column('enable_dns_support', sa.Boolean(), nullable=False),
    sa.Column('enable_dns_hostnames', sa.Boolean(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('router_id', name=op.f('pk_vpc_records')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('vpc_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vpc_records_dhcp_options_id'), ['dhcp_options_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vpc_records_project_id'), ['project_id'], unique=False)

    op.create_table('vpc_route_tables',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('router_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('routes', sa.JSON(), nullable=False),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vpc_route_tables')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('vpc_route_tables', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vpc_route_tables_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vpc_route_tables_router_id'), ['router_id'], unique=False)

    op.create_table('vpc_subnet_records',
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('map_public_ip_on_launch', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('network_id', name=op.f('pk_vpc_subnet_records')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    op.create_table('vpc_route_table_associations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('route_table_id', sa.String(length=36), nullable=False),
    sa.Column('router_id', sa.String(length=36), nullable=False),
    sa.Column('network_id', sa.String(length=36), nullable=True),
    sa.Column('main', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['route_table_id'], ['vpc_route_tables.id'], name=op.f('fk_vpc_route_table_associations_route_table_id_vpc_route_tables'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vpc_route_table_associations')),
    sa.UniqueConstraint('network_id', name=op.f('uq_vpc_route_table_associations_network_id')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('vpc_route_table_associations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vpc_route_table_associations_route_table_id'), ['route_table_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vpc_route_table_associations_router_id'), ['router_id'], unique=False)



def downgrade() -> None:
    # Tables go with their indexes; dropping an index first fails on MariaDB
    # while a foreign key still needs it (error 1553).
    for table in ('vpc_route_table_associations', 'vpc_subnet_records', 'vpc_route_tables',
                  'vpc_records', 'vpc_internet_gateways', 'vpc_dhcp_options'):
        op.drop_table(table)
