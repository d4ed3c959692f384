"""Running a control-plane process until SIGTERM / SIGINT (shared by the
``python -m core.conductor`` and ``python -m core.agent`` entry points)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable


def run_until_signalled(stop: Callable[[], None]) -> None:
    done = threading.Event()

    def handler(signum, frame):  # noqa: ARG001
        done.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    while not done.wait(1.0):
        pass
    stop()
