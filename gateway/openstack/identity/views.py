"""Identity resources as Keystone's JSON shows them."""

from __future__ import annotations

from typing import Any

from core.identity.assignment import RoleAssignment
from core.identity.ec2_credentials import Ec2Credential
from core.identity.models import (
    ApplicationCredential,
    Domain,
    Endpoint,
    Group,
    Project,
    Region,
    Role,
    Service,
    User,
)
from core.identity.tokens import Token
from gateway.jsonutil import isotime


class IdentityViews:
    """Renders entities with links under one base URL (``…/identity/v3``)."""

    def __init__(self, base: str) -> None:
        self.base = base

    def collection(self, key: str, items: list[dict], path: str) -> dict[str, Any]:
        return {key: items, "links": {"self": f"{self.base}/{path}", "previous": None,
                                      "next": None}}

    def domain(self, d: Domain) -> dict[str, Any]:
        return {"id": d.id, "name": d.name, "description": d.description or "",
                "enabled": d.enabled, "tags": [], "options": {},
                "links": {"self": f"{self.base}/domains/{d.id}"}}

    def project(self, p: Project) -> dict[str, Any]:
        out = dict(p.extra or {})
        out.update({"id": p.id, "name": p.name, "domain_id": p.domain_id,
                    "description": p.description or "", "enabled": p.enabled,
                    "parent_id": p.parent_id or p.domain_id, "is_domain": False,
                    "tags": list(p.tags or []), "options": {},
                    "links": {"self": f"{self.base}/projects/{p.id}"}})
        return out

    def user(self, u: User) -> dict[str, Any]:
        out = dict(u.extra or {})
        out.update({"id": u.id, "name": u.name, "domain_id": u.domain_id,
                    "enabled": u.enabled, "password_expires_at": None, "options": {},
                    "links": {"self": f"{self.base}/users/{u.id}"}})
        if u.default_project_id:
            out["default_project_id"] = u.default_project_id
        if u.description is not None:
            out["description"] = u.description
        if u.email is not None:
            out["email"] = u.email
        return out

    def group(self, g: Group) -> dict[str, Any]:
        return {"id": g.id, "name": g.name, "domain_id": g.domain_id,
                "description": g.description or "",
                "links": {"self": f"{self.base}/groups/{g.id}"}}

    def role(self, r: Role) -> dict[str, Any]:
        return {"id": r.id, "name": r.name, "domain_id": None, "description": r.description,
                "options": {}, "links": {"self": f"{self.base}/roles/{r.id}"}}

    def role_ref(self, r: Role) -> dict[str, Any]:
        return {"id": r.id, "name": r.name,
                "links": {"self": f"{self.base}/roles/{r.id}"}}

    def implied_role(self, prior: Role, implied: list[Role]) -> dict[str, Any]:
        return {"prior_role": self.role_ref(prior),
                "implies": [self.role_ref(r) for r in implied]}

    def region(self, r: Region) -> dict[str, Any]:
        return {"id": r.id, "description": r.description or "",
                "parent_region_id": r.parent_region_id,
                "links": {"self": f"{self.base}/regions/{r.id}"}}

    def service(self, s: Service) -> dict[str, Any]:
        return {"id": s.id, "type": s.type, "name": s.name, "description": s.description,
                "enabled": s.enabled, "links": {"self": f"{self.base}/services/{s.id}"}}

    def endpoint(self, e: Endpoint) -> dict[str, Any]:
        return {"id": e.id, "service_id": e.service_id, "interface": e.interface,
                "region_id": e.region_id, "region": e.region_id, "url": e.url,
                "enabled": e.enabled, "links": {"self": f"{self.base}/endpoints/{e.id}"}}

    def ec2_credential(self, c: Ec2Credential) -> dict[str, Any]:
        return {"user_id": c.user_id, "tenant_id": c.project_id, "access": c.access,
                "secret": c.secret, "trust_id": c.trust_id,
                "links": {"self": f"{self.base}/users/{c.user_id}/credentials/OS-EC2/"
                                  f"{c.access}"}}

    def app_credential(self, c: ApplicationCredential, roles: list[Role],
                       secret: str | None = None) -> dict[str, Any]:
        out = {"id": c.id, "name": c.name, "description": c.description,
               "user_id": c.user_id, "project_id": c.project_id,
               "expires_at": isotime(c.expires_at), "unrestricted": c.unrestricted,
               "access_rules": [],
               "roles": [{"id": r.id, "name": r.name, "domain_id": None} for r in roles],
               "links": {"self": f"{self.base}/users/{c.user_id}/application_credentials/"
                                 f"{c.id}"}}
        if secret is not None:
            out["secret"] = secret
        return out

    def role_assignment(self, a: RoleAssignment) -> dict[str, Any]:
        names = a.names
        out: dict[str, Any] = {"role": {"id": a.role_id, **names.get("role", {})}}
        if a.user_id:
            out["user"] = {"id": a.user_id, **names.get("user", {})}
        if a.group_id:
            out["group"] = {"id": a.group_id, **names.get("group", {})}
        if a.project_id:
            out["scope"] = {"project": {"id": a.project_id, **names.get("project", {})}}
        else:
            out["scope"] = {"domain": {"id": a.domain_id, **names.get("domain", {})}}
        scope = (f"projects/{a.project_id}" if a.project_id else f"domains/{a.domain_id}")
        actor = (f"groups/{a.via_group_id or a.group_id}" if (a.via_group_id or a.group_id)
                 else f"users/{a.user_id}")
        links = {"assignment": f"{self.base}/{scope}/{actor}/roles/"
                               f"{a.prior_role_id or a.role_id}"}
        if a.via_group_id:
            links["membership"] = f"{self.base}/groups/{a.via_group_id}/users/{a.user_id}"
        if a.prior_role_id:
            links["prior_role"] = f"{self.base}/roles/{a.prior_role_id}"
        out["links"] = links
        return out

    def token(self, t: Token, catalog: list[dict] | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "methods": list(t.methods), "expires_at": isotime(t.expires_at),
            "issued_at": isotime(t.issued_at), "audit_ids": list(t.audit_ids),
            "user": {"id": t.user.id, "name": t.user.name,
                     "domain": {"id": t.user_domain.id, "name": t.user_domain.name},
                     "password_expires_at": None},
        }
        if t.project is not None and t.project_domain is not None:
            body["project"] = {"id": t.project.id, "name": t.project.name,
                               "domain": {"id": t.project_domain.id,
                                          "name": t.project_domain.name}}
            body["is_domain"] = False
        elif t.domain is not None:
            body["domain"] = {"id": t.domain.id, "name": t.domain.name}
        if t.project is not None or t.domain is not None:
            body["roles"] = [{"id": r.id, "name": r.name} for r in t.roles]
        if t.app_cred is not None:
            body["application_credential"] = {"id": t.app_cred.id, "name": t.app_cred.name,
                                              "restricted": not t.app_cred.unrestricted}
        if catalog is not None:
            body["catalog"] = catalog
        return {"token": body}
