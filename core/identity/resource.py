"""Domains and projects."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from core import errors
from core.context import RequestContext
from core.db import Database
from core.db.queries import commit_unique, filtered, get_or_not_found
from core.identity.models import (
    ApplicationCredential,
    Assignment,
    Credential,
    Domain,
    Group,
    Project,
    User,
)
from core.identity.targets import target
from core.policy import PolicyEnforcer

DEFAULT_DOMAIN_ID = "default"


def domain_target(d: Domain) -> dict:
    return {"id": d.id, "name": d.name}


def project_target(p: Project) -> dict:
    return {"id": p.id, "domain_id": p.domain_id, "name": p.name}


class ResourceService:
    def __init__(self, db: Database, policy: PolicyEnforcer) -> None:
        self.db = db
        self.policy = policy

    # ---- domains -------------------------------------------------------
    def list_domains(self, ctx: RequestContext, name: str | None = None,
                     enabled: bool | None = None) -> list[Domain]:
        self.policy.enforce("identity:list_domains", target(), ctx)
        q = filtered(select(Domain).order_by(Domain.name), Domain, name=name, enabled=enabled)
        with self.db.session() as s:
            return list(s.scalars(q))

    def get_domain(self, ctx: RequestContext, domain_id: str) -> Domain:
        with self.db.session() as s:
            d = s.get(Domain, domain_id)
        # Without access, a missing domain and a hidden one look the same.
        self.policy.enforce("identity:get_domain",
                            target(domain={"id": domain_id}, domain_id=domain_id), ctx)
        if d is None:
            raise errors.NotFound(f"Could not find domain: {domain_id}.")
        return d

    def create_domain(self, ctx: RequestContext, name: str, description: str | None = None,
                      enabled: bool = True, domain_id: str | None = None) -> Domain:
        self.policy.enforce("identity:create_domain", target(domain={"name": name}), ctx)
        with self.db.session() as s:
            d = Domain(name=name, description=description, enabled=enabled)
            if domain_id:
                d.id = domain_id
            s.add(d)
            commit_unique(s, f"Conflict occurred attempting to store domain - "
                             f"Duplicate entry found with name {name}.")
            return d

    def update_domain(self, ctx: RequestContext, domain_id: str, changes: dict[str, Any],
                      on_disable=None) -> Domain:
        self.policy.enforce("identity:update_domain", target(domain={"id": domain_id}), ctx)
        with self.db.session() as s:
            d = get_or_not_found(s, Domain, domain_id, "domain")
            for key in ("name", "description", "enabled"):
                if key in changes:
                    setattr(d, key, changes[key])
            commit_unique(s, f"Conflict occurred attempting to update domain - "
                             f"Duplicate entry found with name {changes.get('name')}.")
            return d

    def delete_domain(self, ctx: RequestContext, domain_id: str) -> None:
        self.policy.enforce("identity:delete_domain", target(domain={"id": domain_id}), ctx)
        with self.db.session() as s:
            d = get_or_not_found(s, Domain, domain_id, "domain")
            if d.enabled:
                raise errors.InvalidInput(
                    "Cannot delete a domain that is enabled, please disable it first.")
            if domain_id == DEFAULT_DOMAIN_ID:
                raise errors.Forbidden("The default domain cannot be deleted.")
            for model in (Project, User, Group):
                if s.scalar(select(model.id).where(model.domain_id == domain_id).limit(1)):
                    raise errors.Conflict(
                        f"Cannot delete domain {domain_id}: it still owns "
                        f"{model.__tablename__}; delete them first.")
            s.execute(delete(Assignment).where(Assignment.target_id == domain_id))
            s.delete(d)

    # ---- projects ------------------------------------------------------
    def resolve_domain(self, s, domain_id: str | None = None, domain_name: str | None = None
                       ) -> Domain:
        if domain_id:
            d = s.get(Domain, domain_id)
        elif domain_name:
            d = s.scalar(select(Domain).where(Domain.name == domain_name))
        else:
            d = s.get(Domain, DEFAULT_DOMAIN_ID)
        if d is None:
            raise errors.NotFound(f"Could not find domain: {domain_id or domain_name}.")
        return d

    def list_projects(self, ctx: RequestContext, name: str | None = None,
                      domain_id: str | None = None, enabled: bool | None = None,
                      parent_id: str | None = None) -> list[Project]:
        self.policy.enforce("identity:list_projects", target(domain_id=domain_id), ctx)
        q = filtered(select(Project).order_by(Project.name), Project, name=name,
                     domain_id=domain_id, enabled=enabled, parent_id=parent_id)
        with self.db.session() as s:
            return list(s.scalars(q))

    def project_exists(self, project_id: str) -> bool:
        """Whether the project exists (no policy: other domains ask, e.g. flavor access)."""
        with self.db.session() as s:
            return s.get(Project, project_id) is not None

    def get_project(self, ctx: RequestContext, project_id: str) -> Project:
        with self.db.session() as s:
            p = s.get(Project, project_id)
        tgt = project_target(p) if p else {"id": project_id, "domain_id": None}
        self.policy.enforce("identity:get_project", target(project=tgt), ctx)
        if p is None:
            raise errors.NotFound(f"Could not find project: {project_id}.", kind="project",
                                  id=project_id)
        return p

    def create_project(self, ctx: RequestContext, name: str, domain_id: str | None = None,
                       description: str | None = None, enabled: bool = True,
                       parent_id: str | None = None, tags: list[str] | None = None,
                       extra: dict | None = None) -> Project:
        with self.db.session() as s:
            parent = get_or_not_found(s, Project, parent_id, "project") if parent_id else None
            if parent is not None and domain_id and parent.domain_id != domain_id:
                raise errors.InvalidInput("The project's parent must be in the same domain.")
            dom_id = parent.domain_id if parent is not None else domain_id
            self.policy.enforce("identity:create_project",
                                target(project={"name": name, "domain_id": dom_id}), ctx)
            domain = self.resolve_domain(s, dom_id)
            p = Project(name=name, domain_id=domain.id, description=description,
                        enabled=enabled, parent_id=parent_id, tags=list(tags or []),
                        extra=dict(extra or {}))
            s.add(p)
            commit_unique(s, f"Conflict occurred attempting to store project - "
                             f"it is not permitted to have two projects with the same name "
                             f"in the same domain : {name}.")
            return p

    def update_project(self, ctx: RequestContext, project_id: str,
                       changes: dict[str, Any]) -> Project:
        with self.db.session() as s:
            p = get_or_not_found(s, Project, project_id, "project")
            self.policy.enforce("identity:update_project", target(project=project_target(p)),
                                ctx)
            if "domain_id" in changes and changes["domain_id"] != p.domain_id:
                raise errors.InvalidInput("Update of `domain_id` is not allowed.")
            if "parent_id" in changes and changes["parent_id"] != p.parent_id:
                raise errors.Forbidden("Update of `parent_id` is not allowed.")
            for key in ("name", "description", "enabled", "tags"):
                if key in changes:
                    setattr(p, key, changes[key])
            if "extra" in changes:
                p.extra = {**(p.extra or {}), **changes["extra"]}
            commit_unique(s, f"Conflict occurred attempting to update project - "
                             f"Duplicate entry found with name {changes.get('name')}.")
            return p

    def delete_project(self, ctx: RequestContext, project_id: str) -> None:
        with self.db.session() as s:
            p = get_or_not_found(s, Project, project_id, "project")
            self.policy.enforce("identity:delete_project", target(project=project_target(p)),
                                ctx)
            if s.scalar(select(Project.id).where(Project.parent_id == project_id).limit(1)):
                raise errors.Forbidden(
                    f"Cannot delete the project {project_id} since it is not a leaf in the "
                    "hierarchy.")
            s.execute(delete(Assignment).where(Assignment.target_id == project_id))
            s.execute(delete(ApplicationCredential)
                      .where(ApplicationCredential.project_id == project_id))
            s.execute(delete(Credential).where(Credential.project_id == project_id))
            s.execute(update(User).where(User.default_project_id == project_id)
                      .values(default_project_id=None))
            s.delete(p)
