"""The EC2 edge when the database is down: 503, AWS's ``ServiceUnavailable``
code in ``<Response><Errors>``, and a Retry-After header (botocore retries
503s on its own, ClientToken and all)."""

from __future__ import annotations

from xml.etree import ElementTree

from core import errors
from core.context import RequestContext
from core.policy import Enforcer
from core.policy.defaults import all_defaults
from gateway.ec2 import service_model
from gateway.ec2.api import Call, Ec2Api, action
from gateway.ec2.errors import Ec2Error, from_core
from gateway.ec2.protocol import HttpRequest

MEMBER = RequestContext(user_id="u1", project_id="p1", roles=("member", "reader"))


class Auth:
    def __init__(self, exc: Exception | None = None) -> None:
        self.exc = exc

    def authenticate(self, request, request_id=None):
        if self.exc is not None:
            raise self.exc
        return MEMBER


class Regions:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    @action("DescribeRegions")
    def describe_regions(self, call: Call):
        raise self.exc


def handle(auth: Auth, exc: Exception):
    api = Ec2Api(service_model(), [Regions(exc)], auth, Enforcer(all_defaults()))
    return api.handle(HttpRequest("POST", "h", "/ec2/", "",
                                  {"content-type": "application/x-www-form-urlencoded"},
                                  b"Action=DescribeRegions&Version=2016-11-15"), "rid")


def test_database_down_in_a_handler_is_service_unavailable_with_retry_after():
    reply = handle(Auth(), errors.DatabaseUnavailable())
    root = ElementTree.fromstring(reply.body)
    assert reply.status == 503
    assert root.find("Errors/Error/Code").text == "ServiceUnavailable"
    assert reply.headers == {"Retry-After": "5"}


def test_database_down_while_authenticating_is_the_same():
    reply = handle(Auth(errors.DatabaseUnavailable()), RuntimeError("not reached"))
    assert reply.status == 503
    assert b"<Code>ServiceUnavailable</Code>" in reply.body
    assert reply.headers == {"Retry-After": "5"}


def test_other_unavailability_keeps_its_code_and_every_503_has_retry_after():
    assert from_core(errors.ServiceUnavailable()).code == "Unavailable"
    assert from_core(errors.ServiceUnavailable(retry_after=3)).retry_after == 3
    assert Ec2Error("Unavailable").retry_after == 1
    assert Ec2Error("InvalidParameterValue").retry_after is None
    reply = handle(Auth(), errors.ServiceUnavailable())
    assert (reply.status, reply.headers) == (503, {"Retry-After": "1"})
    assert handle(Auth(), errors.NotFound("x")).headers is None
