"""The operator's endpoints of a live API node (gunicorn, Prometheus in
multiprocess mode): /healthcheck without authentication, and /metrics
counting what openstacksdk and boto3 did, per API and operation."""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.ec2 import bootstrap_keys, client


def samples(server) -> dict[tuple[str, frozenset], float]:
    r = requests.get(f"{server.url}/metrics", timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def requests_of(got: dict, api: str, operation: str, status_class: str = "2xx") -> float:
    return got.get(("nimbus_api_requests_total", frozenset(
        {"api": api, "operation": operation, "status_class": status_class}.items())), 0.0)


def test_healthcheck_needs_no_token(server):
    r = requests.get(f"{server.url}/healthcheck", timeout=5)
    assert (r.status_code, r.text) == (200, "OK")
    assert r.headers["x-openstack-request-id"].startswith("req-")
    r = requests.get(f"{server.url}/healthcheck", headers={"Accept": "application/json"},
                     timeout=5)
    assert r.json() == {"detailed": False, "reasons": ["OK"]}
    assert requests.head(f"{server.url}/healthcheck", timeout=5).status_code == 204


def test_metrics_count_the_real_clients_calls(server, admin_client):
    before = samples(server)
    list(admin_client.compute.flavors())
    admin_client.compute.find_flavor("no-such-flavor", ignore_missing=True)
    ec2 = client(f"{server.url}/ec2/", bootstrap_keys(server))
    ec2.describe_regions()
    ec2.describe_regions()
    after = samples(server)

    def grew(api: str, operation: str, status_class: str = "2xx") -> float:
        return (requests_of(after, api, operation, status_class)
                - requests_of(before, api, operation, status_class))

    assert grew("compute", "flavors.detail") >= 1
    assert grew("ec2", "DescribeRegions") == 2
    assert grew("compute", "flavors.show", "4xx") >= 1  # find_flavor tries the id first
    labels = {dict(k)["operation"] for name, k in after if name == "nimbus_api_requests_total"}
    assert not any("/" in op for op in labels)  # operations, never paths
    assert ("nimbus_api_request_duration_seconds_count", frozenset(
        {"api": "ec2", "operation": "DescribeRegions"}.items())) in after
    # The core's instruments are in the same answer.
    assert any(name == "nimbus_instance_builds_total" for name, _ in after)
