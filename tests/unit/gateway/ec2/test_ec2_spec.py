"""openapi/ec2.yaml: a valid spec whose operations resolve to the Query
endpoint; the actions themselves are botocore's model (see the other tests)."""

from __future__ import annotations

from pathlib import Path

import connexion
import yaml

from gateway.ec2.endpoint import Query
from gateway.openstack.resolver import HandlerResolver

SPEC = Path(__file__).resolve().parents[4] / "openapi" / "ec2.yaml"


def test_every_operation_resolves_to_the_query_endpoint():
    spec = yaml.safe_load(SPEC.read_text())
    resolver = HandlerResolver({"query": Query.__new__(Query)})
    methods = {m: op for m, op in spec["paths"]["/"].items()}
    assert set(methods) == {"get", "post"}
    for op in methods.values():
        assert callable(resolver.lookup(op["operationId"]))
    body = methods["post"]["requestBody"]["content"]
    assert list(body) == ["application/x-www-form-urlencoded"]


def test_connexion_accepts_the_spec():
    app = connexion.AsyncApp(__name__)
    app.add_api(str(SPEC), base_path="/ec2",
                resolver=HandlerResolver({"query": Query.__new__(Query)}))
