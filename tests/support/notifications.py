"""Every info notification on a bus, collected by a listener in the test process."""

from __future__ import annotations

import threading
import time

from core.messaging import Bus


class Notifications:
    """Every info notification on the bus, collected by a listener in this process."""

    def __init__(self, url: str) -> None:
        self.bus = Bus(url)
        self.events: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        self.listener = self.bus.listen_notifications(self._on)

    def _on(self, event_type: str, payload: dict) -> None:
        with self.lock:
            self.events.append((event_type, payload))

    def of(self, event_type: str) -> list[dict]:
        with self.lock:
            return [p for e, p in self.events if e == event_type]

    def wait_count(self, event_type: str, ids: set[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ids <= {p["instance_id"] for p in self.of(event_type)}:
                return
            time.sleep(0.1)
        seen = {p["instance_id"] for p in self.of(event_type)}
        raise AssertionError(f"{len(ids - seen)} of {len(ids)} instances had no {event_type}")

    def close(self) -> None:
        self.listener.stop()
        self.bus.close()
