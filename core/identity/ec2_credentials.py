"""EC2 credentials (``/v3/users/{id}/credentials/OS-EC2``) and EC2 token
authentication (``POST /v3/ec2tokens``).

Secrets must be readable to verify signatures, so the blob is stored
encrypted with a key repository of its own (as Keystone's credential
encryption does), never in the clear.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core import errors
from core.context import RequestContext
from core.db import Database
from core.db.base import utcnow
from core.db.queries import get_or_not_found
from core.identity.ec2_signature import SignedRequest, verify
from core.identity.fernet import SecretCipher
from core.identity.models import Credential, Project, User
from core.identity.targets import target
from core.identity.tokens import Token, TokenService
from core.policy import PolicyEnforcer

EC2 = "ec2"


@dataclass(frozen=True)
class Ec2Credential:
    access: str
    secret: str
    user_id: str
    project_id: str
    trust_id: str | None = None


def credential_id(access: str) -> str:
    return hashlib.sha256(access.encode()).hexdigest()


class Ec2CredentialService:
    def __init__(self, db: Database, policy: PolicyEnforcer, cipher: SecretCipher,
                 tokens: TokenService, auth_ttl: int) -> None:
        self.db = db
        self.policy = policy
        self.cipher = cipher
        self.tokens = tokens
        self.auth_ttl = auth_ttl

    def _decode(self, row: Credential) -> Ec2Credential:
        blob = json.loads(self.cipher.decrypt(row.encrypted_blob))
        return Ec2Credential(access=blob["access"], secret=blob["secret"], user_id=row.user_id,
                             project_id=row.project_id or "", trust_id=blob.get("trust_id"))

    def create(self, ctx: RequestContext, user_id: str, project_id: str) -> Ec2Credential:
        self.policy.enforce("identity:ec2_create_credential",
                            target(credential={"user_id": user_id}, user_id=user_id), ctx)
        return self.store(user_id, project_id)

    def store(self, user_id: str, project_id: str) -> Ec2Credential:
        """Create a new access/secret pair (no policy check: callers check)."""
        with self.db.session() as s:
            get_or_not_found(s, User, user_id, "user")
            if s.get(Project, project_id) is None:
                raise errors.NotFound(f"Could not find project: {project_id}.")
            cred = Ec2Credential(access=secrets.token_hex(16), secret=secrets.token_hex(16),
                                 user_id=user_id, project_id=project_id)
            blob = json.dumps({"access": cred.access, "secret": cred.secret, "trust_id": None})
            s.add(Credential(id=credential_id(cred.access), user_id=user_id,
                             project_id=project_id, type=EC2,
                             encrypted_blob=self.cipher.encrypt(blob)))
            return cred

    def first_for_user(self, user_id: str) -> Ec2Credential | None:
        with self.db.session() as s:
            row = s.scalars(select(Credential).where(Credential.user_id == user_id,
                                                     Credential.type == EC2)
                            .order_by(Credential.created_at).limit(1)).first()
            return self._decode(row) if row else None

    def list(self, ctx: RequestContext, user_id: str) -> list[Ec2Credential]:
        self.policy.enforce("identity:ec2_list_credentials",
                            target(credential={"user_id": user_id}, user_id=user_id), ctx)
        with self.db.session() as s:
            get_or_not_found(s, User, user_id, "user")
            rows = s.scalars(select(Credential).where(Credential.user_id == user_id,
                                                      Credential.type == EC2)
                             .order_by(Credential.created_at))
            return [self._decode(r) for r in rows]

    def _owned(self, s, user_id: str, access: str) -> Credential:
        row = s.get(Credential, credential_id(access))
        if row is None or row.type != EC2 or row.user_id != user_id:
            raise errors.NotFound(f"Could not find credential: {access}.")
        return row

    def get(self, ctx: RequestContext, user_id: str, access: str) -> Ec2Credential:
        self.policy.enforce("identity:ec2_get_credential",
                            target(credential={"user_id": user_id}, user_id=user_id), ctx)
        with self.db.session() as s:
            return self._decode(self._owned(s, user_id, access))

    def delete(self, ctx: RequestContext, user_id: str, access: str) -> None:
        self.policy.enforce("identity:ec2_delete_credential",
                            target(credential={"user_id": user_id}, user_id=user_id), ctx)
        with self.db.session() as s:
            s.delete(self._owned(s, user_id, access))

    def resolve(self, access: str) -> Ec2Credential:
        """The credential for an access key (for signature checks), or Unauthorized."""
        with self.db.session() as s:
            row = s.get(Credential, credential_id(access))
            if row is None or row.type != EC2:
                raise errors.Unauthorized("EC2 access key not found.")
            return self._decode(row)

    def validate_for(self, ctx: RequestContext, body: Mapping[str, Any]) -> Token:
        """``POST /v3/ec2tokens``: current Keystone asks the caller (the EC2 API
        service) to be an admin or service user, as for s3tokens; the signature
        then names the user the new token is for."""
        self.policy.enforce("identity:ec2tokens_validate", target(), ctx)
        return self.authenticate(body)

    def authenticate(self, body: Mapping[str, Any], now: datetime | None = None) -> Token:
        """Verify a signed EC2 request as sent to ``/v3/ec2tokens`` and issue a
        token scoped to the credential's project."""
        creds = body.get("credentials") or body.get("credential") or body.get("ec2Credentials")
        if not isinstance(creds, dict) or not creds.get("access"):
            raise errors.InvalidInput("Expecting to find credentials with an access key.")
        request = SignedRequest.from_ec2tokens(creds)
        cred = self.resolve(str(creds["access"]))
        verify(request, cred.secret, now=now or utcnow(), ttl_seconds=self.auth_ttl,
               expected_signature=creds.get("signature") or None)
        return self.token_for(cred)

    def context_for(self, cred: Ec2Credential, request_id: str | None = None
                    ) -> RequestContext:
        """The caller of a request signed with ``cred`` (the signature verified by
        the EC2 Query API edge): the credential's user in its project, with the
        roles it has there now, as :meth:`token_for`'s token would give without
        issuing one. Unauthorized as there."""
        return self.tokens.project_context(cred.user_id, cred.project_id,
                                           ("ec2credential",), request_id)

    def token_for(self, cred: Ec2Credential) -> Token:
        """A token scoped to the credential's project, for a request whose
        signature has been verified with the credential's secret (here or by
        the EC2 Query API edge). Unauthorized if the user or project is gone
        or disabled, or the user has no role on the project."""
        with self.db.session() as s:
            user = s.get(User, cred.user_id)
            project = s.get(Project, cred.project_id)
            if user is None or project is None:
                raise errors.Unauthorized("EC2 access key not found.")
            token_id = self.tokens.issue_for(s, user, project, ("ec2credential",))
        return self.tokens.validate(token_id)
