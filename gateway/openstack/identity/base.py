"""What every identity handler needs: services, the authenticator, views."""

from __future__ import annotations

from dataclasses import dataclass

from connexion import NoContent, request

from core.identity.service import IdentityService
from core.settings import Settings
from gateway.openstack.auth import Authenticator
from gateway.openstack.identity.views import IdentityViews
from gateway.openstack.params import parse_bool


@dataclass(frozen=True)
class IdentityDeps:
    settings: Settings
    identity: IdentityService
    auth: Authenticator
    views: IdentityViews


class Handler:
    def __init__(self, deps: IdentityDeps) -> None:
        self.settings = deps.settings
        self.identity = deps.identity
        self.auth = deps.auth
        self.views = deps.views

    @staticmethod
    def query(name: str) -> str | None:
        return request.query_params.get(name)

    @staticmethod
    def query_bool(name: str) -> bool | None:
        """Keystone's flag semantics: present without a value, or a truthy word."""
        params = request.query_params  # each access builds a new request object
        if name not in params:
            return None
        value = params.get(name)
        if value in ("", None):
            return True
        return parse_bool(value, name)


NO_CONTENT = (NoContent, 204)
