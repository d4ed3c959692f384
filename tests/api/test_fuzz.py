"""Fuzz: no generated request gets an answer of 500 or more.

Every operation of every spec in openapi/ is called by schemathesis as an
admin and as a member of another project (each generated case as both, as
making the cases is the costly part): valid data, data that breaks the schema,
and valid data carrying edge values (tests/support/fuzz.py). The EC2
Query parser gets random and Unicode parameter names and values for every
action the edge serves, signed with botocore's SigV4 signer (in the header and
presigned), and authentication parameters without a signature.

Deterministic (derandomized hypothesis, no example database) and bounded:
EXAMPLES cases per operation and generation mode. The server is the
module's own: generated requests delete and change what they find, so the
callers are checked, and put back, before each operation."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from gateway.ec2 import service_model
from tests.conftest import unique
from tests.support.fuzz import (
    Caller,
    authentication_parameters,
    can_be_negative,
    implemented_actions,
    one_field_changes,
    parameter_names,
    put_edge_values,
    query_parameters,
    send_query,
)
from tests.support.server import make_server

OPENAPI = Path(__file__).resolve().parents[2] / "openapi"
MOUNTS = {"identity-v3.yaml": "/identity", "compute-v2.1.yaml": "/compute",
          "image-v2.yaml": "/image", "ec2.yaml": "/ec2"}
PERSONAS = ("admin", "member")
MODES = ("positive", "negative", "edge")
# FUZZ_SCALE=10 for a deeper run by hand; the suite runs at 1 (about a minute).
SCALE = int(os.environ.get("FUZZ_SCALE", "1"))
EXAMPLES = 5 * SCALE        # per operation and mode, each sent as both personas: up to 30 requests an operation
EC2_EXAMPLES = 8 * SCALE    # per EC2 action and persona
AUTH_EXAMPLES = 150 * SCALE  # unsigned requests with one or two authentication parameters
                             # changed, besides the sweep of one_field_changes()
ADMIN_PASSWORD = "fuzz-admin-password"
FUZZ = settings(deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
# Glance's JSON-patch media types are JSON.
for _media in ("application/openstack-images-v2.1-json-patch",
               "application/openstack-images-v2.0-json-patch"):
    schemathesis.serializer.alias(_media, "application/json")


def fuzz_settings(examples: int) -> settings:
    """FUZZ, with ``examples`` cases at most."""
    return settings(FUZZ, max_examples=examples)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    """A server of its own. Its admin password is a setting, so bootstrapping
    again puts the admin back if a generated request deleted it."""
    srv = make_server(tmp_path_factory.mktemp("fuzz"), admin_password=ADMIN_PASSWORD)
    srv.bootstrap()
    srv.start()
    yield srv
    srv.stop()


def _restore_admin(caller: Caller) -> None:
    caller.server.bootstrap()


def _new_member(admin: Caller) -> Callable[[Caller], None]:
    """How to put the member back: a new user, member of a new project."""
    def restore(caller: Caller) -> None:
        headers = {"X-Auth-Token": admin.token()}
        base = admin.identity

        def call(method: str, path: str, body: dict | None = None) -> dict:
            r = requests.request(method, f"{base}{path}", json=body, headers=headers,
                                 timeout=30)
            assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text[:300]}"
            return r.json() if r.content else {}

        project = call("POST", "/projects", {"project": {
            "name": unique("fuzz"), "domain_id": "default"}})["project"]
        user = call("POST", "/users", {"user": {
            "name": unique("fuzz-member"), "domain_id": "default",
            "password": caller.password}})["user"]
        roles = {r["name"]: r["id"] for r in call("GET", "/roles")["roles"]}
        call("PUT", f"/projects/{project['id']}/users/{user['id']}/roles/{roles['member']}")
        caller.username, caller.project = user["name"], project["name"]
    return restore


@pytest.fixture(scope="module")
def callers(fuzz_server) -> dict[str, Caller]:
    admin = Caller(fuzz_server, "admin", "admin", ADMIN_PASSWORD, "admin", _restore_admin)
    member = Caller(fuzz_server, "member", "", "fuzz-member-password", "", _new_member(admin))
    member.restore(member)
    return {"admin": admin, "member": member}


def _report(found: list[str]) -> str:
    return f"{len(found)} answers of 500 or more:\n" + "\n".join(found[:20])


def _fuzz(operation, mode: str, base_url: str, personas: dict[str, dict[str, str]],
          session: requests.Session) -> list[str]:
    """EXAMPLES cases of ``operation`` in ``mode``, each sent as every persona (the
    cases are the costly part, so they are made once); the answers of 500 or more."""
    found: list[str] = []
    generation = GenerationMode.NEGATIVE if mode == "negative" else GenerationMode.POSITIVE

    @given(case=operation.as_strategy(generation), data=st.data())
    @fuzz_settings(EXAMPLES)
    def run(case, data):
        if mode == "edge":
            put_edge_values(case, data)
        for persona, headers in personas.items():
            response = case.call(base_url=base_url, headers=headers, session=session,
                                 timeout=60)
            if response.status_code >= 500:
                curl = case.as_curl_command(headers={"X-Auth-Token": "$TOKEN"},
                                            base_url=base_url)
                found.append(f"{response.status_code} {mode} as {persona} "
                             f"{operation.label}: {curl[:500]} -> {response.text[:200]}")

    try:
        run()
    except Unsatisfiable:  # no data breaks this schema after all
        assert mode == "negative"
    return found


@pytest.mark.parametrize("spec_name", sorted(MOUNTS))
def test_no_operation_answers_500(spec_name, fuzz_server, callers):
    """One test per spec, looping over the operations (schemathesis' own
    parametrisation does not survive pytest-xdist's collection); every generated
    case goes to the server as each persona."""
    schema = schemathesis.openapi.from_path(str(OPENAPI / spec_name))
    operations = [result.ok() for result in schema.get_all_operations()]
    base_url = f"{fuzz_server.url}{MOUNTS[spec_name]}"
    offset = len(fuzz_server.log_text())
    found: list[str] = []
    with requests.Session() as session:
        for operation in operations:
            personas = {name: {"X-Auth-Token": callers[name].token()} for name in PERSONAS}
            for mode in MODES:
                if mode != "negative" or can_be_negative(operation):
                    found += _fuzz(operation, mode, base_url, personas, session)
    assert found == [], _report(found)
    assert fuzz_server.errors_since(offset) == []


def _answers_ec2_xml(response: requests.Response) -> None:
    root = ElementTree.fromstring(response.content)
    assert root.tag.endswith("Response"), response.text[:300]


@pytest.mark.parametrize("persona", PERSONAS)
def test_no_ec2_query_answers_500(persona, fuzz_server, callers):
    """Every action the edge serves, with parameters of its model (list indexes
    such as ``¹``, ``٥`` and ``01`` among them) and of no model, values of
    every kind; signed in the Authorization header and presigned."""
    model = service_model()
    keys = callers[persona].ec2_keys()
    endpoint = f"{fuzz_server.url}/ec2/"
    offset = len(fuzz_server.log_text())
    found: list[str] = []
    with requests.Session() as session:
        for action in implemented_actions(model):
            names = parameter_names(model.operation_model(action).input_shape)

            @given(params=query_parameters(action, names),
                   how=st.sampled_from(["header", "header", "header", "presigned"]))
            @fuzz_settings(EC2_EXAMPLES)
            def run(params, how):
                response = send_query(endpoint, params, keys, how, session)
                _answers_ec2_xml(response)
                if response.status_code >= 500:
                    found.append(f"{response.status_code} {how} {params!r:.500} -> "
                                 f"{response.text[:200]}")

            run()
    assert found == [], _report(found)
    assert fuzz_server.errors_since(offset) == []


def test_no_unsigned_ec2_request_answers_500(fuzz_server):
    """Authentication parameters, SigV4 presigned and SigV2, well formed but for
    one or two, with no credential behind them: the signature layer answers
    each with an EC2 error (X-Amz-Expires=¹ was a 500 for anyone)."""
    endpoint = f"{fuzz_server.url}/ec2/"
    offset = len(fuzz_server.log_text())
    found: list[str] = []
    with requests.Session() as session:
        def check(params: list[tuple[str, str]]) -> None:
            response = send_query(endpoint, [("Action", "DescribeRegions"), *params], None,
                                  "none", session)
            _answers_ec2_xml(response)
            if response.status_code >= 500:
                found.append(f"{response.status_code} {params!r:.500} -> {response.text[:200]}")

        for params in one_field_changes():
            check(params)
        given(params=authentication_parameters())(fuzz_settings(AUTH_EXAMPLES)(check))()
    assert found == [], _report(found)
    assert fuzz_server.errors_since(offset) == []
