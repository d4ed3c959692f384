"""The API node's request metrics and its ``GET /metrics``.

Per API (``identity``, ``compute``, ``image``, ``ec2``) and operation — the
OpenAPI operationId connexion routed the request to, or the EC2 ``Action`` —
never a raw path (ids would make a series per object): requests by status
class, their latency, and those in progress. ``/metrics`` shows them with the
core services' (``core.metrics``): the bus calls and, in the all-in-one, the
builds and scheduling. Under gunicorn every worker writes
its samples to ``PROMETHEUS_MULTIPROC_DIR`` (gunicorn.conf.py) and the worker
answering ``/metrics`` adds up all of them.

``/metrics`` is for the operator's scraper, not for API clients: nginx answers
404 for it (nginx/nginx.conf.template) and Prometheus scrapes each node
directly, as it must anyway to see every node.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from core.apis import SERVED_APIS
from core.metrics import exposition
from gateway.asgi import NO_STORE, method_not_allowed, send_response

UNROUTED = "unrouted"  # a path no operation of the API's spec matches
ROUTING_CONTEXT = "connexion_routing"  # where connexion puts the operationId it routed to


class ApiMetrics:
    """Requests, latency and requests in progress of the APIs served here."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry = registry if registry is not None else CollectorRegistry()
        self.mounts = [(api.mount_path.rstrip("/"), api.type) for api in SERVED_APIS]
        self.requests = Counter(
            "nimbus_api_requests", "API requests answered, by API, operation (the "
            "OpenAPI operationId or the EC2 Action) and status class (2xx, 4xx, 5xx, ...).",
            ["api", "operation", "status_class"], registry=registry)
        self.latency = Histogram(
            "nimbus_api_request_duration_seconds", "Time from a request's arrival to the end "
            "of its answer, by API and operation.", ["api", "operation"], registry=registry)
        self.in_progress = Gauge(
            "nimbus_api_requests_in_progress", "API requests being answered, by API.",
            ["api"], registry=registry, multiprocess_mode="livesum")

    def api_of(self, path: str) -> str | None:
        """The API a path belongs to; None for anything else (/healthcheck, /metrics)."""
        for mount, api in self.mounts:
            if path == mount or path.startswith(mount + "/"):
                return api
        return None

    def started(self, api: str) -> None:
        self.in_progress.labels(api).inc()

    def finished(self, api: str, operation: str | None, status: int, seconds: float) -> None:
        operation = operation or UNROUTED
        status_class = f"{status // 100}xx" if status else "none"  # none: client went away
        self.requests.labels(api, operation, status_class).inc()
        self.latency.labels(api, operation).observe(seconds)
        self.in_progress.labels(api).dec()


def routed_operation(scope: Scope) -> str | None:
    """The operationId connexion routed the request to, if any."""
    routing = (scope.get("extensions") or {}).get(ROUTING_CONTEXT) or {}
    return routing.get("operation_id")


class MetricsEndpoint:
    """``GET /metrics``: the Prometheus text format of ``registries`` (in
    multiprocess mode, of every worker of the node)."""

    def __init__(self, *registries: CollectorRegistry) -> None:
        # A registry is a collector too; unchecked for duplicate names, as
        # each one checked its own.
        self.registry = CollectorRegistry(auto_describe=False)
        for registry in registries:
            self.registry.register(registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await method_not_allowed(send)
            return
        # Reading every worker's files is blocking work.
        body, content_type = await run_in_threadpool(exposition, self.registry)
        await send_response(send, 200, b"" if scope["method"] == "HEAD" else body,
                            content_type, [NO_STORE], length=len(body))

