"""Roles, implied roles, grants and role assignments."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, or_, select
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.db import Database
from core.db.queries import commit_unique, filtered, get_or_not_found
from core.identity.models import (
    Assignment,
    Domain,
    Group,
    GroupMembership,
    ImpliedRole,
    Project,
    Role,
    User,
)
from core.identity.targets import target
from core.policy import PolicyEnforcer

USER_PROJECT, GROUP_PROJECT = "UserProject", "GroupProject"
USER_DOMAIN, GROUP_DOMAIN = "UserDomain", "GroupDomain"


# Statements on the token validation path, built once (only bound values vary).
_DIRECT_ROLE_IDS = select(Assignment.role_id).where(
    Assignment.target_id == bindparam("target_id"),
    or_(Assignment.actor_id == bindparam("user_id"),
        Assignment.actor_id.in_(select(GroupMembership.group_id)
                                .where(GroupMembership.user_id == bindparam("user_id"))))
).distinct()
IMPLIED_EDGES = select(ImpliedRole.prior_role_id, ImpliedRole.implied_role_id)


def role_target(r: Role) -> dict:
    return {"id": r.id, "name": r.name, "domain_id": None}


@dataclass(frozen=True)
class RoleAssignment:
    """One row of ``GET /v3/role_assignments``."""

    role_id: str
    user_id: str | None = None
    group_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    via_group_id: str | None = None  # effective: expanded from this group's assignment
    prior_role_id: str | None = None  # effective: implied by this role
    names: dict = field(default_factory=dict, compare=False)


class AssignmentService:
    def __init__(self, db: Database, policy: PolicyEnforcer) -> None:
        self.db = db
        self.policy = policy

    # ---- roles ---------------------------------------------------------
    def list_roles(self, ctx: RequestContext, name: str | None = None) -> list[Role]:
        self.policy.enforce("identity:list_roles", target(), ctx)
        q = filtered(select(Role).order_by(Role.name), Role, name=name)
        with self.db.session() as s:
            return list(s.scalars(q))

    def get_role(self, ctx: RequestContext, role_id: str) -> Role:
        with self.db.session() as s:
            role = s.get(Role, role_id)
        self.policy.enforce("identity:get_role",
                            target(role=role_target(role) if role else {"id": role_id}), ctx)
        if role is None:
            raise errors.NotFound(f"Could not find role: {role_id}.")
        return role

    def create_role(self, ctx: RequestContext, name: str, description: str | None = None,
                    role_id: str | None = None) -> Role:
        self.policy.enforce("identity:create_role", target(role={"name": name}), ctx)
        with self.db.session() as s:
            r = Role(name=name, description=description)
            if role_id:
                r.id = role_id
            s.add(r)
            commit_unique(s, f"Conflict occurred attempting to store role - "
                             f"Duplicate entry found with name {name}.")
            return r

    def update_role(self, ctx: RequestContext, role_id: str, changes: dict) -> Role:
        with self.db.session() as s:
            r = get_or_not_found(s, Role, role_id, "role")
            self.policy.enforce("identity:update_role", target(role=role_target(r)), ctx)
            for key in ("name", "description"):
                if key in changes:
                    setattr(r, key, changes[key])
            commit_unique(s, "Conflict occurred attempting to update role - "
                             f"Duplicate entry found with name {changes.get('name')}.")
            return r

    def delete_role(self, ctx: RequestContext, role_id: str) -> None:
        with self.db.session() as s:
            r = get_or_not_found(s, Role, role_id, "role")
            self.policy.enforce("identity:delete_role", target(role=role_target(r)), ctx)
            s.execute(delete(Assignment).where(Assignment.role_id == role_id))
            s.execute(delete(ImpliedRole).where(or_(ImpliedRole.prior_role_id == role_id,
                                                    ImpliedRole.implied_role_id == role_id)))
            s.delete(r)

    # ---- implied roles -------------------------------------------------
    def _implication(self, ctx: RequestContext, rule: str, prior_id: str, implied_id: str,
                     s: Session) -> tuple[Role, Role]:
        self.policy.enforce(rule, target(prior_role={"id": prior_id},
                                         implied_role={"id": implied_id}), ctx)
        return (get_or_not_found(s, Role, prior_id, "role"), get_or_not_found(s, Role, implied_id, "role"))

    def create_implied_role(self, ctx: RequestContext, prior_id: str, implied_id: str
                            ) -> tuple[Role, Role]:
        with self.db.session() as s:
            prior, implied = self._implication(ctx, "identity:create_implied_role",
                                               prior_id, implied_id, s)
            if prior_id == implied_id or prior_id in self._implied_closure(s, [implied_id]):
                raise errors.InvalidInput(
                    f"Implied role {implied_id} would create a loop with {prior_id}.")
            if s.get(ImpliedRole, (prior_id, implied_id)) is None:
                s.add(ImpliedRole(prior_role_id=prior_id, implied_role_id=implied_id))
            return prior, implied

    def get_implied_role(self, ctx: RequestContext, prior_id: str, implied_id: str,
                         rule: str = "identity:get_implied_role") -> tuple[Role, Role]:
        with self.db.session() as s:
            prior, implied = self._implication(ctx, rule, prior_id, implied_id, s)
            if s.get(ImpliedRole, (prior_id, implied_id)) is None:
                raise errors.NotFound(f"{prior_id} does not imply {implied_id}.")
            return prior, implied

    def delete_implied_role(self, ctx: RequestContext, prior_id: str, implied_id: str) -> None:
        with self.db.session() as s:
            self._implication(ctx, "identity:delete_implied_role", prior_id, implied_id, s)
            row = s.get(ImpliedRole, (prior_id, implied_id))
            if row is None:
                raise errors.NotFound(f"{prior_id} does not imply {implied_id}.")
            s.delete(row)

    def list_implied_roles(self, ctx: RequestContext, prior_id: str) -> tuple[Role, list[Role]]:
        self.policy.enforce("identity:list_implied_roles",
                            target(prior_role={"id": prior_id}), ctx)
        with self.db.session() as s:
            prior = get_or_not_found(s, Role, prior_id, "role")
            implied = list(s.scalars(select(Role).join(ImpliedRole,
                                                       ImpliedRole.implied_role_id == Role.id)
                                     .where(ImpliedRole.prior_role_id == prior_id)))
            return prior, implied

    def list_role_inference_rules(self, ctx: RequestContext) -> list[tuple[Role, list[Role]]]:
        self.policy.enforce("identity:list_role_inference_rules", target(), ctx)
        with self.db.session() as s:
            roles = {r.id: r for r in s.scalars(select(Role))}
            rules: dict[str, list[Role]] = {}
            for row in s.scalars(select(ImpliedRole)):
                rules.setdefault(row.prior_role_id, []).append(roles[row.implied_role_id])
            return [(roles[p], implied) for p, implied in sorted(rules.items())]

    @staticmethod
    def _implied_closure(s: Session, role_ids: list[str]) -> list[str]:
        """``role_ids`` plus every role they imply, transitively, in a stable order."""
        edges: dict[str, list[str]] = {}
        for prior, implied in s.execute(IMPLIED_EDGES):
            edges.setdefault(prior, []).append(implied)
        seen: list[str] = []
        stack = list(reversed(role_ids))
        while stack:
            rid = stack.pop()
            if rid in seen:
                continue
            seen.append(rid)
            stack.extend(reversed(edges.get(rid, [])))
        return seen

    # ---- grants --------------------------------------------------------
    def _grant(self, ctx: RequestContext, rule: str, role_id: str | None, *,
               user_id: str | None = None, group_id: str | None = None,
               project_id: str | None = None, domain_id: str | None = None,
               s: Session) -> tuple[str, str, str]:
        actor: User | Group = (get_or_not_found(s, User, user_id, "user") if user_id
                               else get_or_not_found(s, Group, group_id, "group"))
        tgt: Project | Domain = (get_or_not_found(s, Project, project_id, "project") if project_id
                                 else get_or_not_found(s, Domain, domain_id, "domain"))
        role = get_or_not_found(s, Role, role_id, "role") if role_id else None
        kind = ("User" if user_id else "Group") + ("Project" if project_id else "Domain")
        self.policy.enforce(rule, target(
            role={"id": role.id, "name": role.name, "domain_id": None} if role else {},
            user={"id": actor.id, "domain_id": actor.domain_id} if user_id else {},
            group={"id": actor.id, "domain_id": actor.domain_id} if group_id else {},
            project={"id": tgt.id, "domain_id": getattr(tgt, "domain_id", None)}
            if project_id else {},
            domain={"id": tgt.id} if domain_id else {}), ctx)
        return kind, actor.id, tgt.id

    def create_grant(self, ctx: RequestContext, role_id: str, **scope: str | None) -> None:
        with self.db.session() as s:
            kind, actor, tgt = self._grant(ctx, "identity:create_grant", role_id, s=s, **scope)
            if s.get(Assignment, (kind, actor, tgt, role_id)) is None:
                s.add(Assignment(type=kind, actor_id=actor, target_id=tgt, role_id=role_id))

    def check_grant(self, ctx: RequestContext, role_id: str, **scope: str | None) -> None:
        with self.db.session() as s:
            kind, actor, tgt = self._grant(ctx, "identity:check_grant", role_id, s=s, **scope)
            if s.get(Assignment, (kind, actor, tgt, role_id)) is None:
                raise errors.NotFound(f"Could not find role assignment with role: {role_id}.")

    def revoke_grant(self, ctx: RequestContext, role_id: str, **scope: str | None) -> None:
        with self.db.session() as s:
            kind, actor, tgt = self._grant(ctx, "identity:revoke_grant", role_id, s=s, **scope)
            row = s.get(Assignment, (kind, actor, tgt, role_id))
            if row is None:
                raise errors.NotFound(f"Could not find role assignment with role: {role_id}.")
            s.delete(row)

    def list_grants(self, ctx: RequestContext, **scope: str | None) -> list[Role]:
        with self.db.session() as s:
            kind, actor, tgt = self._grant(ctx, "identity:list_grants", None, s=s, **scope)
            return list(s.scalars(select(Role).join(Assignment, Assignment.role_id == Role.id)
                                  .where(Assignment.type == kind, Assignment.actor_id == actor,
                                         Assignment.target_id == tgt).order_by(Role.name)))

    # ---- effective roles (tokens) ---------------------------------------
    def effective_role_ids(self, s: Session, user_id: str, target_id: str) -> list[str]:
        """Roles a user holds on a project or domain: direct, through groups, and
        everything those roles imply."""
        direct = s.scalars(_DIRECT_ROLE_IDS, {"target_id": target_id, "user_id": user_id})
        ids = sorted(set(direct))
        return self._implied_closure(s, ids) if ids else []

    @staticmethod
    def _assigned_ids(user_id: str, kinds: tuple[str, str]):
        """Ids of the targets where a user holds a role, directly or by group."""
        groups = select(GroupMembership.group_id).where(GroupMembership.user_id == user_id)
        return select(Assignment.target_id).where(
            Assignment.type.in_(kinds),
            or_(Assignment.actor_id == user_id, Assignment.actor_id.in_(groups)))

    def projects_for_user(self, s: Session, user_id: str) -> list[Project]:
        ids = self._assigned_ids(user_id, (USER_PROJECT, GROUP_PROJECT))
        return list(s.scalars(select(Project).where(Project.id.in_(ids)).order_by(Project.name)))

    def domains_for_user(self, s: Session, user_id: str) -> list[Domain]:
        ids = self._assigned_ids(user_id, (USER_DOMAIN, GROUP_DOMAIN))
        return list(s.scalars(select(Domain).where(Domain.id.in_(ids)).order_by(Domain.name)))

    def list_user_projects(self, ctx: RequestContext, user_id: str) -> list[Project]:
        with self.db.session() as s:
            u = get_or_not_found(s, User, user_id, "user")
            self.policy.enforce("identity:list_user_projects",
                                target(user={"id": u.id, "domain_id": u.domain_id},
                                       user_id=user_id), ctx)
            return self.projects_for_user(s, user_id)
