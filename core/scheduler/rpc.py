"""The scheduler's RPC endpoints on topic ``scheduler``.

Results and errors cross the bus as JSON: selections as dicts, and NoValidHost
as a ``RemoteError`` whose ``exc_type`` is ``"NoValidHost"`` (the bus sends the
exception's class name).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from core.metrics import Metrics
from core.scheduler.manager import NoValidHost, Scheduler
from core.scheduler.request_spec import RequestSpec

log = logging.getLogger(__name__)

TOPIC = "scheduler"


class CallCounts:
    """Calls served, and how many of them found no valid host (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = {"calls": 0, "no_valid_host": 0}

    def add(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


class SchedulerEndpoints:
    """What ``Bus.serve`` dispatches to: ``select_destinations(spec=...)``.

    ``counts`` is an attribute, not a method, so the bus never dispatches to it.
    """

    def __init__(self, scheduler: Scheduler, metrics: Metrics | None = None) -> None:
        self._scheduler = scheduler
        self._metrics = metrics or Metrics()
        self.counts = CallCounts()

    def select_destinations(self, spec: dict[str, Any]) -> list[list[dict[str, Any]]]:
        """Per instance of ``spec`` (a RequestSpec dict), ``[chosen, *alternates]`` as
        Selection dicts, the chosen host claimed. Raises NoValidHost."""
        self.counts.add("calls")
        start = time.perf_counter()
        outcome = "error"
        try:
            selections = self._scheduler.select_destinations(RequestSpec.from_dict(spec))
            outcome = "selected"
        except NoValidHost:
            outcome = "no_valid_host"
            self.counts.add("no_valid_host")
            raise
        finally:
            self._metrics.scheduled(time.perf_counter() - start, outcome)
        return [[s.to_dict() for s in hosts] for hosts in selections]
