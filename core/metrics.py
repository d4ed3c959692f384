"""The Prometheus instruments of the core processes (prometheus_client).

One :class:`Metrics` per process, built with the core services and passed
down: the message bus times its calls, the scheduler its decisions, the
conductor counts finished builds. Its registry is the process's own (no
module-level default registry: tests build many processes' worth in one).

Where the numbers are read:

- an API node serves them on ``GET /metrics`` (gateway/metrics.py), with the
  API's own request metrics; in the all-in-one (``make run``) the conductor
  and scheduler run inside it, so builds and scheduling are there too;
- conductor, scheduler and agent processes serve them on
  ``http://METRICS_HOST:METRICS_PORT/metrics`` when ``NIMBUS_METRICS_PORT`` is
  set (:func:`serve_metrics`), so each process is a target of its own, as the
  builds and decisions happen there and not on the API node.

Labels take values from code (topics, method names, outcomes), never from
requests.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger(__name__)

BUILD_OUTCOMES = ("ACTIVE", "ERROR")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """The instruments of one process, in ``registry``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.rpc_calls = Histogram(
            "nimbus_rpc_call_duration_seconds",
            "Message-bus calls from request to reply, by topic, method and outcome "
            "(ok, remote_error, timeout, error).",
            ["topic", "method", "outcome"], registry=self.registry)
        self.builds = Counter(
            "nimbus_instance_builds", "Instance builds finished, by outcome (ACTIVE or ERROR).",
            ["outcome"], registry=self.registry)
        self.scheduling = Histogram(
            "nimbus_scheduling_duration_seconds",
            "Time the scheduler took to choose and claim hosts for one request, by outcome "
            "(selected, no_valid_host, error).",
            ["outcome"], registry=self.registry)
        for outcome in BUILD_OUTCOMES:  # both series exist from the start, at 0
            self.builds.labels(outcome)

    def call_finished(self, topic: str, method: str, seconds: float, outcome: str) -> None:
        self.rpc_calls.labels(topic, method, outcome).observe(seconds)

    def build_finished(self, outcome: str) -> None:
        """A build ended ``ACTIVE`` or ``ERROR``."""
        self.builds.labels(outcome).inc()

    def scheduled(self, seconds: float, outcome: str) -> None:
        self.scheduling.labels(outcome).observe(seconds)


def multiprocess_mode() -> bool:
    """Whether this process writes its samples to files that ``/metrics`` adds up
    (gunicorn.conf.py sets the directory for the workers of an API node)."""
    return bool(os.environ.get(MULTIPROC_ENV))


def exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The text format of ``registry``; in multiprocess mode, of every process
    that wrote to the directory (live or dead, so counters never go back)."""
    if multiprocess_mode():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def serve_metrics(metrics: Metrics, host: str, port: int) -> Callable[[], None] | None:
    """Serve ``metrics`` on ``http://host:port/metrics`` in a thread (0: off);
    returns what stops it."""
    if not port:
        return None
    server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    log.info("metrics on http://%s:%d/metrics", host, port)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
