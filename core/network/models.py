"""The network model, as Neutron's: networks with their subnets, ports holding
addresses of those subnets (``ip_allocations``, one row per address, unique per
subnet, so no address is handed out twice), routers joining subnets to an
external network, floating IPs from an external network mapped to a port's
fixed address, and security groups with their rules, applied to ports.

Every resource has Neutron's standard attributes (``project_id``, ``name``,
``description``, ``created_at``, ``updated_at``, ``revision_number``); tags on
any of them are rows of ``network_tags``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import MYSQL, Base, UTCDateTime, new_uuid, utcnow


class StandardAttributes:
    """Neutron's standard attributes, shared by every resource table."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    project_id: Mapped[str] = mapped_column(String(64), index=True, default="")
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)


class Network(StandardAttributes, Base):
    __tablename__ = "networks"
    __table_args__ = MYSQL
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    shared: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    external: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    mtu: Mapped[int] = mapped_column(Integer, default=1500)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The network a boot without networks (and EC2 without SubnetId) uses.
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)


class Subnet(StandardAttributes, Base):
    __tablename__ = "subnets"
    __table_args__ = MYSQL
    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    ip_version: Mapped[int] = mapped_column(Integer, default=4)
    cidr: Mapped[str] = mapped_column(String(64))
    gateway_ip: Mapped[str | None] = mapped_column(String(64))
    allocation_pools: Mapped[list] = mapped_column(JSON, default=list)
    dns_nameservers: Mapped[list] = mapped_column(JSON, default=list)
    host_routes: Mapped[list] = mapped_column(JSON, default=list)
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)


class Port(StandardAttributes, Base):
    __tablename__ = "ports"
    __table_args__ = (UniqueConstraint("network_id", "mac_address"), MYSQL)
    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    mac_address: Mapped[str] = mapped_column(String(32))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    device_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    device_owner: Mapped[str] = mapped_column(String(255), default="")
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    binding_host_id: Mapped[str] = mapped_column(String(255), default="")
    binding_vnic_type: Mapped[str] = mapped_column(String(64), default="normal")
    binding_profile: Mapped[dict] = mapped_column(JSON, default=dict)
    allowed_address_pairs: Mapped[list] = mapped_column(JSON, default=list)
    extra_dhcp_opts: Mapped[list] = mapped_column(JSON, default=list)
    # Made by compute for a server (deleted with it) rather than given to it.
    compute_made: Mapped[bool] = mapped_column(Boolean, default=False)
    # The device tag compute attached it with (Nova's virtual interface tag, 2.49).
    device_tag: Mapped[str | None] = mapped_column(String(60))


class IpAllocation(Base):
    """An address of a subnet held by a port; the primary key is the guard
    against handing one address out twice, also under concurrent creates."""

    __tablename__ = "ip_allocations"
    __table_args__ = (Index("ix_ip_allocations_ip_address", "ip_address"), MYSQL)
    subnet_id: Mapped[str] = mapped_column(
        ForeignKey("subnets.id", ondelete="CASCADE"), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), index=True)
    network_id: Mapped[str] = mapped_column(String(36), index=True)


class Router(StandardAttributes, Base):
    __tablename__ = "routers"
    __table_args__ = MYSQL
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    gw_network_id: Mapped[str | None] = mapped_column(String(36), index=True)
    gw_port_id: Mapped[str | None] = mapped_column(String(36))
    enable_snat: Mapped[bool] = mapped_column(Boolean, default=True)
    routes: Mapped[list] = mapped_column(JSON, default=list)


class FloatingIp(StandardAttributes, Base):
    """A floating address: an address of an external network (held by a port
    of ``network:floatingip``) that a project owns, mapped to one fixed
    address of a port. ``association_id`` names the current mapping (EC2's
    ``eipassoc-``)."""

    __tablename__ = "floatingips"
    __table_args__ = (UniqueConstraint("floating_network_id", "floating_ip_address"), MYSQL)
    floating_network_id: Mapped[str] = mapped_column(String(36), index=True)
    floating_port_id: Mapped[str | None] = mapped_column(String(36))
    floating_ip_address: Mapped[str] = mapped_column(String(64), index=True)
    port_id: Mapped[str | None] = mapped_column(String(36), index=True)
    fixed_ip_address: Mapped[str | None] = mapped_column(String(64))
    router_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    association_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    associated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PortSecurityGroup(Base):
    __tablename__ = "port_security_groups"
    __table_args__ = MYSQL
    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), primary_key=True, index=True)


class NetworkTag(Base):
    """A Neutron tag (a plain string) on a resource of ``resource_type``."""

    __tablename__ = "network_tags"
    __table_args__ = MYSQL
    resource_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(32))


class SecurityGroup(Base):
    """A project's named set of firewall rules; ``default`` is made on first use.

    Ports name their groups (``port_security_groups``); instances also record
    the names they were booted with (``Instance.security_groups``);
    ``generation`` is bumped by a boot naming the group and by its deletion, so
    the two serialise on the row and a group in use is never deleted under a boot.
    """

    __tablename__ = "security_groups"
    __table_args__ = (UniqueConstraint("project_id", "name"), MYSQL)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    project_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String(255), default="")
    generation: Mapped[int] = mapped_column(Integer, default=0)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SecurityGroupRule(Base):
    """One rule: traffic of ``protocol`` (None: all) on ports ``port_min``..``port_max``
    (ICMP: type and code, -1 for any) from / to ``cidr`` or the members of
    ``remote_group_id``, of ``ethertype`` IPv4 or IPv6. ``fingerprint`` spells
    the rule out, unique per group, so a duplicate never gets in, also when two
    requests add it at once."""

    __tablename__ = "security_group_rules"
    __table_args__ = (UniqueConstraint("group_id", "fingerprint"), MYSQL)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(7))  # ingress | egress
    ethertype: Mapped[str] = mapped_column(String(4), default="IPv4")
    protocol: Mapped[str | None] = mapped_column(String(8))
    port_min: Mapped[int | None] = mapped_column(Integer)
    port_max: Mapped[int | None] = mapped_column(Integer)
    cidr: Mapped[str | None] = mapped_column(String(43))
    remote_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True)
    description: Mapped[str | None] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
