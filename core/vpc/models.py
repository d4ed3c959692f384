"""The records EC2's VPC family keeps beside Neutron's model.

A VPC is a router (``vpc_records.router_id``): the row holds what EC2 has and
a router has not (the CIDR block, the DHCP options, the DNS attributes,
whether it is the default VPC). A router made through the Network API gets
its row on first sight, with ``cidr_block`` NULL: its CIDR is then derived
from its subnets (``core.vpc.topology.derived_cidr``).

Route tables (with their non-local routes as JSON, the local route being
implied by the VPC's CIDR), their associations (the main one has no
network), internet gateways (``router_id`` when attached) and DHCP options
sets exist only for EC2. A security group made in a VPC other than the
default one has a row naming its router (``ec2_security_group_vpcs``); a
group without one is in the default VPC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import MYSQL, Base, UTCDateTime, new_uuid, utcnow


class VpcRecord(Base):
    __tablename__ = "vpc_records"
    __table_args__ = MYSQL
    router_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    # None: derived from the router's subnets (a router made through OSC)
    cidr_block: Mapped[str | None] = mapped_column(String(43))
    dhcp_options_id: Mapped[str | None] = mapped_column(String(36), index=True)
    enable_dns_support: Mapped[bool] = mapped_column(Boolean, default=True)
    enable_dns_hostnames: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubnetRecord(Base):
    """EC2's own attributes of a subnet (a network), when any is set."""

    __tablename__ = "vpc_subnet_records"
    __table_args__ = MYSQL
    network_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    map_public_ip_on_launch: Mapped[bool] = mapped_column(Boolean, default=False)


class RouteTable(Base):
    __tablename__ = "vpc_route_tables"
    __table_args__ = MYSQL
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    router_id: Mapped[str] = mapped_column(String(36), index=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    # [{"destination": cidr, "gateway_id": internet gateway id}]
    routes: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RouteTableAssociation(Base):
    """A subnet (``network_id``) using a route table; the VPC's main route
    table has one association with no network (``main``)."""

    __tablename__ = "vpc_route_table_associations"
    __table_args__ = MYSQL
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    route_table_id: Mapped[str] = mapped_column(
        ForeignKey("vpc_route_tables.id", ondelete="CASCADE"), index=True)
    router_id: Mapped[str] = mapped_column(String(36), index=True)
    network_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    main: Mapped[bool] = mapped_column(Boolean, default=False)


class InternetGateway(Base):
    __tablename__ = "vpc_internet_gateways"
    __table_args__ = MYSQL
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    router_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DhcpOptions(Base):
    __tablename__ = "vpc_dhcp_options"
    __table_args__ = MYSQL
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    # {"domain-name-servers": ["10.0.0.2"], ...}
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SecurityGroupVpc(Base):
    """The VPC (router) of a security group made in a VPC other than the
    default one; ``is_default``: the VPC's own default group, made with it."""

    __tablename__ = "ec2_security_group_vpcs"
    __table_args__ = MYSQL
    group_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    router_id: Mapped[str] = mapped_column(String(36), index=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
