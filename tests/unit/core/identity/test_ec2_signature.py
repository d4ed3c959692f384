"""Tests for core/identity/ec2_signature.py against requests signed by botocore."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest
from botocore.auth import SigV2Auth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest
from botocore.credentials import Credentials
from keystoneclient.contrib.ec2.utils import Ec2Signer

from core.errors import InvalidInput, Unauthorized
from core.identity import ec2_signature
from core.identity.ec2_signature import (
    MalformedSignature,
    SignatureMismatch,
    SignedRequest,
    StaleRequest,
    WrongRegion,
    access_key_of,
    verify,
)

ACCESS = "0123456789abcdef0123456789abcdef"
SECRET = "fedcba9876543210fedcba9876543210"
ENDPOINT = "http://127.0.0.1:8080/"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


class Captured(Exception):
    """Raised by the before-send hook to stop boto3 after signing."""

    def __init__(self, request: AWSPreparedRequest) -> None:
        super().__init__("captured")
        self.request = request


def boto3_describe_instances(endpoint: str = ENDPOINT) -> AWSPreparedRequest:
    """What boto3's ec2 client sends for DescribeInstances (never sent)."""
    client = boto3.client(
        "ec2",
        endpoint_url=endpoint,
        region_name="RegionOne",
        aws_access_key_id=ACCESS,
        aws_secret_access_key=SECRET,
    )

    def capture(request: AWSPreparedRequest, **_: Any) -> None:
        raise Captured(request)

    client.meta.events.register("before-send.ec2.*", capture)
    with pytest.raises(Captured) as caught:
        client.describe_instances()
    return caught.value.request


def botocore_signed(
    signer: Callable[[Credentials], Any],
    method: str,
    url: str,
    *,
    params: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> AWSPreparedRequest:
    request = AWSRequest(method=method, url=url, params=params, data=data, headers=headers)
    signer(Credentials(ACCESS, SECRET)).add_auth(request)
    return request.prepare()


def sigv4(creds: Credentials) -> SigV4Auth:
    return SigV4Auth(creds, "ec2", "RegionOne")


def presign(creds: Credentials) -> SigV4QueryAuth:
    return SigV4QueryAuth(creds, "ec2", "RegionOne", expires=300)


def wire_parts(
    prepared: AWSPreparedRequest, host: str | None = None
) -> tuple[str, str, str, str, dict[str, str], bytes]:
    """(method, host, path, query, headers, body) as an HTTP server sees them."""
    url = urlsplit(prepared.url)
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in prepared.headers.items()}
    headers["Host"] = host or url.netloc
    body = prepared.body or b""
    body = body.encode() if isinstance(body, str) else body
    return prepared.method, headers["Host"], url.path or "/", url.query, headers, body


def as_edge(prepared: AWSPreparedRequest, host: str | None = None) -> SignedRequest:
    """(a) How the EC2 edge builds a SignedRequest from the raw request."""
    return SignedRequest.from_http(*wire_parts(prepared, host))


def as_ec2tokens(prepared: AWSPreparedRequest, host: str | None = None) -> dict[str, Any]:
    """(b) The ec2tokens credentials ec2-api / heat's middleware would POST."""
    method, host, path, query, headers, body = wire_parts(prepared, host)
    params = dict(parse_qsl(query))
    if method == "POST" and "Authorization" not in headers:
        params.update(parse_qsl(body.decode()))  # webob merges form params
    signature = params.get("Signature") or params.get("X-Amz-Signature")
    if "Authorization" in headers:
        signature = headers["Authorization"].partition("Signature=")[2].split(",")[0]
    if "X-Amz-Signature" in params or "Authorization" in headers:
        params = {}
    params.pop("Signature", None)
    return {
        "access": ACCESS,
        "signature": signature,
        "host": host,
        "verb": method,
        "path": path,
        "params": params,
        "headers": headers,
        "body_hash": hashlib.sha256(body).hexdigest(),
    }


def now() -> datetime:
    return datetime.now(UTC)


def check(req: SignedRequest, secret: str = SECRET, **kwargs: Any) -> None:
    verify(req, secret, now=kwargs.pop("at", now()), **kwargs)


@pytest.fixture
def boto3_request() -> AWSPreparedRequest:
    return boto3_describe_instances()


# -- SigV4 as boto3's ec2 client sends it --------------------------------------


def test_boto3_post_verifies_at_the_edge(boto3_request: AWSPreparedRequest) -> None:
    assert wire_parts(boto3_request)[5] == b"Action=DescribeInstances&Version=2016-11-15"
    req = as_edge(boto3_request)
    assert req.host == "127.0.0.1:8080" and req.params == {}
    assert access_key_of(req) == ACCESS
    check(req)


def test_boto3_post_verifies_via_ec2tokens(boto3_request: AWSPreparedRequest) -> None:
    creds = as_ec2tokens(boto3_request)
    # keystone's own verifier accepts this body, so the format is right
    assert Ec2Signer(SECRET).generate(dict(creds)) == creds["signature"]
    req = SignedRequest.from_ec2tokens(creds)
    assert access_key_of(req) == ACCESS
    check(req, expected_signature=creds["signature"])


def test_boto3_post_with_form_params_in_ec2tokens_body(
    boto3_request: AWSPreparedRequest,
) -> None:
    creds = as_ec2tokens(boto3_request)
    creds["params"] = {"Action": "DescribeInstances", "Version": "2016-11-15"}
    # POST parameters travel in the hashed body: they are not a query string
    check(SignedRequest.from_ec2tokens(creds), expected_signature=creds["signature"])


def test_wrong_secret_is_a_mismatch(boto3_request: AWSPreparedRequest) -> None:
    with pytest.raises(SignatureMismatch, match="Invalid EC2 signature."):
        check(as_edge(boto3_request), secret="0" * 32)
    creds = as_ec2tokens(boto3_request)
    with pytest.raises(SignatureMismatch):
        check(SignedRequest.from_ec2tokens(creds), "0" * 32, expected_signature="x")


def test_modified_body_is_a_mismatch(boto3_request: AWSPreparedRequest) -> None:
    boto3_request.body = b"Action=TerminateInstances&Version=2016-11-15"
    with pytest.raises(SignatureMismatch):
        check(as_edge(boto3_request))


def test_modified_signed_header_is_a_mismatch(
    boto3_request: AWSPreparedRequest,
) -> None:
    method, host, path, query, headers, body = wire_parts(boto3_request)
    headers["Content-Type"] = "text/plain"
    with pytest.raises(SignatureMismatch):
        check(SignedRequest.from_http(method, host, path, query, headers, body))


def test_stale_and_future_requests(boto3_request: AWSPreparedRequest) -> None:
    req = as_edge(boto3_request)
    check(req, at=now() + timedelta(minutes=14))
    check(req, at=now() - timedelta(minutes=14))
    with pytest.raises(StaleRequest, match="Signature expired"):
        check(req, at=now() + timedelta(minutes=16))
    with pytest.raises(StaleRequest, match="not yet current"):
        check(req, at=now() - timedelta(minutes=16))
    with pytest.raises(StaleRequest):
        check(req, at=now() + timedelta(seconds=61), ttl_seconds=60)


def test_signature_is_checked_before_freshness(
    boto3_request: AWSPreparedRequest,
) -> None:
    with pytest.raises(SignatureMismatch):
        check(as_edge(boto3_request), "0" * 32, at=now() + timedelta(days=1))


# -- GET with a query string, presigned, ports -----------------------------------


def test_sigv4_get_with_query() -> None:
    params = {
        "Action": "DescribeRegions",
        "Version": "2016-11-15",
        "Filter.1.Name": "a b",
    }
    prepared = botocore_signed(sigv4, "GET", ENDPOINT, params=params)
    req = as_edge(prepared)
    check(req)
    tampered = SignedRequest(
        req.method,
        req.host,
        req.path,
        {**req.params, "Action": "X"},
        req.headers,
        req.body_hash,
    )
    with pytest.raises(SignatureMismatch):
        check(tampered)


def test_presigned_sigv4_query() -> None:
    params = {"Action": "DescribeRegions", "Version": "2016-11-15"}
    prepared = botocore_signed(presign, "GET", ENDPOINT, params=params)
    req = as_edge(prepared)
    assert access_key_of(req) == ACCESS
    check(req)
    with pytest.raises(StaleRequest, match="expired"):
        check(req, at=now() + timedelta(seconds=301))  # X-Amz-Expires=300
    tampered = SignedRequest(
        "GET", req.host, "/", {**req.params, "Version": "2014-01-01"}, req.headers
    )
    with pytest.raises(SignatureMismatch):
        check(tampered)
    # the body keystoneclient's Ec2Signer expects for presigned requests
    creds = as_ec2tokens(prepared)
    creds["params"] = dict(req.params)
    check(SignedRequest.from_ec2tokens(creds))


def test_presigned_lifetime_is_its_own_not_the_ttl() -> None:
    """A presigned URL is good until X-Amz-Date + X-Amz-Expires (up to seven
    days), however much longer that is than the header-signed TTL; it may not
    be dated further ahead than the TTL allows for clock skew."""

    def presigned(expires: int) -> SignedRequest:
        def signer(creds: Credentials) -> SigV4QueryAuth:
            return SigV4QueryAuth(creds, "ec2", "RegionOne", expires=expires)

        params = {"Action": "DescribeRegions", "Version": "2016-11-15"}
        return as_edge(botocore_signed(signer, "GET", ENDPOINT, params=params))

    hour = presigned(3600)
    check(hour, at=now() + timedelta(minutes=59), ttl_seconds=900)
    with pytest.raises(StaleRequest, match="expired"):
        check(hour, at=now() + timedelta(minutes=61), ttl_seconds=900)
    with pytest.raises(StaleRequest, match="not yet current"):
        check(hour, at=now() - timedelta(minutes=16), ttl_seconds=900)
    week = presigned(604800)
    check(week, at=now() + timedelta(days=6, hours=23), ttl_seconds=900)
    with pytest.raises(StaleRequest, match="expired"):
        check(week, at=now() + timedelta(days=7, minutes=1), ttl_seconds=900)
    with pytest.raises(MalformedSignature, match="604800"):
        check(presigned(604801))


def test_region_is_checked_when_asked(boto3_request: AWSPreparedRequest) -> None:
    """The EC2 edge passes its region: a scope naming another (or the same in
    another case) is WrongRegion, header-signed or presigned. ec2tokens passes
    none: keystone never checked the region of the services it serves."""
    header = as_edge(boto3_request)  # signed for RegionOne
    check(header, region="RegionOne")
    check(header)
    for other in ("us-east-1", "regionone"):
        with pytest.raises(WrongRegion, match="not 'RegionOne'") as info:
            check(header, region=other)
        assert info.value.details == {"region": "RegionOne", "expected": other}
    params = {"Action": "DescribeRegions", "Version": "2016-11-15"}
    query = as_edge(botocore_signed(presign, "GET", ENDPOINT, params=params))
    check(query, region="RegionOne")
    with pytest.raises(WrongRegion):
        check(query, region="us-east-1")
    # SigV2 names no region: nothing to check
    v2 = botocore_signed(SigV2Auth, "POST", ENDPOINT,
                         data={"Action": "DescribeRegions", "Version": "2016-11-15"},
                         headers=FORM)
    check(as_edge(v2), region="us-east-1")


def test_signed_without_port_verified_with_port() -> None:
    # the client signed Host "127.0.0.1" but the request arrived with a port
    prepared = botocore_signed(sigv4, "POST", "http://127.0.0.1/", data={"Action": "X"})
    check(as_edge(prepared, host="127.0.0.1:8080"))
    creds = as_ec2tokens(prepared, host="127.0.0.1:8080")
    check(SignedRequest.from_ec2tokens(creds), expected_signature=creds["signature"])


def test_signed_with_port_verified_without_port_fails(
    boto3_request: AWSPreparedRequest,
) -> None:
    check(as_edge(boto3_request, host="127.0.0.1:8080"))
    with pytest.raises(SignatureMismatch):
        check(as_edge(boto3_request, host="127.0.0.1"))


def test_ipv6_host_port_is_stripped_on_retry() -> None:
    prepared = botocore_signed(sigv4, "GET", "http://[::1]/", params={"Action": "X"})
    check(as_edge(prepared, host="[::1]:8080"))


# -- SigV2 ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sigv2(method: str) -> None:
    params = {"Action": "DescribeRegions", "Version": "2016-11-15"}
    kwargs: dict[str, Any] = (
        {"params": params} if method == "GET" else {"data": params, "headers": FORM}
    )
    prepared = botocore_signed(SigV2Auth, method, ENDPOINT, **kwargs)
    req = as_edge(prepared)
    assert req.params["SignatureVersion"] == "2"
    assert access_key_of(req) == ACCESS
    check(req)
    creds = as_ec2tokens(prepared)
    assert (
        Ec2Signer(SECRET).generate(dict(creds, params=dict(creds["params"])))
        == (creds["signature"])
    )
    from_keystone = SignedRequest.from_ec2tokens(creds)
    check(from_keystone, expected_signature=creds["signature"])
    with pytest.raises(SignatureMismatch):
        check(req, secret="0" * 32)
    tampered = SignedRequest(
        method, req.host, "/", {**req.params, "Action": "RebootInstances"}, req.headers
    )
    with pytest.raises(SignatureMismatch):
        check(tampered)
    with pytest.raises(StaleRequest):
        check(req, at=now() + timedelta(minutes=16))
    with pytest.raises(StaleRequest):
        check(req, at=now() - timedelta(minutes=16))


def test_sigv2_port_retry_and_sha1() -> None:
    params = {
        "Action": "DescribeRegions",
        "AWSAccessKeyId": ACCESS,
        "SignatureVersion": "2",
        "SignatureMethod": "HmacSHA1",
        "Expires": (now() + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    qs = "&".join(f"{k}={v.replace(':', '%3A')}" for k, v in sorted(params.items()))
    to_sign = f"GET\nexample.com\n/\n{qs}"
    digest = hmac.new(SECRET.encode(), to_sign.encode(), hashlib.sha1).digest()
    signature = base64.b64encode(digest).decode()
    req = SignedRequest("GET", "example.com:8773", "/", {**params, "Signature": signature}, {})
    check(req)  # signed without the port: accepted on retry
    with pytest.raises(StaleRequest, match="expired"):
        check(req, at=now() + timedelta(minutes=6))


# -- malformed authentication ----------------------------------------------------


def with_headers(req: SignedRequest, **changes: str | None) -> SignedRequest:
    headers = dict(req.headers)
    for name, value in changes.items():
        name = name.replace("_", "-").lower()
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return SignedRequest(req.method, req.host, req.path, req.params, headers, req.body_hash)


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        ("AWS4-HMAC-SHA256 Credential=AK/20240101/r/ec2/aws4_request", "SignedHeaders"),
        ("AWS4-HMAC-SHA256 garbage", "Credential"),
        ("AWS4-HMAC-SHA256", "Credential"),
        (
            "AWS4-HMAC-SHA256 Credential=AK/20240101/r/ec2, SignedHeaders=host, Signature=ab",
            "Credential must be",
        ),
        (
            "AWS4-ECDSA-P256-SHA256 Credential=AK/20240101/r/ec2/aws4_request",
            "unsupported",
        ),
        ("AWS AKID:c2lnbmF0dXJl", "unsupported"),
        ("", "unsupported"),
    ],
)
def test_malformed_authorization_header(
    boto3_request: AWSPreparedRequest, authorization: str, message: str
) -> None:
    req = with_headers(as_edge(boto3_request), Authorization=authorization)
    with pytest.raises(MalformedSignature, match=message):
        access_key_of(req)
    with pytest.raises(MalformedSignature):
        check(req)


def test_malformed_dates_and_headers(boto3_request: AWSPreparedRequest) -> None:
    req = as_edge(boto3_request)
    with pytest.raises(MalformedSignature, match="Date"):
        check(with_headers(req, X_Amz_Date=None))
    with pytest.raises(MalformedSignature, match="X-Amz-Date must look like"):
        check(with_headers(req, X_Amz_Date="2024-01-01T00:00:00Z"))
    with pytest.raises(MalformedSignature, match="does not match"):
        check(with_headers(req, X_Amz_Date="19990101T000000Z"))
    with pytest.raises(MalformedSignature, match="content-type"):
        check(with_headers(req, Content_Type=None))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "missing authentication"),
        ({"Action": "X"}, "missing authentication"),
        (
            {"AWSAccessKeyId": "AK", "SignatureVersion": "1", "Timestamp": "x"},
            "SignatureVersion",
        ),
        ({"AWSAccessKeyId": "AK", "SignatureVersion": "2"}, "Timestamp"),
        (
            {
                "AWSAccessKeyId": "AK",
                "SignatureVersion": "2",
                "SignatureMethod": "HmacMD5",
            },
            "SignatureMethod",
        ),
        (
            {"AWSAccessKeyId": "AK", "SignatureVersion": "2", "Timestamp": "yesterday"},
            "ISO 8601",
        ),
        (
            {"X-Amz-Algorithm": "AWS4-HMAC-SHA1", "X-Amz-Credential": "AK"},
            "unsupported",
        ),
        ({"X-Amz-Algorithm": "AWS4-HMAC-SHA256"}, "Credential"),
        (
            {
                "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                "X-Amz-Credential": "AK/20240101/r/ec2/aws4_request",
                "X-Amz-SignedHeaders": "host",
                "X-Amz-Date": "20240101T000000Z",
                "X-Amz-Expires": "99999999",
            },
            "X-Amz-Expires",
        ),
        (
            {"X-Amz-Algorithm": "AWS4-HMAC-SHA256", "AWSAccessKeyId": "AK"},
            "Only one authentication mechanism",
        ),
    ],
)
def test_malformed_query_authentication(params: dict[str, str], message: str) -> None:
    req = SignedRequest("GET", "h", "/", params, {})
    with pytest.raises(MalformedSignature, match=message):
        check(req, expected_signature="sig")


@pytest.mark.parametrize("expires", ["¹", "٥", "3_00", " 300", "+300", "-1", "0", ""])
def test_presigned_expiry_is_ascii_digits(expires: str) -> None:
    """``"¹".isdigit()`` is true but ``int("¹")`` raises: that was a 500 for
    anyone, with no credential at all. ``int("٥")`` is 5."""
    params = {"X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-SignedHeaders": "host",
              "X-Amz-Credential": "AK/20240101/r/ec2/aws4_request",
              "X-Amz-Date": "20240101T000000Z", "X-Amz-Expires": expires,
              "X-Amz-Signature": "00"}
    with pytest.raises(MalformedSignature):
        check(SignedRequest("GET", "h", "/", params, {}), expected_signature="00")


@pytest.mark.parametrize("empty", ["Timestamp", "Expires"])
def test_an_empty_sigv2_timestamp_is_malformed(empty: str) -> None:
    """``Timestamp=`` (empty) was looked up as ``Expires``: a KeyError, a 500."""
    params = {"AWSAccessKeyId": "AK", "SignatureVersion": "2", "Signature": "AAAA", empty: ""}
    with pytest.raises(MalformedSignature, match="ISO 8601"):
        check(SignedRequest("GET", "h", "/", params, {}), expected_signature="AAAA")


def test_header_and_query_auth_together_are_rejected(
    boto3_request: AWSPreparedRequest,
) -> None:
    req = as_edge(boto3_request)
    both = SignedRequest("POST", req.host, "/", {"AWSAccessKeyId": "AK"}, req.headers)
    with pytest.raises(MalformedSignature, match="Only one"):
        access_key_of(both)


def test_missing_signature_is_malformed() -> None:
    params = {
        "AWSAccessKeyId": "AK",
        "SignatureVersion": "2",
        "Timestamp": "2024-01-01",
    }
    with pytest.raises(MalformedSignature, match="signature is missing"):
        check(SignedRequest("GET", "h", "/", params, {}))


def test_from_ec2tokens_rejects_malformed_bodies() -> None:
    for bad in (
        [],
        {"verb": "GET", "path": "/"},
        {"verb": 1, "host": "h", "path": "/"},
    ):
        with pytest.raises(MalformedSignature):
            SignedRequest.from_ec2tokens(bad)  # type: ignore[arg-type]
    with pytest.raises(MalformedSignature):
        SignedRequest.from_ec2tokens({"verb": "GET", "host": "h", "path": "/", "params": []})


def test_exception_hierarchy() -> None:
    assert issubclass(MalformedSignature, InvalidInput)
    assert issubclass(SignatureMismatch, Unauthorized)
    assert issubclass(StaleRequest, Unauthorized)
    assert issubclass(WrongRegion, Unauthorized)


def test_naive_now_is_rejected(boto3_request: AWSPreparedRequest) -> None:
    with pytest.raises(ValueError):
        verify(as_edge(boto3_request), SECRET, now=datetime.now())


# -- constant-time comparison ------------------------------------------------------


def test_comparison_uses_hmac_compare_digest(
    boto3_request: AWSPreparedRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(ec2_signature.hmac, "compare_digest", spy)
    check(as_edge(boto3_request))
    assert len(calls) == 1
    monkeypatch.setattr(ec2_signature.hmac, "compare_digest", lambda a, b: False)
    with pytest.raises(SignatureMismatch):
        check(as_edge(boto3_request))
