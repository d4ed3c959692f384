"""Identity v3 (Keystone-compatible) handlers, keyed as the spec's operationIds."""

from __future__ import annotations

from typing import Any

from gateway.openstack.identity.base import IdentityDeps
from gateway.openstack.identity.catalog import Endpoints, Regions, Services
from gateway.openstack.identity.credentials import AppCredentials, Ec2Credentials
from gateway.openstack.identity.resources import Domains, Projects
from gateway.openstack.identity.roles import Grants, RoleAssignments, Roles
from gateway.openstack.identity.tokens import Tokens
from gateway.openstack.identity.users import Groups, Users
from gateway.openstack.identity.versions import Versions

HANDLERS = {"versions": Versions, "tokens": Tokens, "domains": Domains, "projects": Projects,
            "users": Users, "groups": Groups, "roles": Roles, "grants": Grants,
            "role_assignments": RoleAssignments, "regions": Regions, "services": Services,
            "endpoints": Endpoints, "ec2_credentials": Ec2Credentials,
            "app_credentials": AppCredentials}


def build_handlers(deps: IdentityDeps) -> dict[str, Any]:
    return {name: cls(deps) for name, cls in HANDLERS.items()}
