"""Application credentials: a secret bound to one user, project and role set."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select

from core import errors
from core.context import RequestContext
from core.db import Database
from core.db.base import utcnow
from core.db.queries import commit_unique, get_or_not_found
from core.identity.models import ApplicationCredential, Role, User
from core.identity.passwords import PasswordHasher
from core.identity.targets import target
from core.policy import PolicyEnforcer


class AppCredentialService:
    def __init__(self, db: Database, policy: PolicyEnforcer, hasher: PasswordHasher) -> None:
        self.db = db
        self.policy = policy
        self.hasher = hasher

    def create(self, ctx: RequestContext, user_id: str, name: str,
               description: str | None = None, secret: str | None = None,
               expires_at: datetime | None = None, roles: list[dict] | None = None,
               unrestricted: bool = False) -> tuple[ApplicationCredential, str, list[Role]]:
        """Create a credential; the secret is returned once and only its hash kept."""
        self.policy.enforce("identity:create_application_credential",
                            target(user_id=user_id, user={"id": user_id}), ctx)
        if ctx.user_id != user_id:
            raise errors.Forbidden("Application credentials can only be created for yourself.")
        if not ctx.project_id:
            raise errors.Forbidden("A project-scoped token is required.")
        if ctx.app_cred_id:
            with self.db.session() as s:
                parent = s.get(ApplicationCredential, ctx.app_cred_id)
                if parent is None or not parent.unrestricted:
                    raise errors.Forbidden("A restricted application credential cannot create "
                                           "another application credential.")
        if expires_at is not None and expires_at <= utcnow():
            raise errors.InvalidInput("The expiration time must be in the future.")
        secret = secret or secrets.token_urlsafe(64)
        with self.db.session() as s:
            get_or_not_found(s, User, user_id, "user")
            held = set(ctx.role_ids)
            chosen: list[Role] = []
            for ref in roles or [{"id": rid} for rid in ctx.role_ids]:
                role = None
                if ref.get("id"):
                    role = s.get(Role, ref["id"])
                elif ref.get("name"):
                    role = s.scalar(select(Role).where(Role.name == ref["name"]))
                if role is None or role.id not in held:
                    raise errors.Forbidden(f"Cannot delegate role {ref.get('id') or ref.get('name')}"
                                           ": the current token does not have it.")
                if role not in chosen:
                    chosen.append(role)
            cred = ApplicationCredential(
                name=name, user_id=user_id, project_id=ctx.project_id,
                secret_hash=self.hasher.hash(secret), description=description,
                expires_at=expires_at, unrestricted=unrestricted,
                role_ids=[r.id for r in chosen])
            s.add(cred)
            commit_unique(s, f"Conflict occurred attempting to store application_credential - "
                             f"Duplicate entry found with name {name}.")
            return cred, secret, chosen

    def roles_of(self, cred: ApplicationCredential) -> list[Role]:
        with self.db.session() as s:
            rows = {r.id: r for r in s.scalars(select(Role).where(Role.id.in_(cred.role_ids)))}
        return [rows[r] for r in cred.role_ids if r in rows]

    def list(self, ctx: RequestContext, user_id: str, name: str | None = None
             ) -> list[ApplicationCredential]:
        self.policy.enforce("identity:list_application_credentials",
                            target(user_id=user_id, user={"id": user_id}), ctx)
        q = select(ApplicationCredential).where(ApplicationCredential.user_id == user_id)
        if name is not None:
            q = q.where(ApplicationCredential.name == name)
        with self.db.session() as s:
            return list(s.scalars(q.order_by(ApplicationCredential.name)))

    def _owned(self, s, user_id: str, cred_id: str) -> ApplicationCredential:
        cred = s.get(ApplicationCredential, cred_id)
        if cred is None or cred.user_id != user_id:
            raise errors.NotFound(f"Could not find application credential: {cred_id}.")
        return cred

    def get(self, ctx: RequestContext, user_id: str, cred_id: str) -> ApplicationCredential:
        self.policy.enforce("identity:get_application_credential",
                            target(user_id=user_id, user={"id": user_id}), ctx)
        with self.db.session() as s:
            return self._owned(s, user_id, cred_id)

    def delete(self, ctx: RequestContext, user_id: str, cred_id: str) -> None:
        self.policy.enforce("identity:delete_application_credential",
                            target(user_id=user_id, user={"id": user_id}), ctx)
        with self.db.session() as s:
            s.delete(self._owned(s, user_id, cred_id))
