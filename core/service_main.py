"""Running a control-plane process until SIGTERM / SIGINT (the ``python -m
core.conductor``, ``core.scheduler`` and ``core.agent`` entry points).

On the signal the process stops taking messages, finishes those in hand (up
to ``NIMBUS_SHUTDOWN_TIMEOUT`` seconds; an unfinished one is never
acknowledged, so the broker hands it to another worker) and exits 0.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


def run_until_signalled(stop: Callable[[], None], name: str = "service") -> None:
    """Block until SIGTERM or SIGINT, then call ``stop`` (in this, the main, thread)."""
    done = threading.Event()
    received: list[str] = []

    def handler(signum, frame):  # noqa: ARG001
        received.append(signal.Signals(signum).name)
        done.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    while not done.wait(1.0):
        pass
    log.info("%s: %s received, stopping", name, received[0])
    stop()
    log.info("%s stopped", name)
