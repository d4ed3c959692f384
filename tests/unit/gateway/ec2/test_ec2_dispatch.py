"""gateway/ec2/api.py: authentication first, then parsing, the action's policy,
DryRun, the handler, and every failure as an EC2 error with its status (never a
raise)."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from core import errors
from core.context import RequestContext
from core.identity.ec2_signature import SignatureMismatch, StaleRequest
from core.policy import Enforcer
from core.policy.defaults import all_defaults
from gateway.ec2 import service_model
from gateway.ec2.api import Call, Ec2Api, action, collect_actions
from gateway.ec2.errors import Ec2Error
from gateway.ec2.handlers import HANDLERS
from gateway.ec2.protocol import MAX_BODY, HttpRequest

MODEL = service_model()
MEMBER = RequestContext(user_id="u1", project_id="p1", roles=("member", "reader"))
READER = RequestContext(user_id="u2", project_id="p1", roles=("reader",))


class FakeAuth:
    def __init__(self, ctx: RequestContext = MEMBER, exc: Exception | None = None) -> None:
        self.ctx, self.exc = ctx, exc

    def authenticate(self, request, request_id=None):
        if self.exc is not None:
            raise self.exc
        return self.ctx


class Things:
    def __init__(self) -> None:
        self.calls: list[Call] = []

    @action("DescribeRegions")
    def describe_regions(self, call: Call):
        self.calls.append(call)
        return {"Regions": [{"RegionName": "r1"}]}

    @action("DeleteKeyPair", rules=("os_compute_api:os-keypairs:delete",))
    def delete_key_pair(self, call: Call):
        self.calls.append(call)
        raise errors.NotFound("Keypair k not found", kind="key_pair", id="k")

    @action("CreateKeyPair", rules=("os_compute_api:servers:create",))
    def create_key_pair(self, call: Call):
        self.calls.append(call)
        raise RuntimeError("secret internals")


def api(auth: FakeAuth | None = None) -> tuple[Ec2Api, Things]:
    things = Things()
    return Ec2Api(MODEL, [things], auth or FakeAuth(), Enforcer(all_defaults())), things


def post(body: str) -> HttpRequest:
    return HttpRequest("POST", "h", "/ec2/", "",
                       {"content-type": "application/x-www-form-urlencoded"}, body.encode())


def code_of(reply) -> str:
    root = ElementTree.fromstring(reply.body)
    assert root.tag == "Response"
    assert root.find("RequestID").text == "rid"
    return root.find("Errors/Error/Code").text


def test_a_call_reaches_its_handler_and_is_rendered():
    ec2, things = api()
    reply = ec2.handle(post("Action=DescribeRegions&Version=2016-11-15&RegionName.1=r1"), "rid")
    assert reply.status == 200
    assert reply.content_type.startswith("text/xml")
    assert b"<regionInfo><item><regionName>r1</regionName></item></regionInfo>" in reply.body
    (call,) = things.calls
    assert (call.ctx, call.action, call.params, call.request_id) == \
        (MEMBER, "DescribeRegions", {"RegionNames": ["r1"]}, "rid")


@pytest.mark.parametrize(("exc", "code", "status"), [
    (Ec2Error("MissingAuthenticationToken"), "MissingAuthenticationToken", 401),
    (errors.Unauthorized("EC2 access key not found."), "AuthFailure", 401),
    (SignatureMismatch(), "SignatureDoesNotMatch", 403),
    (StaleRequest(), "RequestExpired", 400),
])
def test_authentication_comes_first(exc, code, status):
    ec2, things = api(FakeAuth(exc=exc))
    reply = ec2.handle(post("Action=NoSuchThing&Junk=1"), "rid")
    assert (reply.status, code_of(reply)) == (status, code)
    assert things.calls == []


@pytest.mark.parametrize(("body", "code"), [
    ("Action=NoSuchThing", "InvalidAction"),
    ("Action=RunInstances&ImageId=ami-1&MinCount=1&MaxCount=1", "UnsupportedOperation"),
    ("Action=DescribeRegions&Unknown=1", "UnknownParameter"),
    ("Version=2016-11-15", "MissingAction"),
])
def test_bad_calls_are_400s(body, code):
    reply = api()[0].handle(post(body), "rid")
    assert (reply.status, code_of(reply)) == (400, code)


def test_dry_run_allowed_is_412_and_does_nothing():
    ec2, things = api()
    reply = ec2.handle(post("Action=DeleteKeyPair&KeyName=k&DryRun=true"), "rid")
    assert (reply.status, code_of(reply)) == (412, "DryRunOperation")
    assert things.calls == []


def test_dry_run_refused_is_403_and_does_nothing():
    ec2, things = api(FakeAuth(READER))
    reply = ec2.handle(post("Action=CreateKeyPair&KeyName=k&DryRun=true"), "rid")
    assert (reply.status, code_of(reply)) == (403, "UnauthorizedOperation")
    assert things.calls == []


def test_policy_is_checked_before_the_handler_runs():
    """Permission before state: the handler never sees a caller the action's
    rules refuse, so its answer cannot depend on the objects' state."""
    ec2, things = api(FakeAuth(READER))
    reply = ec2.handle(post("Action=CreateKeyPair&KeyName=k"), "rid")
    assert (reply.status, code_of(reply)) == (403, "UnauthorizedOperation")
    assert things.calls == []


def test_every_action_that_changes_something_names_its_rules():
    """The dispatcher's check is only as good as the rules an action names."""
    unguarded = []
    for cls in HANDLERS:
        for attr in dir(cls):
            spec = getattr(getattr(cls, attr), "ec2_action", None)
            if spec is not None and not spec.name.startswith(("Describe", "Get")) \
                    and not spec.rules:
                unguarded.append(spec.name)
    assert unguarded == []


def test_dry_run_checks_the_parameters_first():
    reply = api()[0].handle(post("Action=CreateKeyPair&DryRun=true"), "rid")
    assert (reply.status, code_of(reply)) == (400, "MissingParameter")


def test_dry_run_false_runs_the_action():
    ec2, things = api()
    assert ec2.handle(post("Action=DescribeRegions&DryRun=false"), "rid").status == 200
    assert len(things.calls) == 1


def test_an_action_maps_domain_errors_to_its_own_codes():
    reply = api()[0].handle(post("Action=DeleteKeyPair&KeyName=k"), "rid")
    assert (reply.status, code_of(reply)) == (400, "InvalidKeyPair.NotFound")


def test_an_unexpected_error_is_a_500_that_says_nothing():
    reply = api()[0].handle(post("Action=CreateKeyPair&KeyName=k"), "rid")
    assert (reply.status, code_of(reply)) == (500, "InternalError")
    assert b"secret" not in reply.body


def test_an_oversized_body_is_refused():
    reply = api()[0].handle(post("Action=DescribeRegions&x=" + "a" * MAX_BODY), "rid")
    assert (reply.status, code_of(reply)) == (413, "RequestEntityTooLarge")


def test_handlers_must_name_real_and_distinct_actions():
    class Typo:
        @action("DescribeRegion")
        def describe(self, call):
            return None

    with pytest.raises(ValueError, match="no EC2 action"):
        collect_actions(MODEL, [Typo()])
    with pytest.raises(ValueError, match="two handlers"):
        collect_actions(MODEL, [Things(), Things()])
