"""Stopping servers (core/messaging/server.py, stop_consumers) on every
transport: the message in hand is finished and acknowledged; nothing more is
taken after the stop (a message the broker pushes meanwhile goes back); one
that takes longer than the timeout is left unacknowledged."""

from __future__ import annotations

import threading
import time

from core.messaging.server import stop_consumers

WAIT = 10.0


class Jobs:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started: list[str] = []
        self.done: list[str] = []
        self.in_hand = threading.Event()

    def work(self, job: str) -> None:
        self.started.append(job)
        self.in_hand.set()
        time.sleep(self.seconds)
        self.done.append(job)


def wait_until(predicate, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_stop_finishes_the_message_in_hand_and_leaves_the_rest_queued(bus):
    slow = Jobs(0.5)
    first = bus.serve("jobs", "w-1", slow)
    first.start()
    bus.cast("jobs", "work", {"job": "a"})
    assert slow.in_hand.wait(WAIT)
    bus.cast("jobs", "work", {"job": "b"})
    time.sleep(0.1)  # "b" reaches the broker while "a" is in hand
    assert stop_consumers([first], timeout=WAIT) is True
    assert (slow.started, slow.done) == (["a"], ["a"])
    fast = Jobs(0)
    second = bus.serve("jobs", "w-2", fast)
    second.start()
    try:
        wait_until(lambda: fast.done == ["b"])
    finally:
        second.stop()


def test_stop_gives_up_after_the_timeout(bus):
    slow = Jobs(2.0)
    server = bus.serve("jobs", "w-1", slow)
    server.start()
    bus.cast("jobs", "work", {"job": "c"})
    assert slow.in_hand.wait(WAIT)
    started = time.monotonic()
    assert stop_consumers([server], timeout=0.2) is False
    assert time.monotonic() - started < 1.5
    assert slow.done == []
    wait_until(lambda: slow.done == ["c"])  # the thread is not killed in this process
