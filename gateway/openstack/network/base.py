"""What every network handler needs: the network services, the authenticator
the other OpenStack APIs use, and the endpoint's public URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connexion import NoContent, request

from core import errors
from core.context import RequestContext
from core.network.services import NetworkServices
from core.services import CoreServices
from core.settings import Settings
from gateway.openstack.auth import Authenticator
from gateway.openstack.network import views
from gateway.openstack.network.query import fields_of

NO_CONTENT = (NoContent, 204)


@dataclass(frozen=True)
class NetworkDeps:
    """Built once by the app factory."""

    settings: Settings
    auth: Authenticator
    base: str  # public URL of the endpoint, without version: http://h/networking
    network: NetworkServices

    @classmethod
    def from_core(cls, core: CoreServices, auth: Authenticator, base: str) -> NetworkDeps:
        return cls(settings=core.settings, auth=auth, base=base, network=core.network)


class Handler:
    def __init__(self, deps: NetworkDeps) -> None:
        self.deps = deps
        self.auth = deps.auth

    def context(self) -> RequestContext:
        return self.auth.context()

    def authorized(self, rule: str) -> RequestContext:
        """The caller's context, once ``rule`` allows it (for the operations
        no network service answers: extensions)."""
        ctx = self.context()
        self.auth.policy.enforce(rule, {"project_id": ctx.project_id}, ctx)
        return ctx

    @staticmethod
    def shown(record: dict[str, Any]) -> dict[str, Any]:
        """One record as the answer shows it, with the request's ``fields=``."""
        return views.render(record, fields_of(request.query_params))


def member_body(body: Any, key: str) -> dict[str, Any]:
    """The resource inside a ``{"<key>": {...}}`` request body, with
    ``tenant_id`` read as ``project_id`` (Neutron's clients send either)."""
    attrs = dict(body[key]) if isinstance(body, dict) and isinstance(body.get(key), dict) \
        else None
    if attrs is None:
        raise errors.InvalidInput(f"Resource body required: expected '{key}'.", param=key)
    tenant = attrs.pop("tenant_id", None)
    if tenant is not None:
        if attrs.get("project_id", tenant) != tenant:
            raise errors.InvalidInput("'project_id' and 'tenant_id' do not match",
                                      param="tenant_id")
        attrs["project_id"] = tenant
    return attrs
