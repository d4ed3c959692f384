"""The network domain's services, built together (``build_network``) and
handed to the API edges, compute and the conductor as one bundle."""

from __future__ import annotations

from dataclasses import dataclass

from core.context import RequestContext
from core.db import Database
from core.network.floating import FloatingIpApi, FloatingIpService
from core.network.instance_ports import InstanceNetworking
from core.network.interfaces import InstanceRecords
from core.network.networks import NetworkService
from core.network.ports import PortService
from core.network.quotas import NetworkQuotas
from core.network.routers import RouterService
from core.network.security_group_api import SecurityGroupApi, SecurityGroupRuleApi
from core.network.security_groups import NEUTRON_RULES, SecurityGroupService
from core.network.subnets import SubnetService
from core.network.tags import NetworkTags
from core.policy import PolicyEnforcer
from core.quota.service import QuotaService


@dataclass(frozen=True)
class NetworkServices:
    networks: NetworkService
    subnets: SubnetService
    ports: PortService
    routers: RouterService
    floating_ips: FloatingIpApi
    security_groups: SecurityGroupApi
    security_group_rules: SecurityGroupRuleApi
    tags: NetworkTags
    quotas: NetworkQuotas
    instances: InstanceNetworking
    # the Nova and EC2 faces of groups and addresses
    nova_security_groups: SecurityGroupService
    elastic_ips: FloatingIpService


def build_network(db: Database, policy: PolicyEnforcer, quotas: QuotaService,
                  records: InstanceRecords) -> NetworkServices:
    nova_groups = SecurityGroupService(db, policy, records, quotas)
    neutron_groups = SecurityGroupService(db, policy, records, quotas, rules=NEUTRON_RULES)
    networks = NetworkService(db, policy, quotas)
    subnets = SubnetService(db, policy, quotas, networks)
    ports = PortService(db, policy, quotas, networks, nova_groups.ensure_default)
    routers = RouterService(db, policy, quotas, networks, subnets)
    floating = FloatingIpApi(db, policy, quotas, networks)
    groups = SecurityGroupApi(db, neutron_groups)

    def finder(service):
        def find(ctx: RequestContext, id: str, write: bool) -> str:
            with db.session() as s:
                action = f"update_{service.resource}" if write else None
                return service.row(s, ctx, id, action).id
        return find

    def group_finder(ctx: RequestContext, id: str, write: bool) -> str:
        group = neutron_groups.get(ctx, id, "network:update_security_group" if write else None)
        return group.uuid

    tags = NetworkTags(db, {"networks": finder(networks), "subnets": finder(subnets),
                            "ports": finder(ports), "routers": finder(routers),
                            "floatingips": finder(floating), "security-groups": group_finder})
    return NetworkServices(
        networks=networks, subnets=subnets, ports=ports, routers=routers,
        floating_ips=floating, security_groups=groups,
        security_group_rules=SecurityGroupRuleApi(db, neutron_groups), tags=tags,
        quotas=NetworkQuotas(quotas, policy), instances=InstanceNetworking(db, quotas),
        nova_security_groups=nova_groups,
        elastic_ips=FloatingIpService(db, policy, quotas, networks))
