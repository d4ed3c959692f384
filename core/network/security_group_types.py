"""Security groups' values, checks and errors: what the service, the Nova
edge and the EC2 edge share (:mod:`core.network.security_groups` stores them)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime

from core import errors

DEFAULT = "default"
DEFAULT_DESCRIPTION = "Default security group"
INGRESS, EGRESS = "ingress", "egress"
PROTOCOLS = ("tcp", "udp", "icmp")
# Neutron's protocol names (a number 0-255 is also accepted); the ones with ports:
NAMED_PROTOCOLS = ("ah", "dccp", "egp", "esp", "gre", "hopopt", "icmp", "igmp", "ipip",
                   "ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt",
                   "ipv6-opts", "ipv6-route", "ospf", "pgm", "rsvp", "sctp", "tcp", "udp",
                   "udplite", "vrrp")
PORTED = ("tcp", "udp", "sctp", "dccp", "udplite", "6", "17", "132", "33", "136")
ICMP = ("icmp", "icmpv6", "ipv6-icmp", "1", "58")
IPV4, IPV6 = "IPv4", "IPv6"
MAX_NAME = 255
MAX_RULES = 120  # ingress and egress together, per group


# ---- errors ----------------------------------------------------------------------

class GroupNotFound(errors.NotFound):
    """No group with that uuid (or, for a lookup by ``ref``, name) in the project."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"Security group {ref} not found.", kind="security_group", id=ref)
        self.ref = ref


class UnknownSecurityGroup(errors.InvalidReference):
    """A boot (or an action) named a group the project does not have."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"Unable to find security_group with name or id {ref}",
                         kind="security_group", id=ref, param="security_groups")
        self.ref = ref


class DuplicateGroup(errors.InvalidInput):
    def __init__(self, name: str, project_id: str) -> None:
        super().__init__(f"Security group {name} already exists", kind="security_group",
                         name=name, project_id=project_id)
        self.name = name


class DefaultGroupProtected(errors.InvalidInput):
    """The ``default`` group is neither deleted nor renamed."""

    def __init__(self, group: Group, verb: str) -> None:
        super().__init__(f"Unable to {verb} system group '{DEFAULT}'", kind="security_group",
                         id=group.uuid, name=group.name)
        self.group = group


class GroupInUse(errors.InvalidInput):
    """Instances (or other groups' rules) still name the group."""

    def __init__(self, group: Group) -> None:
        super().__init__("Security group is still in use", kind="security_group",
                         id=group.uuid, name=group.name)
        self.group = group


class InvalidRule(errors.InvalidInput):
    pass


class DuplicateRule(errors.InvalidInput):
    def __init__(self, spec: RuleSpec, group: Group) -> None:
        super().__init__(f"This rule already exists in group {group.uuid}", spec=spec)
        self.spec = spec
        self.group = group


class RuleNotFound(errors.NotFound):
    def __init__(self, ref: str, spec: RuleSpec | None = None) -> None:
        super().__init__(f"Security group rule {ref} not found.", kind="security_group_rule",
                         id=ref)
        self.spec = spec


class GroupAlreadyOnServer(errors.InvalidInput):
    pass


class GroupNotOnServer(errors.InvalidInput):
    pass


# ---- values ----------------------------------------------------------------------

@dataclass(frozen=True)
class RuleSpec:
    """A rule as asked for. ``protocol`` None is every protocol (then no ports);
    tcp/udp ports are ``port_min``..``port_max``; ICMP's are type and code (-1:
    any). The peer is ``cidr`` or ``remote_group`` (a group's uuid), not both."""

    direction: str
    protocol: str | None
    port_min: int | None = None
    port_max: int | None = None
    cidr: str | None = None
    remote_group: str | None = None
    description: str | None = None
    ethertype: str = IPV4

    def key(self, remote_id: int | None) -> str:
        key = "|".join((self.direction, self.protocol or "-1", _text(self.port_min),
                        _text(self.port_max), self.cidr or "", _text(remote_id)))
        return key if self.ethertype == IPV4 else f"{key}|{self.ethertype}"


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Rule:
    uuid: str
    group_uuid: str
    direction: str
    protocol: str | None
    port_min: int | None
    port_max: int | None
    cidr: str | None
    remote_group_uuid: str | None
    remote_group_name: str | None
    remote_project_id: str | None
    description: str | None
    ethertype: str = IPV4
    created_at: datetime | None = None
    updated_at: datetime | None = None
    revision_number: int = 0

    def spec(self) -> RuleSpec:
        return RuleSpec(self.direction, self.protocol, self.port_min, self.port_max,
                        self.cidr, self.remote_group_uuid, self.description, self.ethertype)


@dataclass(frozen=True)
class Group:
    uuid: str
    project_id: str
    name: str
    description: str
    created_at: datetime
    rules: tuple[Rule, ...] = field(default=())
    updated_at: datetime | None = None
    revision_number: int = 0

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT


def check_spec(spec: RuleSpec) -> RuleSpec:
    """The spec if it is one a group can hold (edges word their own errors first;
    this is the last guard), with the CIDR in canonical form. As Neutron: any
    protocol by name or number; ports only for the protocols that have them
    (none: all); ICMP's are type and code (-1 or none: any); no peer: anywhere."""
    if spec.direction not in (INGRESS, EGRESS):
        raise InvalidRule(f"Invalid direction {spec.direction}.")
    if spec.ethertype not in (IPV4, IPV6):
        raise InvalidRule(f"Invalid ethertype {spec.ethertype}.")
    protocol = spec.protocol
    if protocol is not None and protocol not in NAMED_PROTOCOLS and not (
            protocol.isdigit() and 0 <= int(protocol) <= 255):
        raise InvalidRule(f"Invalid IP protocol {protocol}.")
    lo, hi = spec.port_min, spec.port_max
    if protocol in PORTED:
        if (lo is None) != (hi is None) or (lo is not None and hi is not None
                                            and not 0 <= lo <= hi <= 65535):
            raise InvalidRule(f"Invalid port range {lo}:{hi}.")
    elif protocol in ICMP:
        for value in (lo, hi):
            if value is not None and not -1 <= value <= 255:
                raise InvalidRule(f"Invalid ICMP type and code {lo}:{hi}.")
        if hi is not None and hi != -1 and lo in (None, -1):
            raise InvalidRule("An ICMP code needs an ICMP type.")
    elif lo is not None or hi is not None:
        raise InvalidRule("Ports are only given for protocols that have them "
                          "(tcp, udp, sctp, dccp, udplite) and ICMP.")
    if spec.cidr is not None and spec.remote_group is not None:
        raise InvalidRule("A rule names either a CIDR or a source group, not both.")
    cidr = spec.cidr
    if cidr is not None:
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise InvalidRule(f"Invalid cidr {spec.cidr}.") from None
        if (net.version == 6) != (spec.ethertype == IPV6):
            raise InvalidRule(f"Conflicting value ethertype {spec.ethertype} for CIDR {cidr}")
        cidr = str(net)
    if spec.description is not None and len(spec.description) > 255:
        raise InvalidRule("A rule's description is at most 255 characters.")
    return RuleSpec(spec.direction, protocol, lo, hi, cidr, spec.remote_group,
                    spec.description, spec.ethertype)


def check_name(name: str, what: str = "name") -> None:
    if not isinstance(name, str) or not name.strip():
        raise errors.InvalidInput(f"Security group {what} cannot be empty.")
    if len(name) > MAX_NAME:
        raise errors.InvalidInput(f"Security group {what} should not be greater than "
                                  f"{MAX_NAME} characters.")
