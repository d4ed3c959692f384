"""DescribeAccountAttributes: what infrastructure tools probe before they start."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.idmap.ids import Kind
from gateway.ec2.api import Call, action
from gateway.ec2.errors import Ec2Error
from gateway.ec2.handlers.base import Handler


class Account(Handler):
    def _attributes(self, call: Call) -> dict[str, Callable[[], list[str]]]:
        limits: dict[str, int] = {}

        def limit(resource: str) -> Callable[[], list[str]]:
            def read() -> list[str]:
                if not limits:  # one read for all the quota attributes
                    limits.update(self.deps.quotas.limits_for(call.ctx.project_id or "",
                                                              call.ctx.user_id))
                return [str(limits[resource])]
            return read

        return {"supported-platforms": lambda: ["VPC"],
                # The router on the shared default network, as DescribeVpcs shows it.
                "default-vpc": lambda: self._default_vpc(call),
                "max-instances": limit("instances"),
                "max-elastic-ips": limit("floating_ips"),
                "vpc-max-elastic-ips": limit("floating_ips"),
                "vpc-max-security-groups-per-interface": lambda: ["5"]}

    def _default_vpc(self, call: Call) -> list[str]:
        found = [v for v in self.deps.vpc.vpcs.list(call.ctx) if v.is_default]
        ids = self.deps.ids.ec2_ids_for(Kind.VPC, [(v.router_id, v.project_id) for v in found])
        return [ids[v.router_id] for v in found] or ["none"]

    @action("DescribeAccountAttributes")
    def describe_account_attributes(self, call: Call) -> dict[str, Any]:
        attributes = self._attributes(call)
        names = call.get("AttributeNames", []) or list(attributes)
        unknown = [n for n in names if n not in attributes]
        if unknown:
            raise Ec2Error("InvalidParameterValue",
                           f"Invalid attribute name: {', '.join(unknown)}")
        return {"AccountAttributes": [
            {"AttributeName": name,
             "AttributeValues": [{"AttributeValue": v} for v in attributes[name]()]}
            for name in dict.fromkeys(names)]}
