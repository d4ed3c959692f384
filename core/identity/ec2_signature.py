"""AWS request signature verification: SigV4 (header or presigned) and SigV2.

Used by ``POST /v3/ec2tokens`` (the body keystonemiddleware, ec2-api and heat
send) and by the EC2 Query API edge. The expected signature is recomputed with
botocore's own SigV4 signer and compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, quote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from core.errors import InvalidInput, Unauthorized
from core.numbers import BadInteger, parse_int

V4_ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_PRESIGNED_EXPIRES = 604800  # seven days, as AWS
_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_V2_DIGESTS = {"HmacSHA256": hashlib.sha256, "HmacSHA1": hashlib.sha1}


class MalformedSignature(InvalidInput):
    """Authentication data is missing or garbled (EC2: IncompleteSignature)."""

    default_message = "The request signature is missing or malformed."


class SignatureMismatch(Unauthorized):
    """The recomputed signature differs (EC2: SignatureDoesNotMatch)."""

    default_message = "Invalid EC2 signature."


class WrongRegion(Unauthorized):
    """The SigV4 credential scope names another region than this cloud's
    (EC2: AuthFailure). ``region`` is the one named, ``expected`` ours."""

    default_message = "Credential should be scoped to a valid region."


class StaleRequest(Unauthorized):
    """The signed timestamp is outside the allowed window (EC2: RequestExpired)."""

    default_message = "Signature expired."


@dataclass(frozen=True)
class SignedRequest:
    """The parts of an HTTP request that an AWS signature covers.

    ``params`` are the query parameters (plus, for SigV2 POSTs, the form
    parameters); ``body_hash`` is the hex SHA-256 of the body (None = empty).
    Header names are stored lower-cased.
    """

    method: str
    host: str
    path: str
    params: Mapping[str, str]
    headers: Mapping[str, str]
    body_hash: str | None = None

    def __post_init__(self) -> None:
        params = {str(k): str(v) for k, v in self.params.items()}
        headers = {str(k).lower(): str(v) for k, v in self.headers.items()}
        object.__setattr__(self, "params", MappingProxyType(params))
        object.__setattr__(self, "headers", MappingProxyType(headers))

    @classmethod
    def from_http(
        cls, method: str, host: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> SignedRequest:
        """Build from a raw request: ``path`` as sent (still percent-encoded)."""
        params = dict(parse_qsl(query, keep_blank_values=True))
        lower = {k.lower(): v for k, v in headers.items()}
        form = lower.get("content-type", "").startswith("application/x-www-form-urlencoded")
        signed_in_query = "authorization" in lower or "X-Amz-Algorithm" in params
        if method.upper() == "POST" and form and not signed_in_query:
            # SigV2 signs the form parameters; SigV4 signs the body's hash instead.
            text = body.decode("utf-8", "replace")
            params.update(parse_qsl(text, keep_blank_values=True))
        digest = hashlib.sha256(body).hexdigest()
        return cls(method.upper(), host, path, params, headers, digest)

    @classmethod
    def from_ec2tokens(cls, credentials: Mapping[str, Any]) -> SignedRequest:
        """Build from the ``credentials`` object of a ``POST /v3/ec2tokens`` body.

        Its ``signature`` is not part of the result: pass it to :func:`verify`
        as ``expected_signature`` (ec2-api and heat drop ``Signature`` from
        ``params``). As keystoneclient's Ec2Signer, a SigV4-signed POST has no
        canonical query string: its parameters travel in the hashed body.
        """
        if not isinstance(credentials, Mapping):
            raise MalformedSignature("EC2 credentials must be an object.")
        fields = ("verb", "host", "path")
        missing = [k for k in fields if not isinstance(credentials.get(k), str)]
        if missing or not all(credentials[k] for k in fields):
            raise MalformedSignature("EC2 credentials need a verb, host and path.")
        params = _str_mapping(credentials.get("params"), "params")
        headers = _str_mapping(credentials.get("headers"), "headers")
        method = credentials["verb"].upper()
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        if method == "POST" and auth.startswith(V4_ALGORITHM):
            params = {}
        body_hash = credentials.get("body_hash")
        if body_hash is not None and not isinstance(body_hash, str):
            raise MalformedSignature("EC2 credentials body_hash must be a string.")
        return cls(method, credentials["host"], credentials["path"], params, headers, body_hash)


@dataclass(frozen=True)
class _Auth:
    """What the request says about how it was signed."""

    version: int  # 2 or 4
    access_key: str
    signature: str | None
    timestamp: datetime | None = None  # SigV4 X-Amz-Date, SigV2 Timestamp
    deadline: datetime | None = None  # presigned X-Amz-Expires, SigV2 Expires
    amz_date: str = ""
    region: str = ""
    service: str = ""
    signed_headers: tuple[str, ...] = ()
    v2_method: str = ""


def access_key_of(req: SignedRequest) -> str:
    """The access key id the request claims; raises MalformedSignature."""
    return _parse_auth(req).access_key


def credential_scope(req: SignedRequest) -> tuple[str, str] | None:
    """(region, service) of a SigV4 credential scope; None for Signature Version 2.
    Raises MalformedSignature."""
    auth = _parse_auth(req)
    return (auth.region, auth.service) if auth.version == 4 else None


def verify(
    req: SignedRequest,
    secret: str,
    *,
    now: datetime,
    ttl_seconds: int = 900,
    expected_signature: str | None = None,
    region: str | None = None,
) -> None:
    """Check ``req`` was signed with ``secret`` within ``ttl_seconds`` of ``now``.

    With ``region``, a SigV4 credential scope must name it (case and all, as
    AWS); SigV2 has no scope. The signature checked is ``expected_signature``
    if given, else the one the request carries. If the host (the Host header
    for SigV4) has a port and the check fails, it is retried without the port,
    as keystone does for clients that sign without it. Only a matching request
    is then checked for age: X-Amz-Date / Timestamp must be within
    ``ttl_seconds`` of ``now`` (either way), except that a presigned request
    is good from X-Amz-Date (less ``ttl_seconds`` of clock skew) until
    X-Amz-Date + X-Amz-Expires (up to seven days, as AWS); a SigV2 ``Expires``
    must lie between ``now`` and ``now + ttl_seconds``.
    Raises MalformedSignature, WrongRegion, SignatureMismatch or StaleRequest.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    auth = _parse_auth(req)
    if region is not None and auth.version == 4 and auth.region != region:
        raise WrongRegion(f"Credential should be scoped to a valid region, not "
                          f"'{auth.region}'.", region=auth.region, expected=region)
    signature = expected_signature if expected_signature is not None else auth.signature
    if not signature:
        raise MalformedSignature("The request signature is missing.")
    host = req.headers.get("host", req.host) if auth.version == 4 else req.host
    for candidate in _host_candidates(host):
        computed = _compute(auth, req, secret, candidate)
        if hmac.compare_digest(computed.encode(), signature.encode()):
            break
    else:
        raise SignatureMismatch()
    _check_freshness(auth, now, timedelta(seconds=ttl_seconds))


def _parse_auth(req: SignedRequest) -> _Auth:
    header = req.headers.get("authorization")
    amz = {k[6:]: v for k, v in req.params.items() if k.startswith("X-Amz-")}
    presigned = any(k in amz for k in ("Algorithm", "Credential", "Signature"))
    v2 = "AWSAccessKeyId" in req.params or "SignatureVersion" in req.params
    found = [header is not None, presigned, v2]
    if not any(found):
        raise MalformedSignature(
            "Request is missing authentication: an Authorization header, "
            "X-Amz-Credential or AWSAccessKeyId is required."
        )
    if sum(found) > 1:
        raise MalformedSignature("Only one authentication mechanism is allowed.")
    if header is not None:
        algorithm, _, rest = header.strip().partition(" ")
        parts = dict(item.strip().partition("=")[::2] for item in rest.split(","))
        fields = {k: parts.get(k, "") for k in ("Credential", "SignedHeaders")}
        fields.update(
            Algorithm=algorithm,
            Signature=parts.get("Signature", ""),
            Date=req.headers.get("x-amz-date", ""),
        )
        required = ("Credential", "SignedHeaders", "Signature", "Date")
        return _v4_auth(fields, "Authorization header", required)
    required = ("Credential", "SignedHeaders", "Date", "Expires")
    return (
        _v4_auth(amz, "Presigned request (X-Amz-*)", required)
        if presigned
        else (_v2_auth(req.params))
    )


def _v4_auth(fields: Mapping[str, str], where: str, required: tuple[str, ...]) -> _Auth:
    if fields.get("Algorithm") != V4_ALGORITHM:
        raise MalformedSignature(
            f"{where}: unsupported algorithm {fields.get('Algorithm')!r}; "
            f"only {V4_ALGORITHM} is supported."
        )
    missing = [k for k in required if not fields.get(k)]
    if missing:  # "Date" is the X-Amz-Date header or parameter
        raise MalformedSignature(f"{where} requires {', '.join(missing)}.")
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or not all(scope) or scope[4] != "aws4_request":
        raise MalformedSignature(
            "Credential must be <access key>/<YYYYMMDD>/<region>/<service>/aws4_request."
        )
    amz_date = fields["Date"]
    try:
        timestamp = datetime.strptime(amz_date, _AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise MalformedSignature("X-Amz-Date must look like 20240131T235959Z.") from None
    if amz_date[:8] != scope[1]:
        raise MalformedSignature("Date in Credential scope does not match X-Amz-Date.")
    deadline, expires = None, fields.get("Expires")
    if expires is not None:
        try:
            seconds = parse_int(expires, 1, MAX_PRESIGNED_EXPIRES)
        except BadInteger:
            raise MalformedSignature("X-Amz-Expires must be between 1 and 604800.") from None
        deadline = timestamp + timedelta(seconds=seconds)
    headers = tuple(fields["SignedHeaders"].split(";"))
    if not all(headers) or any(h != h.lower() for h in headers):
        raise MalformedSignature("SignedHeaders must be lower-case names joined by ';'.")
    signature = fields.get("Signature") or None
    region, service = scope[2], scope[3]
    return _Auth(4, scope[0], signature, timestamp, deadline, amz_date, region, service, headers)


def _v2_auth(params: Mapping[str, str]) -> _Auth:
    if params.get("SignatureVersion") != "2":
        raise MalformedSignature("Only SignatureVersion 2 and AWS4-HMAC-SHA256 are supported.")
    if not params.get("AWSAccessKeyId"):
        raise MalformedSignature("AWSAccessKeyId is required.")
    method = params.get("SignatureMethod", "HmacSHA256")
    if method not in _V2_DIGESTS:
        raise MalformedSignature(f"Unsupported SignatureMethod {method!r}.")
    if ("Timestamp" in params) == ("Expires" in params):
        raise MalformedSignature("Exactly one of Timestamp and Expires is required.")
    when = _parse_iso8601(params["Timestamp"] if "Timestamp" in params else params["Expires"])
    timestamp, deadline = (when, None) if "Timestamp" in params else (None, when)
    return _Auth(
        2, params["AWSAccessKeyId"], params.get("Signature"), timestamp, deadline, v2_method=method
    )


def _parse_iso8601(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedSignature(f"Invalid ISO 8601 timestamp {value!r}.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class _SigV4Recomputer(SigV4Auth):  # type: ignore[misc]
    """botocore's SigV4 signer over exactly the client's SignedHeaders and body hash."""

    def __init__(self, secret: str, service: str, region: str, payload_hash: str) -> None:
        super().__init__(Credentials("", secret), service, region)
        self._payload_hash = payload_hash

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        signed = HTTPHeaders()
        for name, value in request.headers.items():
            signed[name.lower()] = value
        return signed

    def payload(self, request: AWSRequest) -> str:
        return self._payload_hash


def _compute(auth: _Auth, req: SignedRequest, secret: str, host: str) -> str:
    path = req.path or "/"
    if auth.version == 2:
        pairs = [
            f"{quote(k, safe='')}={quote(v, safe='-_~')}"
            for k, v in sorted(req.params.items())
            if k != "Signature"
        ]
        to_sign = f"{req.method}\n{host}\n{path}\n" + "&".join(pairs)
        digest = hmac.new(secret.encode(), to_sign.encode(), _V2_DIGESTS[auth.v2_method])
        return base64.b64encode(digest.digest()).decode()
    headers: dict[str, str] = {}
    for name in auth.signed_headers:
        if name != "host" and name not in req.headers:
            raise MalformedSignature(f"Signed header {name!r} is not in the request.")
        headers[name] = host if name == "host" else req.headers[name]
    params = {k: v for k, v in req.params.items() if k != "X-Amz-Signature"}
    request = AWSRequest(
        method=req.method, url="http://signed.invalid" + path, headers=headers, params=params
    )
    request.context["timestamp"] = auth.amz_date
    signer = _SigV4Recomputer(secret, auth.service, auth.region, req.body_hash or EMPTY_SHA256)
    canonical = signer.canonical_request(request)
    return str(signer.signature(signer.string_to_sign(request, canonical), request))


def _host_candidates(host: str) -> list[str]:
    """``host`` and, if it names a port, ``host`` without it (as keystone retries)."""
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit() and (name.endswith("]") or ":" not in name):
        return [host, name]
    return [host]


def _check_freshness(auth: _Auth, now: datetime, ttl: timedelta) -> None:
    window = f"{int(ttl.total_seconds())} seconds of {now:%Y%m%dT%H%M%SZ}"
    if auth.timestamp is not None:
        when = f"{auth.timestamp:%Y%m%dT%H%M%SZ}"
        if auth.timestamp - now > ttl:
            raise StaleRequest(f"Signature not yet current: {when} is not within {window}.")
        # A presigned request lives until its own deadline (X-Amz-Expires), not ttl.
        if auth.deadline is None and now - auth.timestamp > ttl:
            raise StaleRequest(f"Signature expired: {when} is not within {window}.")
    if auth.deadline is not None:
        if now > auth.deadline:
            raise StaleRequest(f"Request has expired at {auth.deadline:%Y%m%dT%H%M%SZ}.")
        if auth.timestamp is None and auth.deadline - now > ttl:
            raise StaleRequest(f"Expires must be within {window}.")


def _str_mapping(value: Any, name: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MalformedSignature(f"EC2 credentials {name} must be an object.")
    return {str(k): str(v) for k, v in value.items()}
