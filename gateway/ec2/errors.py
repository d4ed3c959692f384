"""EC2 errors: the one table from errors to (code, HTTP status), and the body.

Errors raised at the edge carry their EC2 code (:class:`Ec2Error`); domain
errors from core are mapped here by class, most specific first, unless the
action names a code of its own for that class (``InvalidKeyPair.NotFound``
rather than a bare not-found). The status always comes from :data:`STATUS`;
an error is never sent with 200, which boto3 would read as an empty success.
"""

from __future__ import annotations

from collections.abc import Mapping

from core import errors
from core.identity.ec2_signature import MalformedSignature, SignatureMismatch, StaleRequest
from core.idmap.ids import MalformedId
from gateway.ec2.xml import XML_DECLARATION, escape

DEFAULT_STATUS = 400  # every client error not listed below
STATUS: Mapping[str, int] = {
    "AuthFailure": 401,
    "MissingAuthenticationToken": 401,
    "SignatureDoesNotMatch": 403,
    "UnauthorizedOperation": 403,
    "DryRunOperation": 412,
    "InvalidURI": 404,  # a path under /ec2 other than the endpoint (S3's code)
    "MethodNotAllowed": 405,  # neither GET nor POST (S3's code)
    "RequestEntityTooLarge": 413,
    "InternalError": 500,
    "Unavailable": 503,  # botocore retries 503s, ClientToken and all
}

# Fixed wording where AWS's own is what clients and people search for.
MESSAGES: Mapping[str, str] = {
    "AuthFailure": "AWS was not able to validate the provided access credentials",
    "SignatureDoesNotMatch": "The request signature we calculated does not match the signature "
                             "you provided. Check your AWS Secret Access Key and signing "
                             "method. Consult the service documentation for details.",
    "MissingAuthenticationToken": "The request must contain either a valid (registered) AWS "
                                  "access key ID or X.509 certificate.",
    "DryRunOperation": "Request would have succeeded, but DryRun flag is set.",
    "InternalError": "An internal error has occurred",
}

MALFORMED_ID_CODES: Mapping[str, str] = {
    "instance": "InvalidInstanceID.Malformed",
    "image": "InvalidAMIID.Malformed",
    "reservation": "InvalidReservationID.Malformed",
    "security_group": "InvalidGroupId.Malformed",
    "volume": "InvalidVolumeID.Malformed",
    "snapshot": "InvalidSnapshotID.Malformed",
    "floating_ip": "InvalidAllocationID.Malformed",
    "floating_ip_association": "InvalidAssociationID.Malformed",
    "key_pair": "InvalidParameterValue",  # EC2 has no InvalidKeyPair.Malformed
}

# Domain errors, most specific first. Signature errors subclass Unauthorized
# and InvalidInput, so they come before those.
CORE_CODES: tuple[tuple[type[errors.CoreError], str], ...] = (
    (SignatureMismatch, "SignatureDoesNotMatch"),
    (StaleRequest, "RequestExpired"),
    (MalformedSignature, "IncompleteSignature"),
    (errors.QuotaExceeded, "ResourceLimitExceeded"),
    (errors.Unauthorized, "AuthFailure"),
    (errors.Forbidden, "UnauthorizedOperation"),
    (errors.InvalidInput, "InvalidParameterValue"),
    (errors.NotFound, "InvalidParameterValue"),  # actions name their *.NotFound code
    (errors.Conflict, "IncorrectState"),
    (errors.PayloadTooLarge, "InvalidParameterValue"),
    (errors.ServiceUnavailable, "Unavailable"),
)


class Ec2Error(Exception):
    """An error the edge raises with its EC2 code."""

    def __init__(self, code: str, message: str | None = None) -> None:
        self.code = code
        self.message = message or MESSAGES.get(code, code)
        super().__init__(f"{code}: {self.message}")

    @property
    def status(self) -> int:
        return status_of(self.code)


def status_of(code: str) -> int:
    return STATUS.get(code, DEFAULT_STATUS)


def from_core(exc: errors.CoreError,
              overrides: Mapping[type[errors.CoreError], str] | None = None) -> Ec2Error:
    """The EC2 error for a domain error; ``overrides`` are the action's own codes."""
    if overrides:
        for cls, code in overrides.items():
            if isinstance(exc, cls):
                return Ec2Error(code, exc.message)
    if isinstance(exc, MalformedId):
        return Ec2Error(MALFORMED_ID_CODES[exc.kind or ""], exc.message)
    for cls, code in CORE_CODES:
        if isinstance(exc, cls):
            # Authentication failures say nothing about why (unknown key,
            # disabled user): AWS's fixed wording.
            message = MESSAGES.get(code) if code in ("AuthFailure",
                                                     "SignatureDoesNotMatch") else None
            return Ec2Error(code, message or exc.message)
    return Ec2Error("InternalError")


def error_body(error: Ec2Error, request_id: str) -> bytes:
    return (f"{XML_DECLARATION}<Response><Errors><Error><Code>{escape(error.code)}</Code>"
            f"<Message>{escape(error.message)}</Message></Error></Errors>"
            f"<RequestID>{escape(request_id)}</RequestID></Response>").encode()
