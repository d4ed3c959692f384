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
from gateway.openstack.compute import HANDLERS as COMPUTE_HANDLERS
from gateway.openstack.identity import HANDLERS as IDENTITY_HANDLERS
from gateway.openstack.image.handlers import HANDLERS as IMAGE_HANDLERS
from gateway.openstack.network import HANDLERS as NETWORK_HANDLERS
from gateway.openstack.resolver import HandlerResolver
from gateway.openstack.volume import HANDLERS as VOLUME_HANDLERS
from tests.support.server import make_server

OPENAPI = Path(__file__).resolve().parents[2] / "openapi"
# spec file -> (mount path, handler classes by operationId prefix)
SPECS = {"identity-v3.yaml": ("/identity", IDENTITY_HANDLERS),
         "image-v2.yaml": ("/image", IMAGE_HANDLERS),
         "compute-v2.1.yaml": ("/compute", COMPUTE_HANDLERS),
         "network-v2.0.yaml": ("/networking", NETWORK_HANDLERS),
         "volume-v3.yaml": ("/volume", VOLUME_HANDLERS)}
METHODS = ("get", "put", "post", "delete", "patch", "head")
each_spec = pytest.mark.parametrize("spec_name", sorted(SPECS))
# Glance's JSON-patch media types are JSON.
for _media in ("application/openstack-images-v2.1-json-patch",
               "application/openstack-images-v2.0-json-patch"):
    schemathesis.serializer.alias(_media, "application/json")


def _operations(spec_name: str):
    spec = yaml.safe_load((OPENAPI / spec_name).read_text())
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


@each_spec
def test_every_operation_id_resolves_to_a_handler_method(spec_name):
    handlers = SPECS[spec_name][1]
    resolver = HandlerResolver({name: cls.__new__(cls) for name, cls in handlers.items()})
    ids = [op["operationId"] for _, _, op in _operations(spec_name)]
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    for op_id in ids:
        assert callable(resolver.lookup(op_id)), op_id


@each_spec
def test_every_operation_names_a_registered_policy_rule(spec_name):
    rules = {r.name for r in all_defaults()}
    for path, method, op in _operations(spec_name):
        assert op.get("x-policy") in rules, f"{method.upper()} {path}"


@each_spec
def test_head_is_listed_before_get(spec_name):
    """Starlette lets a GET route answer HEAD and connexion adds routes in spec
    order: a HEAD listed after GET would run the GET operation and its rule."""
    spec = yaml.safe_load((OPENAPI / spec_name).read_text())
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


@each_spec
def test_generated_requests_follow_the_contract(spec_name, contract_server, admin_token):
    """A few generated requests per operation (schemathesis, fuzzing phase):
    no 5xx, documented status codes, bodies and headers as the spec says.

    One test looping over the operations rather than schemathesis' pytest
    parametrisation, which does not survive pytest-xdist's collection."""
    schema = schemathesis.openapi.from_path(str(OPENAPI / spec_name))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(list(_operations(spec_name)))
    base_url = f"{contract_server.url}{SPECS[spec_name][0]}"
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
