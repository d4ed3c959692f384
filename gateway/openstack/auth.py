"""X-Auth-Token → RequestContext, for every OpenStack API."""

from __future__ import annotations

import dataclasses

from connexion import request

from core import errors
from core.context import RequestContext
from core.identity.tokens import Token, TokenService
from core.policy import Enforcer
from gateway.middleware import request_record


class Authenticator:
    def __init__(self, tokens: TokenService, policy: Enforcer) -> None:
        self.tokens = tokens
        self.policy = policy

    def token(self) -> tuple[RequestContext, Token]:
        """The caller's context and validated token; Unauthorized (401) if none."""
        token_id = request.headers.get("x-auth-token")
        if not token_id:
            raise errors.Unauthorized("The request you have made requires authentication.")
        try:
            token = self.tokens.validate(token_id.strip())
        except errors.Unauthorized:
            # Never echo why: expired, revoked and forged tokens look the same.
            raise errors.Unauthorized(
                "The request you have made requires authentication.") from None
        record = request_record.get(None)
        ctx = token.context(request_id=record.get("request_id") if record else None)
        ctx = dataclasses.replace(ctx, is_admin=self.policy.is_admin(ctx))
        if record is not None:
            record["user_id"], record["project_id"] = ctx.user_id, ctx.project_id
        return ctx, token

    def context(self) -> RequestContext:
        return self.token()[0]
