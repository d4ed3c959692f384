"""A validated token: what the Fernet token carries (its payload) and what it
stands for, as the database said (a ``Validation``: plain values, no ORM
objects, so that a cache, this process's or a shared one, can keep it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from core.context import RequestContext
from core.db.base import utcnow
from core.identity.fernet import TokenPayload


@dataclass(frozen=True, slots=True)
class DomainRef:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class UserRef:
    id: str
    name: str
    domain_id: str


@dataclass(frozen=True, slots=True)
class ProjectRef:
    id: str
    name: str
    domain_id: str


@dataclass(frozen=True, slots=True)
class RoleRef:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class AppCredRef:
    id: str
    name: str
    unrestricted: bool
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Validation:
    """What a token stands for, as the database said at ``revision``."""

    revision: int | None
    user: UserRef
    user_domain: DomainRef
    roles: tuple[RoleRef, ...] = ()
    project: ProjectRef | None = None
    project_domain: DomainRef | None = None
    domain: DomainRef | None = None
    app_cred: AppCredRef | None = None

    def expired_before(self, now: datetime) -> bool:
        """Whether something it relied on (its application credential) has expired."""
        return self.app_cred is not None and self.app_cred.expires_at is not None \
            and self.app_cred.expires_at <= now

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: strings, booleans, lists and ISO 8601 times."""
        out = asdict(self)
        if self.app_cred is not None and self.app_cred.expires_at is not None:
            out["app_cred"]["expires_at"] = self.app_cred.expires_at.isoformat()
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Validation:
        cred = d.get("app_cred")
        if cred is not None and cred.get("expires_at"):
            cred = {**cred, "expires_at": datetime.fromisoformat(cred["expires_at"])}

        def ref(kind: type, value: dict | None) -> Any:
            return kind(**value) if value is not None else None

        return cls(revision=d["revision"], user=UserRef(**d["user"]),
                   user_domain=DomainRef(**d["user_domain"]),
                   roles=tuple(RoleRef(**r) for r in d.get("roles") or ()),
                   project=ref(ProjectRef, d.get("project")),
                   project_domain=ref(DomainRef, d.get("project_domain")),
                   domain=ref(DomainRef, d.get("domain")), app_cred=ref(AppCredRef, cred))


@dataclass(frozen=True)
class Token:
    """A validated token: what it carries, and what it stands for now."""

    id: str
    payload: TokenPayload
    validation: Validation

    @property
    def user(self) -> UserRef:
        return self.validation.user

    @property
    def user_domain(self) -> DomainRef:
        return self.validation.user_domain

    @property
    def roles(self) -> list[RoleRef]:
        return list(self.validation.roles)

    @property
    def project(self) -> ProjectRef | None:
        return self.validation.project

    @property
    def project_domain(self) -> DomainRef | None:
        return self.validation.project_domain

    @property
    def domain(self) -> DomainRef | None:
        return self.validation.domain

    @property
    def app_cred(self) -> AppCredRef | None:
        return self.validation.app_cred

    @property
    def revision(self) -> int | None:
        """The identity revision the validation was read at (None: not known)."""
        return self.validation.revision

    @property
    def methods(self) -> tuple[str, ...]:
        return self.payload.methods

    @property
    def expires_at(self) -> datetime:
        return self.payload.expires_at

    @property
    def issued_at(self) -> datetime:
        return self.payload.issued_at or utcnow()

    @property
    def audit_ids(self) -> tuple[str, ...]:
        return self.payload.audit_ids

    def context(self, is_admin: bool = False, request_id: str | None = None) -> RequestContext:
        v = self.validation
        return RequestContext(
            user_id=v.user.id, user_name=v.user.name, user_domain_id=v.user.domain_id,
            project_id=v.project.id if v.project else None,
            project_name=v.project.name if v.project else None,
            project_domain_id=v.project.domain_id if v.project else None,
            domain_id=v.domain.id if v.domain else None,
            system_scope=self.payload.system,
            roles=tuple(r.name for r in v.roles), role_ids=tuple(r.id for r in v.roles),
            is_admin=is_admin, audit_ids=self.audit_ids,
            app_cred_id=v.app_cred.id if v.app_cred else None,
            request_id=request_id, auth_methods=self.methods)
