"""``os-security-groups``, ``os-security-group-rules`` and a server's groups, as
Nova's proxy API renders them (nova/api/openstack/compute/security_groups.py):
groups show their ingress rules only; a rule's peer is ``ip_range`` or
``group``; deleting answers 202."""

from __future__ import annotations

import ipaddress
from typing import Any

from connexion import NoContent, request

from core import errors
from core.network.security_group_types import INGRESS, Group, GroupNotFound, Rule, RuleSpec
from core.network.security_groups import SecurityGroupService
from core.numbers import INT64_MIN, BadInteger, as_int
from gateway.openstack.compute import microversions
from gateway.openstack.compute.base import ACCEPTED, ComputeDeps, Handler, parse_bool


def rule_view(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"id": rule.uuid, "parent_group_id": rule.group_uuid,
                           "ip_protocol": rule.protocol, "from_port": rule.port_min,
                           "to_port": rule.port_max, "group": {}, "ip_range": {}}
    if rule.remote_group_uuid:
        out["group"] = {"name": rule.remote_group_name, "tenant_id": rule.remote_project_id}
    else:
        out["ip_range"] = {"cidr": rule.cidr}
    return out


def group_view(group: Group) -> dict[str, Any]:
    return {"id": group.uuid, "name": group.name, "description": group.description,
            "tenant_id": group.project_id,
            "rules": [rule_view(r) for r in group.rules if r.direction == INGRESS]}


def _port(value: Any, name: str) -> int:
    try:
        return as_int(value.strip() if isinstance(value, str) else value, INT64_MIN)
    except BadInteger:
        raise errors.InvalidInput(f"Invalid input for {name}: {value} is not an "
                                  "integer.") from None


def nova_rule_spec(body: dict[str, Any], services: SecurityGroupService, ctx) -> RuleSpec:
    """A ``security_group_rule`` body as a spec, with Nova's checks and words."""
    protocol = body.get("ip_protocol")
    from_port, to_port = body.get("from_port"), body.get("to_port")
    if protocol is None or from_port is None or to_port is None:
        raise errors.InvalidInput("Not enough parameters to build a valid rule.")
    protocol = str(protocol).lower()
    if protocol not in ("tcp", "udp", "icmp"):
        raise errors.InvalidInput(f"Invalid IP protocol {body.get('ip_protocol')}.")
    low, high = _port(from_port, "from_port"), _port(to_port, "to_port")
    if protocol == "icmp":
        if not (-1 <= low <= 255 and -1 <= high <= 255):
            raise errors.InvalidInput(f"Invalid port range {low}:{high}. For ICMP, the "
                                      "type:code must be valid")
    else:
        if low > high:
            raise errors.InvalidInput(f"Invalid port range {low}:{high}. Former value "
                                      "cannot be greater than the later")
        if not (1 <= low <= 65535 and 1 <= high <= 65535):
            raise errors.InvalidInput(f"Invalid port range {low}:{high}. Valid "
                                      f"{protocol.upper()} ports should be between 1-65535")
    group_id, cidr = body.get("group_id"), body.get("cidr")
    if group_id:
        try:
            remote = services.get(ctx, str(group_id)).uuid
        except GroupNotFound:
            raise errors.NotFound(f"Security group {group_id} not found.") from None
        return RuleSpec(INGRESS, protocol, low, high, remote_group=remote)
    text = str(cidr) if cidr else "0.0.0.0/0"
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise errors.InvalidInput(f"Invalid cidr {text}.") from None
    return RuleSpec(INGRESS, protocol, low, high, cidr=str(net),
                    ethertype="IPv6" if net.version == 6 else "IPv4")


class SecurityGroups(Handler):
    def __init__(self, deps: ComputeDeps) -> None:
        super().__init__(deps)
        self.groups: SecurityGroupService = deps.security_groups

    def list(self, **_: Any):
        microversions.require_proxy()  # 404 from 2.36, as Nova
        raw = request.query_params.get("all_tenants")
        everyone = raw is not None and (raw == "" or parse_bool(raw, "all_tenants"))
        groups = self.groups.list_groups(self.context(), all_projects=everyone)
        return {"security_groups": [group_view(g) for g in groups]}

    def show(self, security_group_id: str):
        microversions.require_proxy()  # 404 from 2.36, as Nova
        return {"security_group": group_view(self.groups.get(self.context(),
                                                             security_group_id))}

    def create(self, body: dict[str, Any]):
        microversions.require_proxy()  # 404 from 2.36, as Nova
        spec = body["security_group"]
        group = self.groups.create(self.context(), spec["name"], spec.get("description", ""))
        return {"security_group": group_view(group)}

    def update(self, security_group_id: str, body: dict[str, Any]):
        microversions.require_proxy()  # 404 from 2.36, as Nova
        spec = body["security_group"]
        group = self.groups.update(self.context(), security_group_id, spec.get("name"),
                                   spec.get("description"))
        return {"security_group": group_view(group)}

    def delete(self, security_group_id: str):
        microversions.require_proxy()  # 404 from 2.36, as Nova
        self.groups.delete(self.context(), security_group_id)
        return ACCEPTED


class SecurityGroupRules(Handler):
    def __init__(self, deps: ComputeDeps) -> None:
        super().__init__(deps)
        self.groups: SecurityGroupService = deps.security_groups

    def create(self, body: dict[str, Any]):
        microversions.require_proxy()  # 404 from 2.36, as Nova
        ctx = self.context()
        spec = body["security_group_rule"]
        parent = str(spec["parent_group_id"])
        self.groups.get(ctx, parent)  # 404 before any other complaint, as Nova
        (rule,) = self.groups.add_rules(ctx, parent, [nova_rule_spec(spec, self.groups, ctx)])
        return {"security_group_rule": rule_view(rule)}

    def delete(self, security_group_rule_id: str):
        microversions.require_proxy()  # 404 from 2.36, as Nova
        self.groups.delete_rule(self.context(), security_group_rule_id)
        return NoContent, 202


class ServerSecurityGroups(Handler):
    def list(self, server_id: str):
        groups = self.deps.server_security_groups.list(self.context(), server_id)
        return {"security_groups": [group_view(g) for g in groups]}
