"""Compute v2.1 (Nova-compatible) handlers, keyed as the spec's operationIds.

Adding a resource: write its handler module, add its classes to
:data:`HANDLERS` under the operationId prefixes the spec uses, its services to
:class:`ComputeDeps`, and its extensions to ``extensions.EXTENSIONS``.
Microversions: see :mod:`gateway.openstack.compute.microversions`.
"""

from __future__ import annotations

from typing import Any

from gateway.openstack.compute.aggregates import Aggregates
from gateway.openstack.compute.base import ComputeDeps, Handler
from gateway.openstack.compute.consoles import ConsoleAuthTokens, ConsoleProxy, RemoteConsoles
from gateway.openstack.compute.diagnostics import Diagnostics
from gateway.openstack.compute.extensions import Extensions
from gateway.openstack.compute.external_events import ServerExternalEvents
from gateway.openstack.compute.flavors import ExtraSpecs, FlavorAccess, Flavors
from gateway.openstack.compute.floating_ips import FloatingIps
from gateway.openstack.compute.hosts import AvailabilityZones, ComputeServices
from gateway.openstack.compute.hypervisors import Hypervisors
from gateway.openstack.compute.instance_actions import InstanceActions
from gateway.openstack.compute.interfaces import ServerInterfacesHandler
from gateway.openstack.compute.keypairs import Keypairs
from gateway.openstack.compute.limits import Limits, QuotaClassSets, QuotaSets
from gateway.openstack.compute.migrations import Migrations, ServerMigrations
from gateway.openstack.compute.security_groups import (
    SecurityGroupRules,
    SecurityGroups,
    ServerSecurityGroups,
)
from gateway.openstack.compute.server_groups import ServerGroups
from gateway.openstack.compute.server_password import ServerPassword
from gateway.openstack.compute.server_topology import ServerTopologyHandler
from gateway.openstack.compute.servers import ServerMetadata, Servers, ServerTags
from gateway.openstack.compute.usage import TenantUsage
from gateway.openstack.compute.versions import Versions
from gateway.openstack.compute.volume_attachments import VolumeAttachments

HANDLERS: dict[str, type[Handler]] = {
    "compute_versions": Versions, "extensions": Extensions, "flavors": Flavors,
    "extra_specs": ExtraSpecs, "flavor_access": FlavorAccess, "keypairs": Keypairs,
    "limits": Limits, "quota_sets": QuotaSets, "quota_class_sets": QuotaClassSets, "availability_zones": AvailabilityZones,
    "hypervisors": Hypervisors, "compute_services": ComputeServices,
    "server_groups": ServerGroups, "servers": Servers, "server_metadata": ServerMetadata,
    "server_tags": ServerTags, "security_groups": SecurityGroups,
    "security_group_rules": SecurityGroupRules, "server_security_groups": ServerSecurityGroups,
    "server_interfaces": ServerInterfacesHandler, "floating_ips": FloatingIps,
    "volume_attachments": VolumeAttachments, "migrations": Migrations,
    "server_migrations": ServerMigrations, "instance_actions": InstanceActions,
    "aggregates": Aggregates,
    "tenant_usage": TenantUsage,
    "remote_consoles": RemoteConsoles, "console_proxy": ConsoleProxy,
    "console_auth_tokens": ConsoleAuthTokens,
    "server_password": ServerPassword, "server_diagnostics": Diagnostics,
    "server_topology": ServerTopologyHandler,
    "server_external_events": ServerExternalEvents}

__all__ = ["HANDLERS", "ComputeDeps", "build_handlers"]


def build_handlers(deps: ComputeDeps) -> dict[str, Any]:
    return {name: cls(deps) for name, cls in HANDLERS.items()}
