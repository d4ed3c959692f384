"""Network v2.0 (Neutron-compatible) handlers, keyed as the spec's operationIds.

Every collection is a :class:`resources.Collection` over one of the network
services (``core.network``); errors are rendered in Neutron's envelope by
:class:`gateway.openstack.faults.FaultRenderer` (see :mod:`.faults`).
"""

from __future__ import annotations

from typing import Any

from gateway.openstack.network.base import Handler, NetworkDeps
from gateway.openstack.network.extensions import Extensions
from gateway.openstack.network.quotas import Quotas
from gateway.openstack.network.resources import (
    FloatingIps,
    Networks,
    Ports,
    Routers,
    SecurityGroupRules,
    SecurityGroups,
    Subnets,
)
from gateway.openstack.network.tags import Tags
from gateway.openstack.network.versions import Versions

HANDLERS: dict[str, type[Handler]] = {
    "network_versions": Versions, "extensions": Extensions, "networks": Networks,
    "subnets": Subnets, "ports": Ports, "routers": Routers, "floatingips": FloatingIps,
    "security_groups": SecurityGroups, "security_group_rules": SecurityGroupRules,
    "quotas": Quotas, "tags": Tags}

__all__ = ["HANDLERS", "NetworkDeps", "build_handlers"]


def build_handlers(deps: NetworkDeps) -> dict[str, Any]:
    return {name: cls(deps) for name, cls in HANDLERS.items()}
