"""gateway/ec2/errors.py: one table from errors to (code, status); bodies
botocore reads as errors with their code, message and request id."""

from __future__ import annotations

import pytest
from botocore.parsers import create_parser

from core import errors
from core.identity.ec2_signature import (
    MalformedSignature,
    SignatureMismatch,
    StaleRequest,
    WrongRegion,
)
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


def test_the_kind_an_error_carries_names_the_code():
    assert from_core(errors.NotFound("no k", kind="key_pair", id="k")).code == \
        "InvalidKeyPair.NotFound"
    assert from_core(errors.Conflict("k", kind="key_pair", id="k")).code == \
        "InvalidKeyPair.Duplicate"
    assert from_core(errors.Conflict("k", kind="key_pair", id="k")).message == "k"
    assert from_core(errors.InvalidInput("x", kind="key_pair")).code == \
        "InvalidParameterValue"


def test_authentication_failures_do_not_say_why():
    error = from_core(errors.Unauthorized("The token's user is disabled."))
    assert "disabled" not in error.message
    assert "credentials" in error.message


def test_a_wrong_region_is_auth_failure_that_names_the_right_one():
    """As AWS's EC2 answers it (401 AuthFailure); the region is no secret
    (DescribeRegions lists it) and is what the caller needs to fix the client."""
    error = from_core(WrongRegion(region="us-east-1", expected="RegionOne"))
    assert (error.code, error.status) == ("AuthFailure", 401)
    assert error.message == ("Credential should be scoped to a valid region, not "
                             "'us-east-1': this cloud's region is 'RegionOne'.")


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


# ---------------------------------------------------------------- the structured table

def naming(kind: str, ident: str) -> str:
    """EC2 IDs as the ID map would give them."""
    return {("image", "uuid-1"): "ami-0123456789abcdef0",
            ("instance", "uuid-2"): "i-0123456789abcdef0",
            ("instance", "uuid-3"): "i-0123456789abcdef1"}.get((kind, ident), ident)


@pytest.mark.parametrize(("exc", "code", "message"), [
    (errors.NotFound("gone", kind="image", id="uuid-1"), "InvalidAMIID.NotFound",
     "The image id '[ami-0123456789abcdef0]' does not exist"),
    (errors.NotFound("gone", kind="instance", ids=["uuid-2", "uuid-3"]),
     "InvalidInstanceID.NotFound",
     "The instance IDs 'i-0123456789abcdef0, i-0123456789abcdef1' do not exist"),
    (errors.InvalidReference("Flavor big could not be found.", kind="flavor", id="big",
                             by="name"),
     "InvalidParameterValue", "Invalid value 'big' for InstanceType."),
    (errors.InvalidReference("Invalid key_name provided.", kind="key_pair", id="k9"),
     "InvalidKeyPair.NotFound", "The key pair 'k9' does not exist"),
    (errors.ReferenceUnavailable("not active", kind="image", id="uuid-1", state="queued"),
     "InvalidAMIID.Unavailable", "Image ami-0123456789abcdef0 is not available (it is "
                                 "queued)."),
    (errors.NotFound(kind="security_group", id="web", by="name"), "InvalidGroup.NotFound",
     "The security group 'web' does not exist in default VPC 'vpc-1'"),
    (errors.NotFound(kind="floating_ip", id="203.0.113.9", by="address"),
     "InvalidAddress.NotFound", "Address '203.0.113.9' not found."),
    (errors.Conflict("Instance uuid-2 is locked", kind="instance", id="uuid-2"),
     "IncorrectInstanceState", "Instance uuid-2 is locked"),
    (errors.QuotaExceeded("over", resources=["instances"], requested={"instances": 3},
                          used={"instances": 8}, allowed={"instances": 10}),
     "InstanceLimitExceeded",
     "Your quota allows for 2 more running instance(s). You requested at least 3"),
    (errors.QuotaExceeded("over", resources=["cores"], allowed={"cores": 20}),
     "VcpuLimitExceeded",
     "You have requested more vCPU capacity than your current vCPU limit of 20 allows."),
    (errors.QuotaExceeded("Quota exceeded, too many key pairs.", resources=["key_pairs"]),
     "ResourceLimitExceeded", "Quota exceeded, too many key pairs."),
])
def test_structured_errors_are_worded_with_ec2_ids(exc, code, message):
    error = from_core(exc, naming, "vpc-1")
    assert (error.code, error.message) == (code, message)


def test_every_kind_with_an_ec2_id_has_a_not_found_code():
    from core.idmap.ids import RESOURCES
    from gateway.ec2.errors import NOT_FOUND

    for kind, resource in RESOURCES.items():
        if kind is Kind.RESERVATION:
            continue  # reservations are only ever listed, never looked up
        assert NOT_FOUND[resource].code.endswith(".NotFound"), resource
