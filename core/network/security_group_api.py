"""The Network API's security groups and rules: Neutron's views and lists over
the groups the Nova and EC2 faces share (:mod:`core.network.security_groups`,
built a second time with the ``network:*`` rule names)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.db import Database
from core.network.base import tags_of, text
from core.network.errors import (
    SecurityGroupCannotRemoveDefault,
    SecurityGroupCannotUpdateDefault,
    SecurityGroupInUse,
    SecurityGroupNameExists,
    SecurityGroupNotFound,
    SecurityGroupRuleExists,
    SecurityGroupRuleInvalid,
    SecurityGroupRuleNotFound,
)
from core.network.models import SecurityGroup, SecurityGroupRule
from core.network.query import Columns, ListQuery, apply, as_int, page
from core.network.security_group_types import (
    EGRESS,
    INGRESS,
    IPV4,
    IPV6,
    DefaultGroupProtected,
    DuplicateGroup,
    DuplicateRule,
    Group,
    GroupInUse,
    GroupNotFound,
    InvalidRule,
    Rule,
    RuleNotFound,
    RuleSpec,
)
from core.network.security_groups import SecurityGroupService

GROUP_COLUMNS = Columns(SecurityGroup, {
    "id": (SecurityGroup.uuid, lambda v, n: v), "name": (SecurityGroup.name, lambda v, n: v),
    "description": (SecurityGroup.description, lambda v, n: v),
    "project_id": (SecurityGroup.project_id, lambda v, n: v),
    "tenant_id": (SecurityGroup.project_id, lambda v, n: v),
    "revision_number": (SecurityGroup.revision_number, as_int)}, "security_group")
RULE_COLUMNS = Columns(SecurityGroupRule, {
    "id": (SecurityGroupRule.uuid, lambda v, n: v),
    "direction": (SecurityGroupRule.direction, lambda v, n: v),
    "ethertype": (SecurityGroupRule.ethertype, lambda v, n: v),
    "protocol": (SecurityGroupRule.protocol, lambda v, n: v),
    "port_range_min": (SecurityGroupRule.port_min, as_int),
    "port_range_max": (SecurityGroupRule.port_max, as_int),
    "remote_ip_prefix": (SecurityGroupRule.cidr, lambda v, n: v),
    "description": (SecurityGroupRule.description, lambda v, n: v),
    "security_group_id": (SecurityGroup.uuid, lambda v, n: v),
    "project_id": (SecurityGroup.project_id, lambda v, n: v),
    "tenant_id": (SecurityGroup.project_id, lambda v, n: v)}, "security_group_rule")


def _port(value: int | None) -> int | None:
    return None if value is None or value == -1 else value


def rule_view(rule: Rule, project_id: str) -> dict[str, Any]:
    any_net = "0.0.0.0/0" if rule.ethertype == IPV4 else "::/0"
    return {"id": rule.uuid, "security_group_id": rule.group_uuid, "direction": rule.direction,
            "ethertype": rule.ethertype, "protocol": rule.protocol,
            "port_range_min": _port(rule.port_min), "port_range_max": _port(rule.port_max),
            "remote_ip_prefix": rule.cidr, "remote_group_id": rule.remote_group_uuid,
            "remote_address_group_id": None,
            "normalized_cidr": rule.cidr or (None if rule.remote_group_uuid else any_net),
            "description": rule.description or "", "project_id": project_id,
            "created_at": rule.created_at, "updated_at": rule.updated_at or rule.created_at,
            "revision_number": rule.revision_number, "tags": []}


class SecurityGroupApi:
    def __init__(self, db: Database, groups: SecurityGroupService) -> None:
        self.db = db
        self.groups = groups

    def _views(self, s: Session, rows: Sequence[SecurityGroup]) -> list[dict[str, Any]]:
        groups = self.groups._groups(s, rows)
        tags = tags_of(s, [g.uuid for g in groups])
        return [self.view(g, tags.get(g.uuid, [])) for g in groups]

    @staticmethod
    def view(group: Group, tags: Sequence[str] = ()) -> dict[str, Any]:
        return {"id": group.uuid, "name": group.name, "description": group.description,
                "project_id": group.project_id, "created_at": group.created_at,
                "updated_at": group.updated_at or group.created_at,
                "revision_number": group.revision_number, "tags": list(tags),
                "stateful": True, "shared": False,
                "security_group_rules": [rule_view(r, group.project_id) for r in group.rules]}

    def list(self, ctx: RequestContext, query: ListQuery | None = None) -> list[dict[str, Any]]:
        query = query or ListQuery()
        self.groups.policy.enforce(self.groups.rules["list"], {"project_id": ctx.project_id},
                                   ctx)
        if ctx.project_id:
            self.groups.ensure_default(ctx.project_id)
        visible = true() if ctx.is_admin else SecurityGroup.project_id == (ctx.project_id or "")
        with self.db.session() as s:
            stmt = apply(select(SecurityGroup).where(visible), GROUP_COLUMNS, query,
                         SecurityGroup.uuid)
            return self._views(s, page(s, stmt, GROUP_COLUMNS, query, SecurityGroup.uuid))

    def get(self, ctx: RequestContext, id: str) -> dict[str, Any]:
        try:
            group = self.groups.get(ctx, str(id))
        except GroupNotFound:
            raise SecurityGroupNotFound(str(id)) from None
        with self.db.session() as s:
            return self.view(group, tags_of(s, [group.uuid]).get(group.uuid, []))

    def create(self, ctx: RequestContext, attrs: Mapping[str, Any]) -> dict[str, Any]:
        if attrs.get("project_id") not in (None, ctx.project_id) and not ctx.is_admin:
            raise errors.Forbidden("You are not authorized to create a security group for "
                                   "another project.")
        name = text(attrs, "name")
        try:
            group = self.groups.create(ctx, name or "", text(attrs, "description"))
        except DuplicateGroup:
            raise SecurityGroupNameExists(name) from None
        return self.view(group)

    def update(self, ctx: RequestContext, id: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
        name = text(attrs, "name") if "name" in attrs else None
        description = text(attrs, "description") if "description" in attrs else None
        try:
            group = self.groups.update(ctx, str(id), name, description)
        except GroupNotFound:
            raise SecurityGroupNotFound(str(id)) from None
        except DefaultGroupProtected:
            raise SecurityGroupCannotUpdateDefault(str(id)) from None
        except DuplicateGroup:
            raise SecurityGroupNameExists(name or "") from None
        return self.get(ctx, group.uuid)

    def delete(self, ctx: RequestContext, id: str) -> None:
        try:
            self.groups.delete(ctx, str(id))
        except GroupNotFound:
            raise SecurityGroupNotFound(str(id)) from None
        except DefaultGroupProtected:
            raise SecurityGroupCannotRemoveDefault(str(id)) from None
        except GroupInUse:
            raise SecurityGroupInUse(str(id)) from None


class SecurityGroupRuleApi:
    def __init__(self, db: Database, groups: SecurityGroupService) -> None:
        self.db = db
        self.groups = groups

    def list(self, ctx: RequestContext, query: ListQuery | None = None) -> list[dict[str, Any]]:
        query = query or ListQuery()
        self.groups.policy.enforce("network:get_security_group_rule",
                                   {"project_id": ctx.project_id}, ctx)
        if ctx.project_id:
            self.groups.ensure_default(ctx.project_id)
        visible = true() if ctx.is_admin else SecurityGroup.project_id == (ctx.project_id or "")
        remote_group = [v for v in query.values("remote_group_id")]
        with self.db.session() as s:
            stmt = select(SecurityGroupRule).join(
                SecurityGroup, SecurityGroup.id == SecurityGroupRule.group_id).where(visible)
            if remote_group:
                remote = select(SecurityGroup.id).where(SecurityGroup.uuid.in_(remote_group))
                stmt = stmt.where(SecurityGroupRule.remote_group_id.in_(remote))
            stmt = apply(stmt, RULE_COLUMNS, query, SecurityGroupRule.uuid)
            rows = page(s, stmt, RULE_COLUMNS, query, SecurityGroupRule.uuid)
            wanted = {r.uuid for r in rows}
            groups = self.groups._groups(s, list(s.scalars(select(SecurityGroup).where(
                SecurityGroup.id.in_({r.group_id for r in rows})))))
        by_uuid = {r.uuid: rule_view(r, g.project_id) for g in groups for r in g.rules
                   if r.uuid in wanted}
        return [by_uuid[r.uuid] for r in rows if r.uuid in by_uuid]

    def get(self, ctx: RequestContext, id: str) -> dict[str, Any]:
        with self.db.session() as s:
            row = s.scalar(select(SecurityGroupRule).where(SecurityGroupRule.uuid == str(id)))
            group = s.get(SecurityGroup, row.group_id) if row is not None else None
            if row is None or group is None or (group.project_id != ctx.project_id
                                                and not ctx.is_admin):
                raise SecurityGroupRuleNotFound(str(id))
            self.groups.policy.enforce("network:get_security_group_rule",
                                       {"project_id": group.project_id}, ctx)
            full = self.groups._groups(s, [group])[0]
        return next(rule_view(r, full.project_id) for r in full.rules if r.uuid == row.uuid)

    def create(self, ctx: RequestContext, attrs: Mapping[str, Any]) -> dict[str, Any]:
        group_id = attrs.get("security_group_id")
        if not group_id:
            raise SecurityGroupRuleInvalid("security_group_id is required.",
                                           "security_group_id")
        spec = spec_from(attrs)
        try:
            made = self.groups.add_rules(ctx, str(group_id), [spec])
        except GroupNotFound as exc:
            raise SecurityGroupNotFound(exc.ref) from None
        except DuplicateRule as exc:
            existing = next((r.uuid for r in exc.group.rules
                             if r.spec().key(None) == exc.spec.key(None)
                             or (r.cidr, r.protocol, r.port_min, r.port_max, r.direction,
                                 r.ethertype) == (exc.spec.cidr, exc.spec.protocol,
                                                  exc.spec.port_min, exc.spec.port_max,
                                                  exc.spec.direction, exc.spec.ethertype)),
                            "")
            raise SecurityGroupRuleExists(existing) from None
        except InvalidRule as exc:
            raise SecurityGroupRuleInvalid(exc.message or "Invalid rule.") from None
        return self.get(ctx, made[0].uuid)

    def delete(self, ctx: RequestContext, id: str) -> None:
        try:
            self.groups.delete_rule(ctx, str(id))
        except RuleNotFound:
            raise SecurityGroupRuleNotFound(str(id)) from None


def spec_from(attrs: Mapping[str, Any]) -> RuleSpec:
    direction = attrs.get("direction")
    if direction not in (INGRESS, EGRESS):
        raise SecurityGroupRuleInvalid(f"Invalid input for direction. Reason: {direction!r} "
                                       "is not in ['ingress', 'egress'].", "direction")
    ethertype = attrs.get("ethertype", IPV4)
    if ethertype not in (IPV4, IPV6):
        raise SecurityGroupRuleInvalid(f"Invalid input for ethertype. Reason: {ethertype!r} "
                                       "is not in ['IPv4', 'IPv6'].", "ethertype")
    protocol = attrs.get("protocol")
    if protocol is not None:
        protocol = str(protocol).lower()
        if protocol in ("any", ""):
            protocol = None
    lo = attrs.get("port_range_min")
    hi = attrs.get("port_range_max")
    lo = None if lo is None else as_int(lo, "port_range_min")
    hi = None if hi is None else as_int(hi, "port_range_max")
    ported = protocol in ("tcp", "udp", "sctp", "dccp", "udplite", "6", "17", "132", "33",
                          "136")
    if ported:
        if lo is not None and hi is None:
            hi = lo
        if lo is None and hi is not None:
            raise SecurityGroupRuleInvalid("For TCP/UDP protocols, port_range_min must be <= "
                                           "port_range_max", "port_range_min")
        for value in (lo, hi):
            if value is not None and not 1 <= value <= 65535:
                raise SecurityGroupRuleInvalid(f"Invalid value for port {value}.",
                                               "port_range_min")
        if lo is not None and hi is not None and lo > hi:
            raise SecurityGroupRuleInvalid("For TCP/UDP protocols, port_range_min must be <= "
                                           "port_range_max", "port_range_min")
    elif protocol in ("icmp", "icmpv6", "ipv6-icmp", "1", "58"):
        if hi is not None and lo is None:
            raise SecurityGroupRuleInvalid(f"ICMP code (port-range-max) {hi} is provided but "
                                           "ICMP type (port-range-min) is missing.",
                                           "port_range_max")
    elif lo is not None or hi is not None:
        raise SecurityGroupRuleInvalid("Source and destination ports are only given for "
                                       "protocols that have them.", "port_range_min")
    cidr = attrs.get("remote_ip_prefix")
    remote = attrs.get("remote_group_id")
    if cidr is not None and remote is not None:
        raise SecurityGroupRuleInvalid("Only remote_ip_prefix or remote_group_id may be "
                                       "provided.", "remote_ip_prefix")
    if cidr is not None:
        try:
            net = ipaddress.ip_network(str(cidr), strict=False)
        except ValueError:
            raise SecurityGroupRuleInvalid(f"Invalid input for remote_ip_prefix. Reason: "
                                           f"'{cidr}' is not a valid IP prefix.",
                                           "remote_ip_prefix") from None
        if (net.version == 6) != (ethertype == IPV6):
            raise SecurityGroupRuleInvalid(f"Conflicting value ethertype {ethertype} for CIDR "
                                           f"{cidr}", "ethertype")
        cidr = str(net)
    description = attrs.get("description")
    return RuleSpec(direction, protocol, lo, hi, cidr, str(remote) if remote else None,
                    None if description is None else str(description), ethertype)


