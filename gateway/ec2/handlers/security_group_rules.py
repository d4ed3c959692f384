"""DescribeSecurityGroupRules, and the ``SecurityGroupRule`` shape the
Authorize actions answer with too: each rule of a group (a rule of the
Network API's security groups) under the ``sgr-`` ID minted for its uuid; a
rule naming a source group names that group's VPC too."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core import errors
from core.idmap.ids import Ec2Ids, Kind, canonical_id
from core.network import security_groups as sg
from core.network.security_group_types import EGRESS, Group, Rule
from gateway.ec2.api import Call, action
from gateway.ec2.errors import Ec2Error
from gateway.ec2.filters import Filters
from gateway.ec2.handlers.base import Handler
from gateway.ec2.handlers.group_vpcs import GroupVpcs
from gateway.ec2.handlers.network_names import NetworkNames
from gateway.ec2.paging import page, reject_ids_with_max_results

RULE_FILTERS: Filters[dict[str, Any]] = Filters({
    "group-id": lambda r: r["GroupId"],
    "security-group-rule-id": lambda r: r["SecurityGroupRuleId"],
}, tags=lambda r: {t["Key"]: t["Value"] for t in r.get("Tags") or []})


def rule_ids(ids: Ec2Ids, groups: Sequence[Group]) -> dict[str, str]:
    """``sgr-`` IDs by rule uuid (minted on first sight)."""
    return ids.ec2_ids_for(Kind.SECURITY_GROUP_RULE,
                           [(r.uuid, g.project_id) for g in groups for r in g.rules])


def rule_view(rule: Rule, rules: Mapping[str, str], ids: Mapping[str, str],
              accounts: Mapping[str, str], owner: str,
              vpcs: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One ``SecurityGroupRule`` (``rules``: sgr- IDs, ``ids``: groups' sg- IDs
    by uuid, ``accounts``: account ids by project, ``vpcs``: groups' VPC IDs
    by uuid)."""
    out: dict[str, Any] = {
        "SecurityGroupRuleId": rules.get(rule.uuid), "GroupId": ids.get(rule.group_uuid),
        "GroupOwnerId": accounts.get(owner), "IsEgress": rule.direction == EGRESS,
        "IpProtocol": rule.protocol or "-1", "FromPort": rule.port_min,
        "ToPort": rule.port_max, "Description": rule.description, "Tags": []}
    if rule.protocol is None:
        out["FromPort"] = out["ToPort"] = -1
    if rule.remote_group_uuid:
        out["ReferencedGroupInfo"] = {"GroupId": ids.get(rule.remote_group_uuid),
                                      "UserId": accounts.get(rule.remote_project_id or ""),
                                      "VpcId": (vpcs or {}).get(rule.remote_group_uuid)}
    elif rule.cidr and ":" in rule.cidr:
        out["CidrIpv6"] = rule.cidr
    else:
        out["CidrIpv4"] = rule.cidr
    return out


class SecurityGroupRules(Handler):
    @action("DescribeSecurityGroupRules", rules=(sg.LIST,))
    def describe_security_group_rules(self, call: Call) -> dict[str, Any]:
        ctx = call.ctx
        wanted = [canonical_id(Kind.SECURITY_GROUP_RULE, v)
                  for v in call.get("SecurityGroupRuleIds", [])]
        max_results = call.get("MaxResults")
        reject_ids_with_max_results(wanted, max_results, "securityGroupRuleIds")
        if max_results is not None and not 5 <= max_results <= 1000:
            raise Ec2Error("InvalidParameterValue",
                           f"Value ( {max_results} ) for parameter maxResults is invalid. "
                           "Expecting a value between 5 and 1000.")
        groups = [g for g in self.deps.security_groups.list_groups(ctx)
                  if g.project_id == ctx.project_id]
        rules = rule_ids(self.deps.ids, groups)
        uuids = {g.uuid: g.project_id for g in groups}
        uuids.update((r.remote_group_uuid, r.remote_project_id or "") for g in groups
                     for r in g.rules if r.remote_group_uuid)
        ids = self.deps.ids.ec2_ids_for(Kind.SECURITY_GROUP, uuids.items())
        accounts = self.accounts(set(uuids.values()))
        shown = GroupVpcs(self.deps, NetworkNames(self.deps.ids, self.deps.network)).shown(
            ctx, [(u, p, "") for u, p in uuids.items()])
        vpcs = {u: v.vpc_id for u, v in shown.items()}
        region = self.deps.settings.region
        views = []
        for g in groups:
            for r in g.rules:
                view = rule_view(r, rules, ids, accounts, g.project_id, vpcs)
                view["SecurityGroupRuleArn"] = (
                    f"arn:aws:ec2:{region}:{accounts.get(g.project_id)}:security-group-rule/"
                    f"{view['SecurityGroupRuleId']}")
                views.append(view)
        if wanted:
            known = {v["SecurityGroupRuleId"] for v in views}
            missing = [w for w in dict.fromkeys(wanted) if w not in known]
            if missing:
                raise errors.NotFound(kind="security_group_rule", ids=missing)
            views = [v for v in views if v["SecurityGroupRuleId"] in set(wanted)]
        views = RULE_FILTERS.apply(views, self.owner_filters(call.get("Filters")))
        views.sort(key=lambda v: v["SecurityGroupRuleId"])
        chunk, token = page(views, lambda v: v["SecurityGroupRuleId"], max_results,
                            call.get("NextToken"))
        return {"SecurityGroupRules": chunk, "NextToken": token}
