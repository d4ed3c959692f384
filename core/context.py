"""The request context passed from the edge to every core service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RequestContext:
    """Who is calling, in which scope, with which effective roles.

    Built by the edge from a validated token (or an EC2 credential) and passed
    to core services, which use it for policy checks and ownership.
    """

    user_id: str | None = None
    user_name: str | None = None
    user_domain_id: str | None = None
    project_id: str | None = None
    project_name: str | None = None
    project_domain_id: str | None = None
    domain_id: str | None = None  # set for domain-scoped tokens
    system_scope: str | None = None  # "all" for system-scoped tokens
    roles: tuple[str, ...] = ()
    role_ids: tuple[str, ...] = ()
    is_admin: bool = False
    audit_ids: tuple[str, ...] = ()
    app_cred_id: str | None = None
    request_id: str | None = None
    auth_methods: tuple[str, ...] = field(default=())

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    def policy_credentials(self) -> dict[str, Any]:
        """The credentials dict policy check strings are evaluated against.

        Shaped like oslo.context's ``to_policy_values()`` so that rules written
        for Keystone and Nova (``project_id:%(project_id)s``,
        ``token.domain.id:…``) work unchanged.
        """
        return {
            "user_id": self.user_id,
            "user_domain_id": self.user_domain_id,
            "project_id": self.project_id,
            "project_domain_id": self.project_domain_id,
            "domain_id": self.domain_id,
            "system_scope": self.system_scope,
            "roles": [r.lower() for r in self.roles],
            "is_admin": self.is_admin,
            "token": {
                "user": {"id": self.user_id, "domain": {"id": self.user_domain_id}},
                "project": {"id": self.project_id, "domain": {"id": self.project_domain_id}},
                "domain": {"id": self.domain_id},
            },
        }


ANONYMOUS = RequestContext()
