"""Authentication and tokens: issue, validate, revoke.

Tokens are Fernet tokens carrying only who, which scope, when and the audit
ids (see core.identity.fernet). Everything else — the user's state, the
project's, the effective roles — is read from the database when a token is
validated, so any API node validates a token issued by another with nothing
but the shared key repository and database. Revocation is by events: one per
revoked token (its audit id) or per user (every token issued before a moment).

What a validation read is cached per process (core.identity.token_cache)
against the identity revision (core.identity.revision), which every change to
those rows moves on in its own transaction: a validation reads the revision
(one primary-key lookup) and serves the cached answer only if it has not moved,
so a revocation or a disable on any node holds everywhere at once, as without
a cache.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.db import Database
from core.db.base import utcnow
from core.identity.assignment import AssignmentService
from core.identity.fernet import TokenFormatter, TokenPayload, new_audit_id
from core.identity.models import ApplicationCredential, Domain, Project, RevocationEvent, Role, User
from core.identity.passwords import PasswordHasher
from core.identity.revision import RevisionCounter
from core.identity.targets import target
from core.identity.token_cache import CachedToken, TokenCache, cache_key
from core.identity.validated import (
    AppCredRef,
    DomainRef,
    ProjectRef,
    RoleRef,
    Token,
    UserRef,
    Validation,
)
from core.policy import PolicyEnforcer

AUTH_FAILED = "The request you have made requires authentication."

# Statements on the validation path, built once (only bound values vary).
_REVOKED = select(RevocationEvent.id).where(or_(
    RevocationEvent.audit_id.in_(bindparam("audit_ids", expanding=True)),
    (RevocationEvent.user_id == bindparam("user_id"))
    & (RevocationEvent.issued_before >= bindparam("issued_at")))).limit(1)
_USER_AND_DOMAIN = select(User, Domain).join(Domain, Domain.id == User.domain_id) \
    .where(User.id == bindparam("user_id"))
_PROJECT_AND_DOMAIN = select(Project, Domain).join(Domain, Domain.id == Project.domain_id) \
    .where(Project.id == bindparam("project_id"))
_ROLES = select(Role).where(Role.id.in_(bindparam("role_ids", expanding=True)))
SUPPORTED_METHODS = ("password", "token", "application_credential")


class TokenService:
    def __init__(self, db: Database, policy: PolicyEnforcer, formatter: TokenFormatter,
                 hasher: PasswordHasher, assignments: AssignmentService,
                 expiration: int, revisions: RevisionCounter, cache: TokenCache) -> None:
        self.db = db
        self.policy = policy
        self.formatter = formatter
        self.hasher = hasher
        self.assignments = assignments
        self.expiration = expiration
        self.revisions = revisions
        self.cache = cache
        self._newest_revision = -1

    # ---- authentication --------------------------------------------------
    def authenticate(self, auth: dict[str, Any]) -> Token:
        """Authenticate a ``POST /v3/auth/tokens`` body's ``auth`` and issue a token."""
        identity = auth.get("identity") or {}
        methods = list(identity.get("methods") or [])
        if not methods:
            raise errors.InvalidInput("Expecting to find identity methods in auth.")
        for m in methods:
            if m not in SUPPORTED_METHODS:
                raise errors.Unauthorized("Attempted to authenticate with an unsupported "
                                          f"method: {m}.")
            if m not in identity:
                raise errors.InvalidInput(f"Expecting to find {m} in identity.")
        scope = auth.get("scope")
        _check_scope_shape(scope)
        with self.db.session() as s:
            user_id: str | None = None
            expires_at: datetime | None = None
            audit_chain: list[str] = []
            app_cred: ApplicationCredential | None = None
            all_methods: list[str] = []
            for m in methods:
                if m == "password":
                    uid = self._password(s, identity["password"])
                elif m == "token":
                    parent = self._validate(s, str((identity["token"] or {}).get("id", "")))
                    if parent.payload.app_cred_id:
                        # Its roles and project are the credential's: a new
                        # token from it would escape those limits.
                        raise errors.Forbidden("A token issued with an application credential "
                                               "cannot be used to obtain another token.")
                    uid, expires_at = parent.user.id, parent.expires_at
                    audit_chain = [parent.audit_ids[-1]]
                    all_methods.extend(parent.methods)
                else:
                    app_cred = self._app_credential(s, identity["application_credential"])
                    uid = app_cred.user_id
                if user_id is not None and uid != user_id:
                    raise errors.Unauthorized("User IDs do not match.")
                user_id = uid
                all_methods.append(m)
            user = s.get(User, user_id) if user_id else None
            if user is None:
                raise errors.Unauthorized(AUTH_FAILED)
            if app_cred is not None:
                if scope:
                    raise errors.Unauthorized(
                        "Application credentials cannot request a scope.")
                scope = {"project": {"id": app_cred.project_id}}
            if scope is None and user.default_project_id:
                # An unusable default project gives an unscoped token, as keystone does.
                p = s.get(Project, user.default_project_id)
                if p is not None and p.enabled and \
                        self.assignments.effective_role_ids(s, user.id, p.id):
                    scope = {"project": {"id": p.id}}
            payload = TokenPayload(
                user_id=user.id, methods=tuple(dict.fromkeys(all_methods)),
                expires_at=expires_at or (utcnow() + timedelta(seconds=self.expiration)),
                audit_ids=tuple([new_audit_id(), *audit_chain]),
                app_cred_id=app_cred.id if app_cred else None,
                **self._scope(s, user, scope))
            self._wait_past_revocations(s, user.id)
        token_id = self.formatter.create(payload)
        return self.validate(token_id)

    def _password(self, s: Session, body: dict) -> str:
        user_ref = body.get("user") or {}
        password = user_ref.get("password")
        if not isinstance(password, str):
            raise errors.InvalidInput("Expecting to find password in user.")
        user = self._find_user(s, user_ref)
        ok = self.hasher.verify(password, user.password_hash if user else None)
        if user is None or not ok:
            raise errors.Unauthorized(AUTH_FAILED)
        self._check_user_enabled(s, user)
        return user.id

    def _find_user(self, s: Session, ref: dict) -> User | None:
        if ref.get("id"):
            return s.get(User, str(ref["id"]))
        name = ref.get("name")
        domain = ref.get("domain") or {}
        if not name or not (domain.get("id") or domain.get("name")):
            raise errors.InvalidInput("Expecting to find user id, or name and domain.")
        dom = self._find_domain(s, domain)
        if dom is None:
            return None
        return s.scalar(select(User).where(User.name == name, User.domain_id == dom.id))

    @staticmethod
    def _find_domain(s: Session, ref: dict) -> Domain | None:
        if ref.get("id"):
            return s.get(Domain, str(ref["id"]))
        return s.scalar(select(Domain).where(Domain.name == str(ref.get("name"))))

    def _check_user_enabled(self, s: Session, user: User) -> None:
        dom = s.get(Domain, user.domain_id)
        if not user.enabled or dom is None or not dom.enabled:
            # Same answer as a wrong password: a disabled account reveals nothing.
            raise errors.Unauthorized(AUTH_FAILED)

    def _app_credential(self, s: Session, body: dict) -> ApplicationCredential:
        secret = body.get("secret")
        if not isinstance(secret, str):
            raise errors.InvalidInput("Expecting to find secret in application_credential.")
        cred = None
        if body.get("id"):
            cred = s.get(ApplicationCredential, str(body["id"]))
        elif body.get("name"):
            user = self._find_user(s, body.get("user") or {})
            if user is not None:
                cred = s.scalar(select(ApplicationCredential).where(
                    ApplicationCredential.user_id == user.id,
                    ApplicationCredential.name == body["name"]))
        else:
            raise errors.InvalidInput("Expecting to find id or name in application_credential.")
        ok = self.hasher.verify(secret, cred.secret_hash if cred else None)
        if cred is None or not ok:
            raise errors.Unauthorized(AUTH_FAILED)
        if cred.expires_at is not None and cred.expires_at <= utcnow():
            raise errors.Unauthorized(AUTH_FAILED)
        user = s.get(User, cred.user_id)
        if user is None:
            raise errors.Unauthorized(AUTH_FAILED)
        self._check_user_enabled(s, user)
        return cred

    def _scope(self, s: Session, user: User, scope: Any) -> dict[str, Any]:
        if scope in (None, "unscoped"):
            return {}
        if not isinstance(scope, dict) or len(scope) != 1:
            raise errors.InvalidInput("Specify one of project, domain or system as the scope.")
        if "project" in scope:
            ref = scope["project"] or {}
            project: Project | None = None
            if ref.get("id"):
                project = s.get(Project, str(ref["id"]))
            elif ref.get("name") and isinstance(ref.get("domain"), dict):
                dom = self._find_domain(s, ref["domain"])
                if dom is not None:
                    project = s.scalar(select(Project).where(
                        Project.name == ref["name"], Project.domain_id == dom.id))
            else:
                raise errors.InvalidInput("Scoping to a project requires its id, or its name "
                                          "and domain.")
            if not project:
                raise errors.Unauthorized(f"Could not find project: {ref.get('id') or ref.get('name')}.")
            pdom = s.get(Domain, project.domain_id)
            if not project.enabled or pdom is None or not pdom.enabled:
                raise errors.Unauthorized(f"Project {project.id} is disabled.")
            if not self.assignments.effective_role_ids(s, user.id, project.id):
                raise errors.Unauthorized(f"User {user.id} has no access to project "
                                          f"{project.id}.")
            return {"project_id": project.id}
        if "domain" in scope:
            dom = self._find_domain(s, scope["domain"] or {})
            if dom is None or not dom.enabled:
                raise errors.Unauthorized("Could not find domain or it is disabled.")
            if not self.assignments.effective_role_ids(s, user.id, dom.id):
                raise errors.Unauthorized(f"User {user.id} has no access to domain {dom.id}.")
            return {"domain_id": dom.id}
        if "system" in scope:
            raise errors.Unauthorized(f"User {user.id} has no access to the system.")
        if "OS-TRUST:trust" in scope:
            raise errors.Unauthorized("Trusts are not supported.")
        raise errors.InvalidInput("Specify one of project, domain or system as the scope.")

    def _wait_past_revocations(self, s: Session, user_id: str) -> None:
        """Fernet timestamps count whole seconds: never issue a token in the same
        second as a revocation of its user, or the new token would look revoked."""
        start = datetime.now(UTC).replace(microsecond=0)
        latest = s.scalar(select(func.max(RevocationEvent.issued_before)).where(
            RevocationEvent.user_id == user_id, RevocationEvent.issued_before >= start))
        if latest is not None:
            wait = (latest.replace(microsecond=0) + timedelta(seconds=1)
                    - datetime.now(UTC)).total_seconds()
            if wait > 0:
                time.sleep(wait)

    # ---- validation ------------------------------------------------------
    def validate(self, token_id: str, allow_expired: bool = False) -> Token:
        """The token's full state, or Unauthorized if it is not valid now.

        From the cache if the identity revision has not moved since the entry
        was read and the keys are the same (the same token then parses the same
        way), else parsed and read from the database now, and cached. Expiry,
        the token's and its application credential's, is checked every time."""
        key, keys = cache_key(token_id), self.formatter.keys_fingerprint()
        entry = self.cache.get(key)
        revision = self._revision() if entry is not None and entry.keys == keys else None
        if entry is not None and revision is not None and entry.validation.revision == revision:
            return _from_cache(token_id, entry, allow_expired)
        payload = self._parse(token_id, allow_expired)
        if revision is None:
            revision = self._revision()
        # Read after the revision: what is read is at least as new as the
        # revision it is kept under, never older.
        with self.db.session() as s:
            validation = self._read(s, payload, revision)
        if revision is not None:
            self.cache.put(key, CachedToken(keys, payload, validation))
        return Token(token_id, payload, validation)

    def _revision(self) -> int | None:
        revision = self.revisions.current()
        if revision is not None and revision < self._newest_revision:
            # The database went back (restored): its revisions will come again.
            self.cache.clear()
        self._newest_revision = revision if revision is not None else -1
        return revision

    def _validate(self, s: Session, token_id: str, allow_expired: bool = False) -> Token:
        """Validated inside ``s``, without the cache (re-scoping by token)."""
        payload = self._parse(token_id, allow_expired)
        return Token(token_id, payload, self._read(s, payload, None))

    def _parse(self, token_id: str, allow_expired: bool) -> TokenPayload:
        payload = self.formatter.parse(token_id)
        _check_expiry(payload, allow_expired)
        return payload

    def _read(self, s: Session, payload: TokenPayload, revision: int | None) -> Validation:
        """What the token stands for, read from the database through ``s``."""
        now = utcnow()
        issued = (payload.issued_at or now).replace(microsecond=0)
        revoked = s.scalar(_REVOKED, {"audit_ids": list(payload.audit_ids),
                                      "user_id": payload.user_id, "issued_at": issued})
        if revoked is not None:
            raise errors.Unauthorized("The token has been revoked.")
        user, user_domain = self._enabled_user(s, payload.user_id)
        project = project_domain = domain = None
        app_cred: ApplicationCredential | None = None
        roles: tuple[RoleRef, ...] = ()
        scope_id = None
        if payload.project_id:
            project, project_domain = self._enabled_project(s, payload.project_id)
            scope_id = payload.project_id
        elif payload.domain_id:
            domain = s.get(Domain, payload.domain_id)
            if domain is None or not domain.enabled:
                raise errors.Unauthorized("The token's domain is disabled or gone.")
            scope_id = domain.id
        if scope_id:
            role_ids = self.assignments.effective_role_ids(s, user.id, scope_id)
            if payload.app_cred_id:
                app_cred = s.get(ApplicationCredential, payload.app_cred_id)
                if app_cred is None or (app_cred.expires_at is not None
                                        and app_cred.expires_at <= now):
                    raise errors.Unauthorized("The application credential is gone.")
                allowed = set(self.assignments._implied_closure(s, app_cred.role_ids))
                role_ids = [r for r in role_ids if r in allowed]
            if not role_ids:
                raise errors.Unauthorized("The token's user has no roles in its scope.")
            names = {r.id: r.name for r in s.scalars(_ROLES, {"role_ids": role_ids})}
            roles = tuple(RoleRef(r, names[r]) for r in role_ids if r in names)
        return Validation(
            revision=revision, user=UserRef(user.id, user.name, user.domain_id),
            user_domain=_domain_ref(user_domain), roles=roles,
            project=ProjectRef(project.id, project.name, project.domain_id) if project else None,
            project_domain=_domain_ref(project_domain) if project_domain else None,
            domain=_domain_ref(domain) if domain else None,
            app_cred=AppCredRef(app_cred.id, app_cred.name, bool(app_cred.unrestricted),
                                app_cred.expires_at) if app_cred else None)

    @staticmethod
    def _enabled_user(s: Session, user_id: str) -> tuple[User, Domain]:
        row = s.execute(_USER_AND_DOMAIN, {"user_id": user_id}).first()
        if row is None:
            raise errors.Unauthorized("The token's user no longer exists.")
        user, domain = row
        if not user.enabled or not domain.enabled:
            raise errors.Unauthorized("The token's user is disabled.")
        return user, domain

    @staticmethod
    def _enabled_project(s: Session, project_id: str) -> tuple[Project, Domain]:
        row = s.execute(_PROJECT_AND_DOMAIN, {"project_id": project_id}).first()
        if row is None:
            raise errors.Unauthorized("The token's project no longer exists.")
        project, domain = row
        if not project.enabled or not domain.enabled:
            raise errors.Unauthorized("The token's project is disabled.")
        return project, domain

    def project_context(self, user_id: str, project_id: str, methods: tuple[str, ...],
                        request_id: str | None = None) -> RequestContext:
        """The context a token of ``user_id`` scoped to ``project_id`` would give, read
        now and without issuing one: for a request authenticated otherwise (an EC2
        signature). Unauthorized, as a validation would be, if the user or project is
        gone or disabled (or its domain) or the user has no role there. No token, so
        no revocation event applies; the roles are the ones held at this moment."""
        with self.db.session() as s:
            user, _ = self._enabled_user(s, user_id)
            project, _ = self._enabled_project(s, project_id)
            role_ids = self.assignments.effective_role_ids(s, user.id, project.id)
            if not role_ids:
                raise errors.Unauthorized("The token's user has no roles in its scope.")
            roles = {r.id: r for r in s.scalars(_ROLES, {"role_ids": role_ids})}
            named = [roles[r] for r in role_ids if r in roles]
            return RequestContext(
                user_id=user.id, user_name=user.name, user_domain_id=user.domain_id,
                project_id=project.id, project_name=project.name,
                project_domain_id=project.domain_id,
                roles=tuple(r.name for r in named), role_ids=tuple(r.id for r in named),
                request_id=request_id, auth_methods=methods)

    # ---- token API -------------------------------------------------------
    def validate_subject(self, ctx: RequestContext, subject: str, rule: str,
                         allow_expired: bool = False, caller: Token | None = None) -> Token:
        """Validate another token for ``GET``/``HEAD /v3/auth/tokens``.

        ``caller`` is the already validated token of the request: when a client
        checks its own token (the common case) it is not validated twice."""
        try:
            if caller is not None and caller.id == subject:
                token = caller
            else:
                token = self.validate(subject, allow_expired=allow_expired)
        except errors.Unauthorized:
            # Keystone answers 404 to any authenticated caller here.
            raise errors.NotFound("Could not find token: the token is not valid.") from None
        self.policy.enforce(rule, target(token={"user_id": token.user.id}), ctx)
        return token

    def revoke(self, ctx: RequestContext, subject: str, caller: Token | None = None) -> None:
        token = self.validate_subject(ctx, subject, "identity:revoke_token", caller=caller)
        self._add_event(RevocationEvent(audit_id=token.audit_ids[0], issued_before=utcnow()))

    def revoke_user(self, user_id: str) -> None:
        """Invalidate every token of a user issued up to now."""
        self._add_event(RevocationEvent(user_id=user_id, issued_before=utcnow()))

    def _add_event(self, event: RevocationEvent) -> None:
        with self.db.session() as s:
            s.add(event)
            # Events older than any token can be are useless: prune them.
            horizon = utcnow() - timedelta(seconds=self.expiration + 3600)
            s.execute(delete(RevocationEvent).where(RevocationEvent.revoked_at < horizon))

    def auth_catalog_allowed(self, ctx: RequestContext) -> None:
        self.policy.enforce("identity:get_auth_catalog", target(), ctx)

    def auth_projects(self, ctx: RequestContext) -> list[Project]:
        self.policy.enforce("identity:get_auth_projects", target(), ctx)
        with self.db.session() as s:
            return [p for p in self.assignments.projects_for_user(s, ctx.user_id or "")
                    if p.enabled]

    def auth_domains(self, ctx: RequestContext) -> list[Domain]:
        self.policy.enforce("identity:get_auth_domains", target(), ctx)
        with self.db.session() as s:
            return [d for d in self.assignments.domains_for_user(s, ctx.user_id or "")
                    if d.enabled]

    def issue_for(self, s: Session, user: User, project: Project, methods: tuple[str, ...]
                  ) -> str:
        """Issue a project-scoped token for an already authenticated user (ec2tokens)."""
        self._check_user_enabled(s, user)
        self._scope(s, user, {"project": {"id": project.id}})
        self._wait_past_revocations(s, user.id)
        return self.formatter.create(TokenPayload(
            user_id=user.id, methods=methods, project_id=project.id,
            expires_at=utcnow() + timedelta(seconds=self.expiration),
            audit_ids=(new_audit_id(),)))


def _check_expiry(payload: TokenPayload, allow_expired: bool) -> None:
    if payload.expires_at <= utcnow() and not allow_expired:
        raise errors.Unauthorized("The token has expired.")


def _from_cache(token_id: str, entry: CachedToken, allow_expired: bool) -> Token:
    """The cached token, if it has not expired since; the same answer as a read
    from the database would give, the revision being the same."""
    _check_expiry(entry.payload, allow_expired)
    if entry.validation.expired_before(utcnow()):
        raise errors.Unauthorized("The application credential is gone.")
    return Token(token_id, entry.payload, entry.validation)


def _domain_ref(d: Domain) -> DomainRef:
    return DomainRef(d.id, d.name)


def _check_scope_shape(scope: Any) -> None:
    """Reject a malformed scope before authenticating, as Keystone does (400)."""
    if scope is None or scope == "unscoped":
        return
    if not isinstance(scope, dict) or len(scope) != 1:
        raise errors.InvalidInput("Specify one of project, domain or system as the scope.")
    kind, ref = next(iter(scope.items()))
    if kind not in ("project", "domain", "system", "OS-TRUST:trust"):
        raise errors.InvalidInput(f"Unknown scope: {kind}.")
    if kind == "project":
        if not isinstance(ref, dict) or not (ref.get("id") or (
                ref.get("name") and isinstance(ref.get("domain"), dict)
                and (ref["domain"].get("id") or ref["domain"].get("name")))):
            raise errors.InvalidInput("Scoping to a project requires its id, or its name "
                                      "and its domain's id or name.")
    if kind == "domain" and not (isinstance(ref, dict) and (ref.get("id") or ref.get("name"))):
        raise errors.InvalidInput("Scoping to a domain requires its id or name.")
