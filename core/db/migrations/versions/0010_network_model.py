"""network model

Networks, subnets, ports with their addresses, routers, floating IPs, tags and
the groups of ports (issue 11); the flat fixed and floating address pools
become these objects (``core/db/migrations/network_conversion.py``) and go.
Downgrading recreates the old tables empty.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 11:38:56.802592
"""
from alembic import op
import sqlalchemy as sa
import core.db.base
from core.db.migrations.network_conversion import convert


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('floatingips',
    sa.Column('floating_network_id', sa.String(length=36), nullable=False),
    sa.Column('floating_port_id', sa.String(length=36), nullable=True),
    sa.Column('floating_ip_address', sa.String(length=64), nullable=False),
    sa.Column('port_id', sa.String(length=36), nullable=True),
    sa.Column('fixed_ip_address', sa.String(length=64), nullable=True),
    sa.Column('router_id', sa.String(length=36), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('association_id', sa.String(length=36), nullable=True),
    sa.Column('associated_at', core.db.base.UTCDateTime(), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.db.base.UTCDateTime(), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_floatingips')),
    sa.UniqueConstraint('association_id', name=op.f('uq_floatingips_association_id')),
    sa.UniqueConstraint('floating_network_id', 'floating_ip_address', name=op.f('uq_floatingips_floating_network_id_floating_ip_address')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('floatingips', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_floatingips_floating_ip_address'), ['floating_ip_address'], unique=False)
        batch_op.create_index(batch_op.f('ix_floatingips_floating_network_id'), ['floating_network_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_floatingips_port_id'), ['port_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_floatingips_project_id'), ['project_id'], unique=False)

    op.create_table('network_tags',
    sa.Column('resource_id', sa.String(length=36), nullable=False),
    sa.Column('tag', sa.String(length=255), nullable=False),
    sa.Column('resource_type', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('resource_id', 'tag', name=op.f('pk_network_tags')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    op.create_table('networks',
    sa.Column('admin_state_up', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('external', sa.Boolean(), nullable=False),
    sa.Column('mtu', sa.Integer(), nullable=False),
    sa.Column('port_security_enabled', sa.Boolean(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.db.base.UTCDateTime(), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_networks')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('networks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_networks_external'), ['external'], unique=False)
        batch_op.create_index(batch_op.f('ix_networks_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_networks_shared'), ['shared'], unique=False)

    op.create_table('routers',
    sa.Column('admin_state_up', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('gw_network_id', sa.String(length=36), nullable=True),
    sa.Column('gw_port_id', sa.String(length=36), nullable=True),
    sa.Column('enable_snat', sa.Boolean(), nullable=False),
    sa.Column('routes', sa.JSON(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.db.base.UTCDateTime(), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routers')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('routers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routers_gw_network_id'), ['gw_network_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routers_project_id'), ['project_id'], unique=False)

    op.create_table('ports',
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('mac_address', sa.String(length=32), nullable=False),
    sa.Column('admin_state_up', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('device_id', sa.String(length=255), nullable=False),
    sa.Column('device_owner', sa.String(length=255), nullable=False),
    sa.Column('port_security_enabled', sa.Boolean(), nullable=False),
    sa.Column('binding_host_id', sa.String(length=255), nullable=False),
    sa.Column('binding_vnic_type', sa.String(length=64), nullable=False),
    sa.Column('binding_profile', sa.JSON(), nullable=False),
    sa.Column('allowed_address_pairs', sa.JSON(), nullable=False),
    sa.Column('extra_dhcp_opts', sa.JSON(), nullable=False),
    sa.Column('compute_made', sa.Boolean(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.db.base.UTCDateTime(), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_ports_network_id_networks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ports')),
    sa.UniqueConstraint('network_id', 'mac_address', name=op.f('uq_ports_network_id_mac_address')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('ports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ports_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ports_network_id'), ['network_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ports_project_id'), ['project_id'], unique=False)

    op.create_table('subnets',
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('ip_version', sa.Integer(), nullable=False),
    sa.Column('cidr', sa.String(length=64), nullable=False),
    sa.Column('gateway_ip', sa.String(length=64), nullable=True),
    sa.Column('allocation_pools', sa.JSON(), nullable=False),
    sa.Column('dns_nameservers', sa.JSON(), nullable=False),
    sa.Column('host_routes', sa.JSON(), nullable=False),
    sa.Column('enable_dhcp', sa.Boolean(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('created_at', core.db.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.db.base.UTCDateTime(), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_subnets_network_id_networks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subnets')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('subnets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subnets_network_id'), ['network_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subnets_project_id'), ['project_id'], unique=False)

    op.create_table('ip_allocations',
    sa.Column('subnet_id', sa.String(length=36), nullable=False),
    sa.Column('ip_address', sa.String(length=64), nullable=False),
    sa.Column('port_id', sa.String(length=36), nullable=False),
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['port_id'], ['ports.id'], name=op.f('fk_ip_allocations_port_id_ports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subnet_id'], ['subnets.id'], name=op.f('fk_ip_allocations_subnet_id_subnets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subnet_id', 'ip_address', name=op.f('pk_ip_allocations')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('ip_allocations', schema=None) as batch_op:
        batch_op.create_index('ix_ip_allocations_ip_address', ['ip_address'], unique=False)
        batch_op.create_index(batch_op.f('ix_ip_allocations_network_id'), ['network_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ip_allocations_port_id'), ['port_id'], unique=False)

    op.create_table('port_security_groups',
    sa.Column('port_id', sa.String(length=36), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['security_groups.id'], name=op.f('fk_port_security_groups_group_id_security_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['port_id'], ['ports.id'], name=op.f('fk_port_security_groups_port_id_ports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('port_id', 'group_id', name=op.f('pk_port_security_groups')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('port_security_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_port_security_groups_group_id'), ['group_id'], unique=False)

    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requested_networks', sa.JSON(), nullable=True))

    with op.batch_alter_table('security_group_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ethertype', sa.String(length=4), nullable=False,
                                      server_default='IPv4'))
        batch_op.add_column(sa.Column('updated_at', core.db.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('revision_number', sa.Integer(), nullable=False,
                                      server_default='0'))
    op.execute("UPDATE security_group_rules SET updated_at = created_at")
    with op.batch_alter_table('security_group_rules', schema=None) as batch_op:
        batch_op.alter_column('ethertype', server_default=None)
        batch_op.alter_column('revision_number', server_default=None)
        batch_op.alter_column('updated_at', existing_type=core.db.base.UTCDateTime(),
                              nullable=False)

    with op.batch_alter_table('security_groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision_number', sa.Integer(), nullable=False,
                                      server_default='0'))
    if op.get_bind().dialect.name != "sqlite":
        # Not on SQLite: there the change recreates the table, and dropping the old
        # one (foreign keys on) deletes every rule of every group by cascade.
        with op.batch_alter_table('security_groups', schema=None) as batch_op:
            batch_op.alter_column('revision_number', server_default=None)

    convert(op.get_bind())

    with op.batch_alter_table('floating_ips', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_floating_ips_instance_uuid'))
        batch_op.drop_index(batch_op.f('ix_floating_ips_project_id'))

    op.drop_table('floating_ips')
    with op.batch_alter_table('fixed_ips', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fixed_ips_instance_uuid'))

    op.drop_table('fixed_ips')



def downgrade() -> None:
    # Never recreated (SQLite drops the column in place): dropping the old table
    # with foreign keys on would delete every rule by cascade.
    with op.batch_alter_table('security_groups', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('revision_number')

    with op.batch_alter_table('security_group_rules', schema=None) as batch_op:
        batch_op.drop_column('revision_number')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('ethertype')

    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_column('requested_networks')

    op.create_table('fixed_ips',
    sa.Column('address', sa.String(length=39), nullable=False),
    sa.Column('network', sa.String(length=255), nullable=False),
    sa.Column('instance_uuid', sa.String(length=36), nullable=True),
    sa.Column('mac_address', sa.String(length=17), nullable=True),
    sa.Column('allocated_at', core.db.base.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('address', name=op.f('pk_fixed_ips')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('fixed_ips', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fixed_ips_instance_uuid'), ['instance_uuid'], unique=False)

    op.create_table('floating_ips',
    sa.Column('address', sa.String(length=39), nullable=False),
    sa.Column('pool', sa.String(length=255), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=True),
    sa.Column('allocation_id', sa.String(length=36), nullable=True),
    sa.Column('instance_uuid', sa.String(length=36), nullable=True),
    sa.Column('fixed_address', sa.String(length=39), nullable=True),
    sa.Column('association_id', sa.String(length=36), nullable=True),
    sa.Column('allocated_at', core.db.base.UTCDateTime(), nullable=True),
    sa.Column('associated_at', core.db.base.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('address', name=op.f('pk_floating_ips')),
    sa.UniqueConstraint('allocation_id', name=op.f('uq_floating_ips_allocation_id')),
    sa.UniqueConstraint('association_id', name=op.f('uq_floating_ips_association_id')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_nopad_bin'
    )
    with op.batch_alter_table('floating_ips', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_floating_ips_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_floating_ips_instance_uuid'), ['instance_uuid'], unique=False)

    op.drop_table('port_security_groups')
    op.drop_table('ip_allocations')
    op.drop_table('subnets')
    op.drop_table('ports')
    with op.batch_alter_table('routers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routers_project_id'))
        batch_op.drop_index(batch_op.f('ix_routers_gw_network_id'))

    op.drop_table('routers')
    with op.batch_alter_table('networks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_networks_shared'))
        batch_op.drop_index(batch_op.f('ix_networks_project_id'))
        batch_op.drop_index(batch_op.f('ix_networks_external'))

    op.drop_table('networks')
    op.drop_table('network_tags')
    with op.batch_alter_table('floatingips', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_floatingips_project_id'))
        batch_op.drop_index(batch_op.f('ix_floatingips_port_id'))
        batch_op.drop_index(batch_op.f('ix_floatingips_floating_network_id'))
        batch_op.drop_index(batch_op.f('ix_floatingips_floating_ip_address'))

    op.drop_table('floatingips')
