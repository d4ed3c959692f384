"""What clients saw while something was killed: each request's (start, duration,
ok), and the two figures the failure tests print — the downtime (from the start
of the first failed request to the end of the last one; 0 if none failed) and the
time back to normal latency (from the event until the rolling p50 over ``WINDOW``
requests is within ``FACTOR`` × the p50 measured before the event).

``Probe`` is a cheap background load (a few GET threads through nginx) for the
tests whose own requests are too few to measure anything.
"""

from __future__ import annotations

import contextlib
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

WINDOW = 50
FACTOR = 1.5


@dataclass
class Timeline:
    records: list[tuple[float, float, bool]] = field(default_factory=list)
    event_at: float | None = None  # time.monotonic() of the kill
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, start: float, duration: float, ok: bool) -> None:
        with self._lock:
            self.records.append((start, duration, ok))

    def mark(self) -> None:
        self.event_at = time.monotonic()

    @contextlib.contextmanager
    def timed(self) -> Iterator[dict]:
        """Time the block; it is ok unless it raises or sets ``outcome["ok"] = False``."""
        outcome = {"ok": True}
        start = time.monotonic()
        try:
            yield outcome
        except Exception:
            outcome["ok"] = False
            raise
        finally:
            self.add(start, time.monotonic() - start, outcome["ok"])

    @property
    def failed(self) -> int:
        return sum(1 for *_, ok in self.records if not ok)

    def downtime(self) -> float:
        bad = [(s, s + d) for s, d, ok in self.records if not ok]
        if not bad:
            return 0.0
        return max(end for _, end in bad) - min(start for start, _ in bad)

    def baseline_p50(self) -> float | None:
        assert self.event_at is not None
        before = [d for s, d, ok in self.records if ok and s < self.event_at]
        return statistics.median(before) if before else None

    def back_to_normal(self) -> float | None:
        """Seconds after the event until the rolling p50 (over WINDOW requests that
        started after it) is first within FACTOR × the p50 before it: the end of
        that window's last request, 0 if the first window already was; None if no
        window was."""
        base = self.baseline_p50()
        if base is None:
            return None
        assert self.event_at is not None
        rows = sorted(r for r in self.records if r[0] >= self.event_at)
        for i in range(WINDOW, len(rows) + 1):
            window = rows[i - WINDOW:i]
            if statistics.median(d for _, d, _ in window) <= FACTOR * base:
                if i == WINDOW:
                    return 0.0
                return max(s + d for s, d, _ in window) - self.event_at
        return None

    def figures(self) -> str:
        back = self.back_to_normal()
        base = self.baseline_p50()
        return (f"{len(self.records)} requests, {self.failed} failed; downtime "
                f"{self.downtime():.2f} s; back to normal latency "
                f"{'not within the run' if back is None else f'{back:.2f} s'} "
                f"(p50 before {1000 * base if base else 0:.0f} ms, rolling p50 over "
                f"{WINDOW} within {FACTOR}×)")


class Probe:
    """``threads`` threads calling ``request()`` in a loop (a failed call: an
    exception or a False answer) until stopped, into ``timeline``."""

    def __init__(self, request: Callable[[], bool], threads: int = 2,
                 pause: float = 0.02) -> None:
        self.request, self.pause = request, pause
        self.timeline = Timeline()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True)
                         for _ in range(threads)]

    def _run(self) -> None:
        while not self._stop.is_set():
            start = time.monotonic()
            try:
                ok = bool(self.request())
            except Exception:
                ok = False
            self.timeline.add(start, time.monotonic() - start, ok)
            time.sleep(self.pause)

    def __enter__(self) -> Probe:
        for t in self._threads:
            t.start()
        return self

    def settle(self, seconds: float = 2.0, requests: int = WINDOW) -> None:
        """Wait for a baseline: ``seconds`` and at least ``requests`` answers."""
        deadline = time.monotonic() + 30
        time.sleep(seconds)
        while len(self.timeline.records) < requests and time.monotonic() < deadline:
            time.sleep(0.1)

    def mark(self) -> None:
        self.timeline.mark()

    def run_on(self, seconds: float = 3.0, requests: int = 2 * WINDOW) -> None:
        """Keep probing ``seconds`` more, and until ``requests`` after the event."""
        deadline = time.monotonic() + 60
        time.sleep(seconds)
        assert self.timeline.event_at is not None
        while (sum(1 for s, *_ in self.timeline.records if s >= self.timeline.event_at)
               < requests and time.monotonic() < deadline):
            time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)
