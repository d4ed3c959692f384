"""Users, groups and group membership."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select

from core import errors
from core.context import RequestContext
from core.db import Database
from core.db.base import utcnow
from core.db.queries import commit_unique, filtered, get_or_not_found
from core.identity.models import Assignment, Group, GroupMembership, Project, User
from core.identity.passwords import PasswordHasher
from core.identity.resource import DEFAULT_DOMAIN_ID, ResourceService
from core.identity.targets import target
from core.policy import PolicyEnforcer

# Called with a user id when every token of that user must stop working
# (disabled, deleted, password changed).
RevokeUser = Callable[[str], None]


def user_target(u: User) -> dict:
    return {"id": u.id, "domain_id": u.domain_id, "name": u.name}


def group_target(g: Group) -> dict:
    return {"id": g.id, "domain_id": g.domain_id, "name": g.name}


class UserService:
    def __init__(self, db: Database, policy: PolicyEnforcer, hasher: PasswordHasher,
                 resources: ResourceService, revoke_user: RevokeUser) -> None:
        self.db = db
        self.policy = policy
        self.hasher = hasher
        self.resources = resources
        self.revoke_user = revoke_user

    # ---- users ---------------------------------------------------------
    def list_users(self, ctx: RequestContext, name: str | None = None,
                   domain_id: str | None = None, enabled: bool | None = None) -> list[User]:
        self.policy.enforce("identity:list_users", target(domain_id=domain_id), ctx)
        q = filtered(select(User).order_by(User.name), User, name=name, domain_id=domain_id,
                     enabled=enabled)
        with self.db.session() as s:
            return list(s.scalars(q))

    def get_user(self, ctx: RequestContext, user_id: str) -> User:
        with self.db.session() as s:
            u = s.get(User, user_id)
        tgt = user_target(u) if u else {"id": user_id, "domain_id": None}
        self.policy.enforce("identity:get_user", target(user=tgt, user_id=user_id), ctx)
        if u is None:
            raise errors.NotFound(f"Could not find user: {user_id}.")
        return u

    def create_user(self, ctx: RequestContext, name: str, domain_id: str | None = None,
                    password: str | None = None, enabled: bool = True,
                    default_project_id: str | None = None, description: str | None = None,
                    email: str | None = None, extra: dict | None = None) -> User:
        dom = domain_id or DEFAULT_DOMAIN_ID
        self.policy.enforce("identity:create_user",
                            target(user={"name": name, "domain_id": dom}), ctx)
        hashed = self.hasher.hash(password) if password is not None else None
        with self.db.session() as s:
            self.resources.resolve_domain(s, dom)
            if default_project_id:
                get_or_not_found(s, Project, default_project_id, "project")
            u = User(name=name, domain_id=dom, password_hash=hashed, enabled=enabled,
                     default_project_id=default_project_id, description=description,
                     email=email, extra=dict(extra or {}),
                     password_changed_at=utcnow() if hashed else None)
            s.add(u)
            commit_unique(s, f"Conflict occurred attempting to store user - "
                             f"Duplicate entry found with name {name} at domain ID {dom}.")
            return u

    def update_user(self, ctx: RequestContext, user_id: str, changes: dict[str, Any]) -> User:
        revoke = False
        with self.db.session() as s:
            u = get_or_not_found(s, User, user_id, "user")
            self.policy.enforce("identity:update_user", target(user=user_target(u)), ctx)
            if "domain_id" in changes and changes["domain_id"] != u.domain_id:
                raise errors.InvalidInput("Update of `domain_id` is not allowed.")
            if changes.get("default_project_id"):
                get_or_not_found(s, Project, changes["default_project_id"], "project")
            for key in ("name", "description", "email", "default_project_id"):
                if key in changes:
                    setattr(u, key, changes[key])
            if "enabled" in changes:
                if u.enabled and not changes["enabled"]:
                    revoke = True
                u.enabled = changes["enabled"]
            if "password" in changes:
                u.password_hash = (self.hasher.hash(changes["password"])
                                   if changes["password"] is not None else None)
                u.password_changed_at = utcnow()
                revoke = True
            if "extra" in changes:
                u.extra = {**(u.extra or {}), **changes["extra"]}
            commit_unique(s, f"Conflict occurred attempting to update user - "
                             f"Duplicate entry found with name {changes.get('name')}.")
        if revoke:
            self.revoke_user(user_id)
        return u

    def change_password(self, ctx: RequestContext, user_id: str, original_password: str,
                        password: str) -> None:
        self.policy.enforce("identity:change_password",
                            target(user={"id": user_id}, user_id=user_id), ctx)
        with self.db.session() as s:
            u = get_or_not_found(s, User, user_id, "user")
            if not self.hasher.verify(original_password, u.password_hash):
                raise errors.Unauthorized("The request you have made requires authentication.")
            u.password_hash = self.hasher.hash(password)
            u.password_changed_at = utcnow()
        self.revoke_user(user_id)

    def delete_user(self, ctx: RequestContext, user_id: str) -> None:
        with self.db.session() as s:
            u = get_or_not_found(s, User, user_id, "user")
            self.policy.enforce("identity:delete_user", target(user=user_target(u)), ctx)
            s.execute(delete(Assignment).where(Assignment.actor_id == user_id))
            s.execute(delete(GroupMembership).where(GroupMembership.user_id == user_id))
            s.delete(u)
        self.revoke_user(user_id)

    # ---- groups --------------------------------------------------------
    def list_groups(self, ctx: RequestContext, name: str | None = None,
                    domain_id: str | None = None) -> list[Group]:
        self.policy.enforce("identity:list_groups", target(domain_id=domain_id), ctx)
        q = filtered(select(Group).order_by(Group.name), Group, name=name, domain_id=domain_id)
        with self.db.session() as s:
            return list(s.scalars(q))

    def get_group(self, ctx: RequestContext, group_id: str) -> Group:
        with self.db.session() as s:
            g = s.get(Group, group_id)
        tgt = group_target(g) if g else {"id": group_id, "domain_id": None}
        self.policy.enforce("identity:get_group", target(group=tgt), ctx)
        if g is None:
            raise errors.NotFound(f"Could not find group: {group_id}.")
        return g

    def create_group(self, ctx: RequestContext, name: str, domain_id: str | None = None,
                     description: str | None = None) -> Group:
        dom = domain_id or DEFAULT_DOMAIN_ID
        self.policy.enforce("identity:create_group",
                            target(group={"name": name, "domain_id": dom}), ctx)
        with self.db.session() as s:
            self.resources.resolve_domain(s, dom)
            g = Group(name=name, domain_id=dom, description=description)
            s.add(g)
            commit_unique(s, f"Conflict occurred attempting to store group - "
                             f"Duplicate entry found with name {name} at domain ID {dom}.")
            return g

    def update_group(self, ctx: RequestContext, group_id: str, changes: dict) -> Group:
        with self.db.session() as s:
            g = get_or_not_found(s, Group, group_id, "group")
            self.policy.enforce("identity:update_group", target(group=group_target(g)), ctx)
            if "domain_id" in changes and changes["domain_id"] != g.domain_id:
                raise errors.InvalidInput("Update of `domain_id` is not allowed.")
            for key in ("name", "description"):
                if key in changes:
                    setattr(g, key, changes[key])
            commit_unique(s, "Conflict occurred attempting to update group - "
                             f"Duplicate entry found with name {changes.get('name')}.")
            return g

    def delete_group(self, ctx: RequestContext, group_id: str) -> None:
        with self.db.session() as s:
            g = get_or_not_found(s, Group, group_id, "group")
            self.policy.enforce("identity:delete_group", target(group=group_target(g)), ctx)
            s.execute(delete(Assignment).where(Assignment.actor_id == group_id))
            s.execute(delete(GroupMembership).where(GroupMembership.group_id == group_id))
            s.delete(g)

    def list_users_in_group(self, ctx: RequestContext, group_id: str) -> list[User]:
        with self.db.session() as s:
            g = get_or_not_found(s, Group, group_id, "group")
            self.policy.enforce("identity:list_users_in_group",
                                target(group=group_target(g)), ctx)
            return list(s.scalars(select(User).join(GroupMembership,
                                                    GroupMembership.user_id == User.id)
                                  .where(GroupMembership.group_id == group_id)
                                  .order_by(User.name)))

    def list_groups_for_user(self, ctx: RequestContext, user_id: str) -> list[Group]:
        with self.db.session() as s:
            u = get_or_not_found(s, User, user_id, "user")
            self.policy.enforce("identity:list_groups_for_user",
                                target(user=user_target(u), user_id=user_id), ctx)
            return list(s.scalars(select(Group).join(GroupMembership,
                                                     GroupMembership.group_id == Group.id)
                                  .where(GroupMembership.user_id == user_id)
                                  .order_by(Group.name)))

    def _membership(self, ctx: RequestContext, rule: str, group_id: str, user_id: str, s):
        g = get_or_not_found(s, Group, group_id, "group")
        u = get_or_not_found(s, User, user_id, "user")
        self.policy.enforce(rule, target(group=group_target(g), user=user_target(u)), ctx)
        return s.get(GroupMembership, (user_id, group_id))

    def add_user_to_group(self, ctx: RequestContext, group_id: str, user_id: str) -> None:
        with self.db.session() as s:
            if self._membership(ctx, "identity:add_user_to_group", group_id, user_id, s) is None:
                s.add(GroupMembership(user_id=user_id, group_id=group_id))

    def check_user_in_group(self, ctx: RequestContext, group_id: str, user_id: str) -> None:
        with self.db.session() as s:
            if self._membership(ctx, "identity:check_user_in_group", group_id, user_id,
                                s) is None:
                raise errors.NotFound(f"User {user_id} is not a member of group {group_id}.")

    def remove_user_from_group(self, ctx: RequestContext, group_id: str, user_id: str) -> None:
        with self.db.session() as s:
            m = self._membership(ctx, "identity:remove_user_from_group", group_id, user_id, s)
            if m is None:
                raise errors.NotFound(f"User {user_id} is not a member of group {group_id}.")
            s.delete(m)
        # Roles that came through the group are gone: the tokens' roles are
        # recomputed at validation, so nothing else is needed.
