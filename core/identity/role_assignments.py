"""``GET /v3/role_assignments``: direct or effective assignments, with names."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.db import Database
from core.identity.assignment import IMPLIED_EDGES, AssignmentService, RoleAssignment
from core.identity.models import (
    Assignment,
    Domain,
    Group,
    GroupMembership,
    Project,
    Role,
    User,
)
from core.identity.targets import target
from core.policy import PolicyEnforcer


class RoleAssignmentLister:
    def __init__(self, db: Database, policy: PolicyEnforcer,
                 assignments: AssignmentService) -> None:
        self.db = db
        self.policy = policy
        self.assignments = assignments

    def list_assignments(self, ctx: RequestContext, *, user_id: str | None = None,
             group_id: str | None = None, role_id: str | None = None,
             project_id: str | None = None, domain_id: str | None = None,
             effective: bool = False, include_names: bool = False) -> list[RoleAssignment]:
        """Assignments matching every filter given.

        With ``effective``, group assignments are replaced by one per member user
        and every implied role is listed too, as Keystone does.
        """
        self.policy.enforce("identity:list_role_assignments",
                            target(domain_id=domain_id, project_id=project_id,
                                   user_id=user_id), ctx)
        if effective and group_id:
            raise errors.InvalidInput(
                "Combining effective and group filter will always result in an empty list.")
        if project_id and domain_id:
            raise errors.InvalidInput("Specify a project or a domain scope, not both.")
        with self.db.session() as s:
            q = select(Assignment)
            if project_id:
                q = q.where(Assignment.target_id == project_id,
                            Assignment.type.in_(("UserProject", "GroupProject")))
            if domain_id:
                q = q.where(Assignment.target_id == domain_id,
                            Assignment.type.in_(("UserDomain", "GroupDomain")))
            if group_id:
                q = q.where(Assignment.actor_id == group_id,
                            Assignment.type.in_(("GroupProject", "GroupDomain")))
            if user_id and not effective:
                q = q.where(Assignment.actor_id == user_id,
                            Assignment.type.in_(("UserProject", "UserDomain")))
            rows = [self._row(a) for a in s.scalars(q)]
            if effective:
                rows = self._expand_groups(s, rows)
                rows = self._expand_implied(s, rows)
                if user_id:
                    rows = [r for r in rows if r.user_id == user_id]
            if role_id:
                rows = [r for r in rows if r.role_id == role_id]
            rows = list(dict.fromkeys(rows))  # effective expansion may repeat
            if include_names:
                rows = self._with_names(s, rows)
            return rows

    @staticmethod
    def _row(a: Assignment) -> RoleAssignment:
        by_user, on_project = a.type.startswith("User"), a.type.endswith("Project")
        return RoleAssignment(role_id=a.role_id,
                              user_id=a.actor_id if by_user else None,
                              group_id=None if by_user else a.actor_id,
                              project_id=a.target_id if on_project else None,
                              domain_id=None if on_project else a.target_id)

    @staticmethod
    def _expand_groups(s: Session, rows: list[RoleAssignment]) -> list[RoleAssignment]:
        group_ids = {r.group_id for r in rows if r.group_id}
        members: dict[str, list[str]] = {}
        if group_ids:
            for m in s.scalars(select(GroupMembership)
                               .where(GroupMembership.group_id.in_(group_ids))):
                members.setdefault(m.group_id, []).append(m.user_id)
        out: list[RoleAssignment] = []
        for r in rows:
            if r.group_id:
                out.extend(RoleAssignment(role_id=r.role_id, user_id=u, project_id=r.project_id,
                                          domain_id=r.domain_id, via_group_id=r.group_id)
                           for u in sorted(members.get(r.group_id, [])))
            else:
                out.append(r)
        return out

    @staticmethod
    def _expand_implied(s: Session, rows: list[RoleAssignment]) -> list[RoleAssignment]:
        edges: dict[str, list[str]] = {}
        for prior, implied in s.execute(IMPLIED_EDGES):
            edges.setdefault(prior, []).append(implied)
        out = []
        for r in rows:
            out.append(r)
            stack, seen = list(edges.get(r.role_id, [])), {r.role_id}
            while stack:
                implied = stack.pop()
                if implied in seen:
                    continue
                seen.add(implied)
                out.append(RoleAssignment(role_id=implied, user_id=r.user_id,
                                          group_id=r.group_id, project_id=r.project_id,
                                          domain_id=r.domain_id, via_group_id=r.via_group_id,
                                          prior_role_id=r.role_id))
                stack.extend(edges.get(implied, []))
        return out

    @staticmethod
    def _with_names(s: Session, rows: list[RoleAssignment]) -> list[RoleAssignment]:
        def by_id(model, ids):
            ids = {i for i in ids if i}
            return {o.id: o for o in s.scalars(select(model).where(model.id.in_(ids)))} \
                if ids else {}

        roles = by_id(Role, (r.role_id for r in rows))
        users = by_id(User, (r.user_id for r in rows))
        groups = by_id(Group, (r.group_id for r in rows))
        projects = by_id(Project, (r.project_id for r in rows))
        domain_ids = {r.domain_id for r in rows}
        domain_ids |= {o.domain_id for o in (*users.values(), *groups.values(),
                                             *projects.values())}
        domains = by_id(Domain, domain_ids)

        def dom(did):
            d = domains.get(did)
            return {"id": did, "name": d.name if d else None}

        out = []
        for r in rows:
            names: dict = {"role": {"name": roles[r.role_id].name if r.role_id in roles
                                    else None}}
            if r.user_id and r.user_id in users:
                u = users[r.user_id]
                names["user"] = {"name": u.name, "domain": dom(u.domain_id)}
            if r.group_id and r.group_id in groups:
                g = groups[r.group_id]
                names["group"] = {"name": g.name, "domain": dom(g.domain_id)}
            if r.project_id and r.project_id in projects:
                p = projects[r.project_id]
                names["project"] = {"name": p.name, "domain": dom(p.domain_id)}
            if r.domain_id:
                names["domain"] = {"name": dom(r.domain_id)["name"]}
            out.append(RoleAssignment(role_id=r.role_id, user_id=r.user_id,
                                      group_id=r.group_id, project_id=r.project_id,
                                      domain_id=r.domain_id, via_group_id=r.via_group_id,
                                      prior_role_id=r.prior_role_id, names=names))
        return out
