"""The spec is the contract: every operationId resolves to a handler, every
operation names a registered policy rule, and generated requests (schemathesis)
never get a 5xx or a response that does not match the spec."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from keystoneauth1 import session as ksa_session_mod
from keystoneauth1.identity import v3
from schemathesis import checks as st_checks

from core.policy.defaults import all_defaults
from gateway.openstack.identity import HANDLERS
from gateway.openstack.resolver import HandlerResolver
from tests.support.server import make_server

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "identity-v3.yaml"
METHODS = ("get", "put", "post", "delete", "patch", "head")


def _operations():
    spec = yaml.safe_load(SPEC.read_text())
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_every_operation_id_resolves_to_a_handler_method():
    resolver = HandlerResolver({name: cls.__new__(cls) for name, cls in HANDLERS.items()})
    ids = [op["operationId"] for _, _, op in _operations()]
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    for op_id in ids:
        assert callable(resolver.lookup(op_id)), op_id


def test_every_operation_names_a_registered_policy_rule():
    rules = {r.name for r in all_defaults()}
    for path, method, op in _operations():
        assert op.get("x-policy") in rules, f"{method.upper()} {path}"


def test_head_is_listed_before_get():
    """Starlette lets a GET route answer HEAD and connexion adds routes in spec
    order: a HEAD listed after GET would run the GET operation and its rule."""
    spec = yaml.safe_load(SPEC.read_text())
    for path, item in spec["paths"].items():
        methods = [m for m in item if m in METHODS]
        if "head" in methods and "get" in methods:
            assert methods.index("head") < methods.index("get"), path


def test_unknown_operation_id_does_not_resolve():
    with pytest.raises(ImportError):
        HandlerResolver({}).lookup("projects.nope")


@pytest.fixture(scope="module")
def contract_server(tmp_path_factory):
    """A server of its own: generated requests may change state."""
    srv = make_server(tmp_path_factory.mktemp("contract"))
    srv.bootstrap()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def admin_token(contract_server):
    plugin = v3.Password(auth_url=contract_server.auth_url, username="admin",
                         password=contract_server.password("admin"), user_domain_id="default",
                         project_name="admin", project_domain_id="default")
    return ksa_session_mod.Session(auth=plugin).get_token()


def test_generated_requests_follow_the_contract(contract_server, admin_token):
    """A few generated requests per operation (schemathesis, fuzzing phase):
    no 5xx, documented status codes, bodies and headers as the spec says.

    One test looping over the operations rather than schemathesis' pytest
    parametrisation, which does not survive pytest-xdist's collection."""
    schema = schemathesis.openapi.from_path(str(SPEC))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(list(_operations()))
    base_url = f"{contract_server.url}/identity"
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=4, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            # Business rules (a loop of implied roles, a non-empty domain)
            # answer 400 to schema-valid data; every other check applies.
            case.call_and_validate(base_url=base_url, headers={"X-Auth-Token": admin_token},
                                   excluded_checks=[st_checks.positive_data_acceptance])

        run()
    assert "Traceback" not in contract_server.log_text()
