"""Security groups: Create/Describe/DeleteSecurityGroup and Authorize/Revoke
SecurityGroupIngress/Egress over :mod:`core.network.security_groups`.

A group is the same object Nova's ``os-security-groups`` shows, under its
``sg-`` ID (minted when it was made). A group made with the ``VpcId`` of a
VPC other than the default one is in that VPC, every other group in the
default VPC; a VPC's own default group shows the name ``default``
(:mod:`gateway.ec2.handlers.group_vpcs`). Group names are unique per
project across VPCs (Neutron's rule), so a name taken in one VPC is
InvalidGroup.Duplicate in another. Rules come as ``IpPermissions`` or as the legacy flat parameters
(``IpProtocol``/``FromPort``/``ToPort``/``CidrIp``, ``SourceSecurityGroupName``);
a call adds or removes all of its rules or none. Describe groups rules of one
protocol and port range into one ``IpPermission``, as AWS does.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from core import errors
from core.context import RequestContext
from core.idmap.ids import Kind, canonical_id
from core.idmap.tag_table import resource_tags
from core.network import security_groups as sg
from core.network.security_group_types import EGRESS, INGRESS, Group, Rule, RuleSpec
from core.tagging.rules import Resource, check_tags
from core.tagging.service import TagService
from gateway.ec2.api import Call, action
from gateway.ec2.errors import Ec2Error
from gateway.ec2.filters import Filters
from gateway.ec2.handlers.base import Ec2Deps, Handler
from gateway.ec2.handlers.group_vpcs import GroupVpcs
from gateway.ec2.handlers.network_names import NetworkNames
from gateway.ec2.handlers.security_group_rules import rule_ids, rule_view
from gateway.ec2.handlers.tags import tag_specifications
from gateway.ec2.paging import page, reject_ids_with_max_results

PROTOCOLS = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "icmp": "icmp",
             "1": "icmp", "-1": None, "all": None}


def _range_key(rule: Rule) -> tuple[str, int | None, int | None]:
    return (rule.protocol or "-1", rule.port_min, rule.port_max)


def permissions(rules: Sequence[Rule], ids: Mapping[str, str],
                accounts: Mapping[str, str]) -> list[dict[str, Any]]:
    """Rules as ``IpPermission`` shapes: one per protocol and port range
    (``ids``: groups' EC2 IDs by uuid, ``accounts``: account ids by project)."""
    grouped: dict[tuple[str, int | None, int | None], dict[str, Any]] = {}
    for rule in rules:
        key = _range_key(rule)
        perm = grouped.get(key)
        if perm is None:
            perm = grouped[key] = {"IpProtocol": key[0], "IpRanges": [], "Ipv6Ranges": [],
                                   "UserIdGroupPairs": [], "PrefixListIds": []}
            if rule.protocol is not None:
                perm["FromPort"], perm["ToPort"] = _ports(rule)
        if rule.remote_group_uuid:
            pair = {"GroupId": ids.get(rule.remote_group_uuid),
                    "UserId": accounts.get(rule.remote_project_id or ""),
                    "GroupName": rule.remote_group_name, "Description": rule.description}
            if pair not in perm["UserIdGroupPairs"]:  # one per ethertype in Neutron
                perm["UserIdGroupPairs"].append(pair)
        elif rule.ethertype == "IPv6" or (rule.cidr and ":" in rule.cidr):
            perm["Ipv6Ranges"].append({"CidrIpv6": rule.cidr or "::/0",
                                       "Description": rule.description})
        else:
            perm["IpRanges"].append({"CidrIp": rule.cidr or "0.0.0.0/0",
                                     "Description": rule.description})
    return list(grouped.values())


def _ports(rule: Rule) -> tuple[int | None, int | None]:
    """EC2's FromPort / ToPort: a Neutron rule without ports covers them all."""
    if rule.port_min is not None or rule.port_max is not None:
        return rule.port_min, rule.port_max
    return (-1, -1) if rule.protocol in ("icmp", "1") else (0, 65535)


def _perm_values(group: Mapping[str, Any], egress: bool, field: str) -> list[Any]:
    perms = group["IpPermissionsEgress" if egress else "IpPermissions"]
    out: list[Any] = []
    for perm in perms:
        if field == "protocol":
            out.append(perm["IpProtocol"])
        elif field in ("from-port", "to-port"):
            out.append(perm.get("FromPort" if field == "from-port" else "ToPort"))
        elif field == "cidr":
            out += [r["CidrIp"] for r in perm["IpRanges"]]
        elif field == "ipv6-cidr":
            out += [r["CidrIpv6"] for r in perm["Ipv6Ranges"]]
        else:
            key = {"group-id": "GroupId", "group-name": "GroupName",
                   "user-id": "UserId"}[field]
            out += [p.get(key) for p in perm["UserIdGroupPairs"]]
    return out


def _filters() -> Filters[dict[str, Any]]:
    getters: dict[str, Any] = {
        "group-id": lambda g: g["GroupId"],
        "group-name": lambda g: g["GroupName"],
        "description": lambda g: g["Description"],
        "vpc-id": lambda g: g["VpcId"],
        "owner-id": lambda g: g["OwnerId"],
    }
    for field in ("protocol", "from-port", "to-port", "cidr", "ipv6-cidr", "group-id",
                  "group-name", "user-id"):
        getters[f"ip-permission.{field}"] = \
            lambda g, f=field: _perm_values(g, False, f)
        getters[f"egress.ip-permission.{field}"] = \
            lambda g, f=field: _perm_values(g, True, f)
    return Filters(getters, tags=lambda g: {t["Key"]: t["Value"] for t in g["Tags"]})


GROUP_FILTERS = _filters()


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


class SecurityGroups(Handler):
    def __init__(self, deps: Ec2Deps) -> None:
        super().__init__(deps)
        self.groups: sg.SecurityGroupService = deps.security_groups
        self.names = NetworkNames(deps.ids, deps.network)
        self.tags: TagService = deps.tags
        self.vpcs = GroupVpcs(deps, self.names)

    # ---- lookups ---------------------------------------------------------------

    @staticmethod
    def _not_found(ref: str) -> errors.NotFound:
        """No such group of the caller's: by ``sg-`` ID, or by name (then EC2
        says in which VPC it looked)."""
        return errors.NotFound(kind="security_group", id=ref,
                               by=None if ref.startswith("sg-") else "name")

    def _by_id(self, ctx: RequestContext, ec2_id: str, rule: str = sg.SHOW) -> Group:
        canonical = canonical_id(Kind.SECURITY_GROUP, ec2_id)
        try:
            group = self.groups.get(ctx, self.os_id(Kind.SECURITY_GROUP, canonical), rule)
        except errors.NotFound:
            raise self._not_found(canonical) from None
        if group.project_id != ctx.project_id:
            raise self._not_found(canonical)
        return group

    def _by_name(self, ctx: RequestContext, name: str, rule: str = sg.SHOW) -> Group:
        try:
            group = self.groups.find(ctx, name, rule)
        except errors.NotFound:
            raise self._not_found(name) from None
        if group.name != name:  # find() also matches uuids
            raise self._not_found(name)
        return group

    def _target(self, call: Call, rule: str, name_allowed: bool = True) -> Group:
        group_id, name = call.get("GroupId"), call.get("GroupName")
        if group_id:
            return self._by_id(call.ctx, group_id, rule)
        if name and name_allowed:
            return self._by_name(call.ctx, name, rule)
        raise Ec2Error("MissingParameter", "The request must contain the parameter groupId"
                       if not name_allowed else
                       "The request must contain the parameter groupName or groupId")

    def _ec2_ids(self, groups: Sequence[Group]) -> dict[str, str]:
        uuids = {g.uuid: g.project_id for g in groups}
        for g in groups:
            for r in g.rules:
                if r.remote_group_uuid:
                    uuids.setdefault(r.remote_group_uuid, r.remote_project_id or "")
        return self.deps.ids.ec2_ids_for(Kind.SECURITY_GROUP, uuids.items())

    def _accounts(self, groups: Sequence[Group]) -> dict[str, str]:
        """Account ids of the groups' owners and of their rules' source groups'."""
        return self.accounts([g.project_id for g in groups] +
                             [r.remote_project_id for g in groups for r in g.rules
                              if r.remote_project_id])

    def _views(self, ctx: RequestContext, groups: Sequence[Group]) -> list[dict[str, Any]]:
        ids = self._ec2_ids(groups)
        accounts = self._accounts(groups)
        project = ctx.project_id or ""
        tags = resource_tags(self.deps.ids.db, Kind.SECURITY_GROUP, project,
                             [g.uuid for g in groups])
        region = self.deps.settings.region
        shown = self.vpcs.shown(ctx, [(g.uuid, g.project_id, g.name) for g in groups])
        out = []
        for g in groups:
            ec2_id, owner = ids[g.uuid], accounts[g.project_id]
            out.append({
                "GroupId": ec2_id, "GroupName": shown[g.uuid].name,
                "Description": g.description, "OwnerId": owner,
                "VpcId": shown[g.uuid].vpc_id,
                "SecurityGroupArn": f"arn:aws:ec2:{region}:{owner}:security-group/{ec2_id}",
                "IpPermissions": permissions([r for r in g.rules if r.direction == INGRESS],
                                             ids, accounts),
                "IpPermissionsEgress": permissions(
                    [r for r in g.rules if r.direction == EGRESS], ids, accounts),
                "Tags": tags.get(g.uuid, []),
            })
        return out

    # ---- create / describe / delete ---------------------------------------------
    @action("CreateSecurityGroup", rules=(sg.CREATE,))
    def create_security_group(self, call: Call) -> dict[str, Any]:
        ctx = call.ctx
        name, description = call.params["GroupName"], call.params["Description"]
        vpc = call.get("VpcId")
        router = self.os_id(Kind.VPC, vpc) if vpc else None
        if name.lower().startswith("sg-"):
            raise Ec2Error("InvalidParameterValue",
                           "Group names may not be in the format sg-*")
        for label, value in (("GroupName", name), ("GroupDescription", description)):
            if not value or len(value) > 255:
                raise Ec2Error("InvalidParameterValue",
                               f"Invalid value '{value}' for {label}. Length must be "
                               "between 1 and 255 characters.")
        tags = tag_specifications(call, "security-group")
        check_tags(tags)
        if router is None:
            group = self.groups.create(ctx, name, description)
        else:
            try:
                group = self.deps.vpc.security_groups.create(ctx, router, name, description)
            except sg.DuplicateGroup:
                raise Ec2Error("InvalidGroup.Duplicate", f"The security group '{name}' "
                               f"already exists for VPC '{vpc}' or another VPC of this "
                               "project: names are unique across VPCs in this cloud.") from None
        ec2_id = self._ec2_ids([group])[group.uuid]
        if tags:
            self.tags.create(ctx, [Resource(Kind.SECURITY_GROUP, ec2_id, group.uuid)], tags)
        return {"GroupId": ec2_id,
                "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())],
                "SecurityGroupArn": f"arn:aws:ec2:{self.deps.settings.region}:"
                                    f"{self.account(ctx.project_id)}:security-group/{ec2_id}"}

    @action("DescribeSecurityGroups", rules=(sg.LIST,))
    def describe_security_groups(self, call: Call) -> dict[str, Any]:
        ctx = call.ctx
        ids, names = call.get("GroupIds", []), call.get("GroupNames", [])
        max_results = call.get("MaxResults")
        reject_ids_with_max_results(ids or names, max_results,
                                    "groupIds" if ids else "groupNames")
        if max_results is not None and not 5 <= max_results <= 1000:
            raise Ec2Error("InvalidParameterValue",
                           f"Value ( {max_results} ) for parameter maxResults is invalid. "
                           "Expecting a value between 5 and 1000.")
        if ids or names:
            groups: dict[str, Group] = {}
            for ref in dict.fromkeys(ids):
                group = self._by_id(ctx, ref, sg.LIST)
                groups[group.uuid] = group
            for ref in dict.fromkeys(names):
                group = self._by_name(ctx, ref, sg.LIST)
                groups[group.uuid] = group
            found = list(groups.values())
        else:
            found = self.groups.list_groups(ctx)
        views = self._views(ctx, found)
        views = GROUP_FILTERS.apply(views, self.owner_filters(call.get("Filters")))
        views.sort(key=lambda v: v["GroupId"])
        chunk, token = page(views, lambda v: v["GroupId"], max_results, call.get("NextToken"))
        return {"SecurityGroups": chunk, "NextToken": token}

    @action("DeleteSecurityGroup", rules=(sg.DELETE,))
    def delete_security_group(self, call: Call) -> dict[str, Any]:
        ctx = call.ctx
        group = self._target(call, sg.DELETE)
        ec2_id = self._ec2_ids([group])[group.uuid]
        self.groups.delete(ctx, group.uuid)
        return {"Return": True, "GroupId": ec2_id}

    # ---- rules ---------------------------------------------------------------------
    def _specs(self, call: Call, group: Group, direction: str) -> list[RuleSpec]:
        """The rules a call names, in IpPermissions or the flat legacy parameters."""
        perms = list(call.get("IpPermissions", []))
        flat_protocol = call.get("IpProtocol")
        source = call.get("SourceSecurityGroupName")
        if not perms and (flat_protocol is not None or call.get("CidrIp") or source):
            perm: dict[str, Any] = {"IpProtocol": flat_protocol,
                                    "FromPort": call.get("FromPort"),
                                    "ToPort": call.get("ToPort")}
            if call.get("CidrIp"):
                perm["IpRanges"] = [{"CidrIp": call.get("CidrIp")}]
            if source:
                perm["UserIdGroupPairs"] = [{"GroupName": source,
                                             "UserId": call.get("SourceSecurityGroupOwnerId")}]
            if flat_protocol is None and source:
                # EC2-Classic's source-group grant: every protocol from the group.
                perm["IpProtocol"] = "-1"
            perms = [perm]
        if not perms:
            raise Ec2Error("MissingParameter",
                           "The request must contain the parameter ipPermissions")
        specs: list[RuleSpec] = []
        for perm in perms:
            specs.extend(self._perm_specs(call.ctx, perm, direction))
        if len(set(specs)) != len(specs):
            raise Ec2Error("InvalidParameterValue",
                           "The same permission must not appear multiple times")
        return specs

    def _perm_specs(self, ctx: RequestContext, perm: Mapping[str, Any],
                    direction: str) -> list[RuleSpec]:
        raw = perm.get("IpProtocol")
        if raw is None or str(raw) == "":
            raise Ec2Error("MissingParameter", "The request must contain the parameter "
                                               "ipProtocol")
        text = str(raw).strip().lower()
        if text not in PROTOCOLS:
            raise Ec2Error("InvalidParameterValue",
                           f"Invalid value '{raw}' for IP protocol. Unknown protocol.")
        protocol = PROTOCOLS[text]
        low, high = _int(perm.get("FromPort")), _int(perm.get("ToPort"))
        if protocol in ("tcp", "udp"):
            if low is None or high is None:
                raise Ec2Error("InvalidParameterValue", "Invalid value 'Must specify both "
                               "from and to ports with TCP/UDP.' for portRange.")
            for port in (low, high):
                if not 0 <= port <= 65535:
                    raise Ec2Error("InvalidParameterValue",
                                   f"TCP/UDP port ({port}) out of range")
            if low > high:
                raise Ec2Error("InvalidParameterValue",
                               f"Invalid TCP/UDP port range ({low}-{high}): the from port "
                               "must not be greater than the to port.")
        elif protocol == "icmp":
            if low is None or high is None:
                raise Ec2Error("InvalidParameterValue", "Invalid value 'Must specify both "
                               "from and to ports with ICMP.' for portRange.")
            for label, value in (("type", low), ("code", high)):
                if not -1 <= value <= 255:
                    raise Ec2Error("InvalidParameterValue",
                                   f"ICMP {label} ({value}) out of range")
        else:
            low = high = None  # every protocol: ports mean nothing, as in AWS
        if perm.get("PrefixListIds"):
            raise Ec2Error("InvalidParameterValue",
                           "Prefix lists are not supported by this cloud.")
        specs = []
        for item in perm.get("IpRanges") or []:
            specs.append(RuleSpec(direction, protocol, low, high,
                                  cidr=self._cidr(item.get("CidrIp"), 4),
                                  description=item.get("Description")))
        for item in perm.get("Ipv6Ranges") or []:
            specs.append(RuleSpec(direction, protocol, low, high,
                                  cidr=self._cidr(item.get("CidrIpv6"), 6),
                                  description=item.get("Description"), ethertype="IPv6"))
        for pair in perm.get("UserIdGroupPairs") or []:
            owner = pair.get("UserId")  # the caller's account id or project id
            if owner and owner not in (ctx.project_id, self.account(ctx.project_id)):
                ref = pair.get("GroupId") or pair.get("GroupName") or ""
                raise self._not_found(ref)
            if pair.get("GroupId"):
                source = self._by_id(ctx, pair["GroupId"])
            elif pair.get("GroupName"):
                source = self._by_name(ctx, pair["GroupName"])
            else:
                raise Ec2Error("MissingParameter", "The request must contain the parameter "
                                                   "groupId or groupName")
            specs.append(RuleSpec(direction, protocol, low, high, remote_group=source.uuid,
                                  description=pair.get("Description")))
        if not specs:
            raise Ec2Error("MissingParameter", "The request must contain the parameter "
                           "ipRanges, ipv6Ranges or groups")
        return specs

    @staticmethod
    def _cidr(value: Any, version: int) -> str:
        text = str(value or "")
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise Ec2Error("InvalidParameterValue", f"CIDR block {text} is malformed") from None
        if net.version != version or "/" not in text:
            raise Ec2Error("InvalidParameterValue", f"CIDR block {text} is malformed")
        return str(net)

    def _describe_rule(self, spec: RuleSpec, ids: Mapping[str, str]) -> str:
        peer = ids.get(spec.remote_group or "", spec.cidr or "")
        if spec.protocol in ("tcp", "udp"):
            what = f"{spec.protocol.upper()}, from port: {spec.port_min}, to port: {spec.port_max}"
        elif spec.protocol == "icmp":
            what = f"ICMP, type: {spec.port_min}, code: {spec.port_max}"
        else:
            what = "ALL"
        return f'peer: {peer}, {what}, ALLOW'

    def _authorize(self, call: Call, direction: str) -> dict[str, Any]:
        ctx = call.ctx
        group = self._target(call, sg.RULE_CREATE, name_allowed=direction == INGRESS)
        specs = self._specs(call, group, direction)
        try:
            added = self.groups.add_rules(ctx, group.uuid, specs)
        except sg.DuplicateRule as exc:
            ids = self._ec2_ids([group, *self._sources(ctx, specs)])
            raise Ec2Error("InvalidPermission.Duplicate", f'the specified rule '
                           f'"{self._describe_rule(exc.spec, ids)}" already exists') from None
        group = self.groups.get(ctx, group.uuid)
        ids, accounts = self._ec2_ids([group]), self._accounts([group])
        rules = rule_ids(self.deps.ids, [group])
        vpcs = {u: v.vpc_id for u, v in self.vpcs.shown(ctx, [
            (r.remote_group_uuid, r.remote_project_id or "", "") for r in added
            if r.remote_group_uuid]).items()}
        return {"Return": True, "SecurityGroupRules": [
            rule_view(r, rules, ids, accounts, group.project_id, vpcs) for r in added]}

    def _sources(self, ctx: RequestContext, specs: Sequence[RuleSpec]) -> list[Group]:
        return [self.groups.get(ctx, u) for u in {s.remote_group for s in specs
                                                  if s.remote_group}]

    def _revoke(self, call: Call, direction: str) -> dict[str, Any]:
        ctx = call.ctx
        group = self._target(call, sg.RULE_DELETE, name_allowed=direction == INGRESS)
        wanted_ids = call.get("SecurityGroupRuleIds", [])
        if wanted_ids:
            known = rule_ids(self.deps.ids, [group])
            by_id = {known[r.uuid]: r for r in group.rules if r.direction == direction}
            wanted = [canonical_id(Kind.SECURITY_GROUP_RULE, r) for r in wanted_ids]
            missing = [r for r in wanted if r not in by_id]
            if missing:
                raise errors.NotFound(kind="security_group_rule", ids=missing)
            specs = [by_id[r].spec() for r in dict.fromkeys(wanted)]
        else:
            specs = self._specs(call, group, direction)
        self.groups.remove_rules(ctx, group.uuid, specs)
        return {"Return": True}

    @action("AuthorizeSecurityGroupIngress", rules=(sg.RULE_CREATE,))
    def authorize_ingress(self, call: Call) -> dict[str, Any]:
        return self._authorize(call, INGRESS)

    @action("AuthorizeSecurityGroupEgress", rules=(sg.RULE_CREATE,))
    def authorize_egress(self, call: Call) -> dict[str, Any]:
        return self._authorize(call, EGRESS)

    @action("RevokeSecurityGroupIngress", rules=(sg.RULE_DELETE,))
    def revoke_ingress(self, call: Call) -> dict[str, Any]:
        return self._revoke(call, INGRESS)

    @action("RevokeSecurityGroupEgress", rules=(sg.RULE_DELETE,))
    def revoke_egress(self, call: Call) -> dict[str, Any]:
        return self._revoke(call, EGRESS)
