"""gateway/metrics.py with the edge middleware: requests counted per API and
operation (the operationId connexion routed to, or the EC2 Action), never by
raw path; status classes; latency; requests in progress; GET /metrics."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.parser import text_string_to_metric_families

from core.apis import SERVED_APIS
from gateway.asgi import PathRoutes
from gateway.metrics import ApiMetrics, MetricsEndpoint
from gateway.middleware import EdgeMiddleware, request_record

OPERATIONS = {"/compute/v2.1/servers/": "servers.show", "/image/v2/images": "images.list"}


async def api(scope, receive, send):
    """Stands in for connexion: routes by path prefix, as its router would."""
    path = scope["path"]
    operation = next((op for prefix, op in OPERATIONS.items() if path.startswith(prefix)),
                     None)
    scope["extensions"]["connexion_routing"] = {"operation_id": operation}
    if path.startswith("/ec2"):
        request_record.get()["operation"] = "DescribeInstances"
    status = 404 if operation is None and not path.startswith("/ec2") else (
        503 if path.endswith("/down") else 200)
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def app_and_metrics() -> tuple[EdgeMiddleware, ApiMetrics, CollectorRegistry]:
    core = CollectorRegistry()
    Counter("nimbus_core_thing", "A core service's counter.", registry=core).inc()
    metrics = ApiMetrics()
    routed = PathRoutes(api, {"/metrics": MetricsEndpoint(core, metrics.registry)})
    return (EdgeMiddleware(routed, tuple(a.mount_path for a in SERVED_APIS), metrics),
            metrics, core)


def get_all(app, *paths: str) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://node") as client:
            return [await client.get(p) for p in paths]

    return asyncio.run(go())


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_requests_by_api_operation_and_status_class():
    app, _, _ = app_and_metrics()
    *_, exposed = get_all(app, "/compute/v2.1/servers/1a2b", "/compute/v2.1/servers/3c4d",
                          "/compute/v2.1/servers/3c4d/down", "/image/v2/images",
                          "/compute/v2.1/nothing-here", "/ec2", "/healthcheck-not-an-api",
                          "/metrics")
    assert exposed.status_code == 200
    assert exposed.headers["content-type"].startswith("text/plain; version=")
    got = samples(exposed.text)
    total = "nimbus_api_requests_total"
    assert got[(total, (("api", "compute"), ("operation", "servers.show"),
                        ("status_class", "2xx")))] == 2
    assert got[(total, (("api", "compute"), ("operation", "servers.show"),
                        ("status_class", "5xx")))] == 1
    assert got[(total, (("api", "image"), ("operation", "images.list"),
                        ("status_class", "2xx")))] == 1
    assert got[(total, (("api", "compute"), ("operation", "unrouted"),
                        ("status_class", "4xx")))] == 1
    assert got[(total, (("api", "ec2"), ("operation", "DescribeInstances"),
                        ("status_class", "2xx")))] == 1
    # No raw path (no id) in any label; /metrics itself is not an API request.
    assert "1a2b" not in exposed.text and "3c4d" not in exposed.text
    assert sum(v for (name, _), v in got.items() if name == total) == 6
    assert got[("nimbus_api_request_duration_seconds_count",
                (("api", "compute"), ("operation", "servers.show")))] == 3
    assert got[("nimbus_api_requests_in_progress", (("api", "compute"),))] == 0
    # The core services' registry is in the same answer.
    assert got[("nimbus_core_thing_total", ())] == 1


def test_in_progress_counts_a_request_until_its_answer_is_sent():
    metrics = ApiMetrics()
    seen: list[float] = []

    async def slow(scope, receive, send):
        seen.append(metrics.in_progress.labels("image")._value.get())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    get_all(EdgeMiddleware(slow, ("/image",), metrics), "/image/v2/images")
    assert seen == [1]
    assert metrics.in_progress.labels("image")._value.get() == 0


def test_head_and_post_on_metrics():
    app, _, _ = app_and_metrics()

    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://node") as client:
            return await client.head("/metrics"), await client.post("/metrics")

    head, post = asyncio.run(go())
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) > 0
    assert post.status_code == 405
