"""gateway/ec2/errors.py: one table from errors to (code, status); bodies
botocore reads as errors with their code, message and request id."""

from __future__ import annotations

import pytest
from botocore.parsers import create_parser

from core import errors
from core.identity.ec2_signature import MalformedSignature, SignatureMismatch, StaleRequest
from core.idmap.ids import Kind, MalformedId
from gateway.ec2 import service_model
from gateway.ec2.errors import Ec2Error, error_body, from_core, status_of

MODEL = service_model()


@pytest.mark.parametrize(("code", "status"), [
    ("AuthFailure", 401), ("MissingAuthenticationToken", 401),
    ("SignatureDoesNotMatch", 403), ("UnauthorizedOperation", 403),
    ("DryRunOperation", 412), ("InternalError", 500), ("Unavailable", 503),
    ("RequestExpired", 400), ("IncompleteSignature", 400), ("InvalidAction", 400),
    ("UnknownParameter", 400), ("InvalidParameterValue", 400), ("MissingParameter", 400),
    ("InvalidKeyPair.NotFound", 400), ("InvalidKeyPair.Duplicate", 400),
    ("InvalidKey.Format", 400), ("InvalidPaginationToken", 400),
])
def test_status_of_each_code(code, status):
    assert status_of(code) == status
    assert Ec2Error(code).status == status


@pytest.mark.parametrize(("exc", "code"), [
    (SignatureMismatch(), "SignatureDoesNotMatch"),
    (StaleRequest(), "RequestExpired"),
    (MalformedSignature(), "IncompleteSignature"),
    (errors.Unauthorized("EC2 access key not found."), "AuthFailure"),
    (errors.QuotaExceeded(), "ResourceLimitExceeded"),
    (errors.Forbidden("rule x"), "UnauthorizedOperation"),
    (errors.InvalidInput("bad"), "InvalidParameterValue"),
    (errors.NotFound("gone"), "InvalidParameterValue"),
    (errors.Conflict("busy"), "IncorrectState"),
    (errors.ServiceUnavailable(), "Unavailable"),
    (MalformedId(Kind.INSTANCE, "i-xyz"), "InvalidInstanceID.Malformed"),
    (MalformedId(Kind.IMAGE, "ami-xyz"), "InvalidAMIID.Malformed"),
    (MalformedId(Kind.KEY_PAIR, "key-xyz"), "InvalidParameterValue"),
])
def test_domain_errors_map_to_ec2_codes(exc, code):
    assert from_core(exc).code == code


def test_every_kind_has_a_malformed_code():
    for kind in Kind:
        assert from_core(MalformedId(kind, "x")).status == 400


def test_an_action_names_its_own_codes():
    overrides = {errors.NotFound: "InvalidKeyPair.NotFound",
                 errors.Conflict: "InvalidKeyPair.Duplicate"}
    assert from_core(errors.NotFound("no k"), overrides).code == "InvalidKeyPair.NotFound"
    assert from_core(errors.Conflict("k"), overrides).message == "k"
    assert from_core(errors.InvalidInput("x"), overrides).code == "InvalidParameterValue"


def test_authentication_failures_do_not_say_why():
    error = from_core(errors.Unauthorized("The token's user is disabled."))
    assert "disabled" not in error.message
    assert "credentials" in error.message


def test_an_unknown_domain_error_is_an_internal_error():
    class Odd(errors.CoreError):
        pass

    assert (from_core(Odd("x")).code, from_core(Odd("x")).status) == ("InternalError", 500)


@pytest.mark.parametrize("code", ["InvalidKeyPair.NotFound", "AuthFailure", "InternalError"])
def test_error_body_is_read_by_botocore_as_that_error(code):
    error = Ec2Error(code, "a <message> & more")
    parsed = create_parser("ec2").parse(
        {"body": error_body(error, "rid-1"), "headers": {}, "status_code": error.status},
        MODEL.operation_model("DescribeKeyPairs").output_shape)
    assert parsed["Error"] == {"Code": code, "Message": "a <message> & more"}
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-1"
