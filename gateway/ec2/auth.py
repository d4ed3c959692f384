"""SigV4 (``Authorization`` header or presigned query) → RequestContext.

The access key names a Keystone EC2 credential; the signature is recomputed
with its secret by ``core.identity.ec2_signature`` (botocore's own signer,
constant-time compare, the Host with and without its port, a skew limit,
the credential scope's service and region: this cloud's region, as AWS refuses
a signature scoped to another). The caller then is the credential's user in the credential's project, with
the roles that user has there — the same context, and so the same policy, an
OpenStack token for that project gives.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from core.clock import utcnow
from core.context import RequestContext
from core.identity.ec2_credentials import Ec2CredentialService
from core.identity.ec2_signature import (
    SignatureMismatch,
    SignedRequest,
    access_key_of,
    credential_scope,
    verify,
)
from core.policy import Enforcer
from gateway.ec2.errors import Ec2Error
from gateway.ec2.protocol import HttpRequest

SERVICE = "ec2"  # the service name in a SigV4 credential scope
# Query (or SigV2 form) parameters that carry a signature.
_SIGNATURE_PARAMETERS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature",
                         "AWSAccessKeyId", "Signature", "SignatureVersion")


class Ec2Authenticator:
    def __init__(self, credentials: Ec2CredentialService, policy: Enforcer, ttl_seconds: int,
                 region: str, clock: Callable[[], datetime] = utcnow) -> None:
        self.credentials = credentials
        self.policy = policy
        self.ttl_seconds = ttl_seconds
        self.region = region  # the one a SigV4 credential scope must name
        self.clock = clock

    def authenticate(self, request: HttpRequest, request_id: str | None = None
                     ) -> RequestContext:
        """The caller's context. Raises Ec2Error(MissingAuthenticationToken) for
        an unsigned request, and the core signature errors (MalformedSignature,
        WrongRegion, SignatureMismatch, StaleRequest) or Unauthorized (unknown
        key, disabled user or project, no role there) otherwise."""
        signed = SignedRequest.from_http(request.method, request.headers.get("host", request.host),
                                         request.path, request.query, request.headers,
                                         request.body)
        if "authorization" not in signed.headers and \
                not any(p in signed.params for p in _SIGNATURE_PARAMETERS):
            raise Ec2Error("MissingAuthenticationToken")
        scope = credential_scope(signed)
        if scope is not None and scope[1] != SERVICE:
            # A signature for another service is no signature for this one (as AWS).
            raise Ec2Error("SignatureDoesNotMatch", f"Credential should be scoped to correct "
                                                    f"service: '{SERVICE}'.")
        credential = self.credentials.resolve(access_key_of(signed))
        self._verify(signed, credential.secret)
        ctx = self.credentials.context_for(credential, request_id)
        return dataclasses.replace(ctx, is_admin=self.policy.is_admin(ctx))

    def _verify(self, signed: SignedRequest, secret: str) -> None:
        now = self.clock()
        try:
            verify(signed, secret, now=now, ttl_seconds=self.ttl_seconds, region=self.region)
        except SignatureMismatch:
            # The edge serves the endpoint root as "/ec2/"; a client configured
            # with ".../ec2" signed "/ec2".
            if len(signed.path) < 2 or not signed.path.endswith("/"):
                raise
            verify(dataclasses.replace(signed, path=signed.path[:-1]), secret, now=now,
                   ttl_seconds=self.ttl_seconds, region=self.region)
