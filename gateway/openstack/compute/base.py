"""What every compute handler needs: the core services, the authenticator,
the endpoint's public URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connexion import NoContent, request

from core import errors
from core.compute.aggregates import AggregateService
from core.compute.consoles import ConsoleService
from core.compute.external_events import ExternalEvents
from core.compute.flavors import FlavorService
from core.compute.hosts import HostService
from core.compute.image_cache import AggregateImageCache
from core.compute.keypairs import KeyPairService
from core.compute.migration_records import MigrationRecords
from core.compute.move_actions import MoveActions
from core.compute.quotas import QuotaSetService
from core.compute.server_actions import ServerActions
from core.compute.server_diagnostics import ServerDiagnostics
from core.compute.server_fixed_ips import ServerFixedIps
from core.compute.server_groups import ServerGroupService
from core.compute.server_interfaces import ServerInterfaces
from core.compute.server_passwords import ServerPasswords
from core.compute.server_security_groups import ServerSecurityGroups
from core.compute.server_topology import ServerTopology
from core.compute.server_volumes import ServerVolumes
from core.compute.servers import ServerService
from core.compute.state_actions import StateActions
from core.compute.tenant_usage import TenantUsageService
from core.context import RequestContext
from core.network.floating import FloatingIpService
from core.network.security_groups import SecurityGroupService
from core.numbers import BadInteger, parse_int
from core.quota.service import QuotaService
from core.services import CoreServices
from core.settings import Settings
from gateway.openstack.auth import Authenticator


@dataclass(frozen=True)
class ComputeDeps:
    """The core services the compute handlers use, built once by the app factory."""

    settings: Settings
    auth: Authenticator
    base: str  # public URL of the compute endpoint, without version: http://h/compute
    flavors: FlavorService
    keypairs: KeyPairService
    quotas: QuotaService
    quota_sets: QuotaSetService
    server_groups: ServerGroupService
    hosts: HostService
    servers: ServerService
    server_actions: ServerActions
    state_actions: StateActions
    security_groups: SecurityGroupService
    server_security_groups: ServerSecurityGroups
    server_interfaces: ServerInterfaces
    floating_ips: FloatingIpService  # the os-floating-ips proxy's
    server_volumes: ServerVolumes
    move_actions: MoveActions
    migrations: MigrationRecords
    server_fixed_ips: ServerFixedIps
    aggregates: AggregateService
    image_cache: AggregateImageCache
    tenant_usage: TenantUsageService
    consoles: ConsoleService
    server_passwords: ServerPasswords
    server_diagnostics: ServerDiagnostics
    server_topology: ServerTopology
    external_events: ExternalEvents

    @classmethod
    def from_core(cls, core: CoreServices, auth: Authenticator, base: str) -> ComputeDeps:
        return cls(settings=core.settings, auth=auth, base=base, flavors=core.flavors,
                   keypairs=core.keypairs, quotas=core.quotas, quota_sets=core.quota_sets,
                   server_groups=core.server_groups, hosts=core.hosts, servers=core.servers,
                   server_actions=core.server_actions, state_actions=core.state_actions,
                   security_groups=core.security_groups,
                   server_security_groups=core.server_security_groups,
                   server_interfaces=core.server_interfaces, floating_ips=core.floating_ips,
                   server_volumes=core.server_volumes, move_actions=core.move_actions,
                   migrations=core.migrations, server_fixed_ips=core.server_fixed_ips,
                   aggregates=core.aggregates, image_cache=core.image_cache,
                   tenant_usage=core.tenant_usage,
                   consoles=core.consoles,
                   server_passwords=core.server_passwords,
                   server_diagnostics=core.server_diagnostics,
                   server_topology=core.server_topology,
                   external_events=core.external_events)


class Handler:
    def __init__(self, deps: ComputeDeps) -> None:
        self.deps = deps
        self.auth = deps.auth

    def context(self) -> RequestContext:
        return self.auth.context()

    def authorized(self, rule: str, target: dict[str, Any] | None = None) -> RequestContext:
        """The caller's context, once ``rule`` allows it (for operations without
        a core service of their own)."""
        ctx = self.context()
        self.auth.policy.enforce(rule, target or {"project_id": ctx.project_id}, ctx)
        return ctx

    @staticmethod
    def query(name: str) -> str | None:
        return request.query_params.get(name)

    def links(self, collection: str, ident: str) -> list[dict[str, str]]:
        """Nova's self (versioned) and bookmark (unversioned) links."""
        return [{"rel": "self", "href": f"{self.deps.base}/v2.1/{collection}/{ident}"},
                {"rel": "bookmark", "href": f"{self.deps.base}/{collection}/{ident}"}]


MAX_INT = 0x7FFFFFFF


def query_int(name: str, minimum: int = 0) -> int | None:
    """An integer query parameter, 400 if it is not one; capped at the largest
    value a column holds (larger ones mean the same and overflow some drivers)."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return parse_int(raw, minimum, MAX_INT, cap=True)
    except BadInteger:
        raise errors.InvalidInput(f"Invalid {name} filter [{raw}]") from None


def parse_bool(raw: Any, name: str) -> bool:
    """oslo's strict bool_from_string."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "t", "true", "on", "y", "yes"):
        return True
    if text in ("0", "f", "false", "off", "n", "no"):
        return False
    raise errors.InvalidInput(f"Invalid value '{raw}' for {name}: it must be a boolean.")


NO_CONTENT = (NoContent, 204)
ACCEPTED = (NoContent, 202)
