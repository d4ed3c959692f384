"""``/v3/auth/*`` and ``/v3/ec2tokens``."""

from __future__ import annotations

from connexion import NoContent, request

from core import errors
from core.identity.tokens import Token
from gateway.openstack.identity.base import NO_CONTENT, Handler


class Tokens(Handler):
    def _token_response(self, token: Token, status: int):
        # Keystone renders a catalog for scoped tokens only: an unscoped token's
        # body has no "catalog" key at all.
        scoped = token.project is not None or token.domain is not None
        catalog = None if "nocatalog" in request.query_params or not scoped \
            else self.identity.catalog.catalog(token.project.id if token.project else None,
                                               token.revision)
        return (self.views.token(token, catalog), status,
                {"X-Subject-Token": token.id})

    def issue(self, body: dict):
        token = self.identity.tokens.authenticate(body["auth"])
        return self._token_response(token, 201)

    @staticmethod
    def _subject_header() -> str:
        subject = request.headers.get("x-subject-token")
        if not subject:
            raise errors.NotFound("Could not find token: no X-Subject-Token given.")
        return subject.strip()

    def _subject(self, rule: str) -> Token:
        ctx, caller = self.auth.token()
        allow_expired = bool(self.query_bool("allow_expired"))
        return self.identity.tokens.validate_subject(ctx, self._subject_header(), rule,
                                                     allow_expired, caller=caller)

    def validate(self):
        return self._token_response(self._subject("identity:validate_token"), 200)

    def check(self):
        token = self._subject("identity:check_token")
        return NoContent, 200, {"X-Subject-Token": token.id}

    def revoke(self):
        ctx, caller = self.auth.token()
        self.identity.tokens.revoke(ctx, self._subject_header(), caller=caller)
        return NO_CONTENT

    def catalog(self):
        ctx, token = self.auth.token()
        self.identity.tokens.auth_catalog_allowed(ctx)
        catalog = self.identity.catalog.catalog(ctx.project_id, token.revision) \
            if (token.project or token.domain) else []
        return {"catalog": catalog, "links": {"self": f"{self.views.base}/auth/catalog"}}

    def projects(self):
        ctx = self.auth.context()
        projects = self.identity.tokens.auth_projects(ctx)
        return self.views.collection("projects", [self.views.project(p) for p in projects],
                                     "auth/projects")

    def domains(self):
        ctx = self.auth.context()
        domains = self.identity.tokens.auth_domains(ctx)
        return self.views.collection("domains", [self.views.domain(d) for d in domains],
                                     "auth/domains")

    def ec2tokens(self, body: dict):
        token = self.identity.ec2.validate_for(self.auth.context(), body)
        return self._token_response(token, 200)
