"""Replies to calls (core/messaging/replies.py): one reply queue per bus per
process, one listener thread handing each reply to its call."""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.messaging import Bus, MessagingTimeout
from tests.conftest import unique

WAIT = 10.0
SLOW = 90.0  # rabbitmqctl starts an Erlang VM per command: seconds on a loaded machine


class Endpoints:
    def __init__(self) -> None:
        self.in_hand = threading.Event()
        self.release = threading.Event()

    def echo(self, value: str) -> str:
        return value

    def held(self, value: str) -> str:
        """Answers only once the test releases it."""
        self.in_hand.set()
        assert self.release.wait(SLOW)
        return value


def wait_until(predicate, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_concurrent_calls_each_get_their_own_reply(bus, serving):
    serving("compute", "node-1", Endpoints())
    serving("compute", "node-2", Endpoints())  # two servers: replies come back out of order

    def calls(thread: int) -> list[str]:
        return [bus.call("compute", "echo", {"value": f"{thread}-{n}"}, timeout=WAIT)
                for n in range(3)]

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(calls, range(6)))
    assert results == [[f"{t}-{n}" for n in range(3)] for t in range(6)]
    # All of them through the one reply queue of this bus.
    assert bus._replies.get().connections == 1


def test_a_reply_after_its_call_timed_out_is_dropped(bus, serving, caplog):
    endpoints = Endpoints()
    serving("compute", "node-1", endpoints)
    caplog.set_level(logging.DEBUG, logger="core.messaging.replies")
    with pytest.raises(MessagingTimeout):
        bus.call("compute", "held", {"value": "late"}, timeout=1.0)
    assert endpoints.in_hand.wait(WAIT)
    endpoints.release.set()  # the late reply goes out now, ahead of the next call's
    assert bus.call("compute", "echo", {"value": "next"}, timeout=WAIT) == "next"
    assert any("dropped: that call is over" in r.getMessage() for r in caplog.records)


def test_a_forked_child_gets_its_own_reply_queue(monkeypatch):
    """The pid check: after a fork (gunicorn forking after the app was built) the
    bus starts a new listener and publisher instead of using the parent's."""
    bus = Bus("memory://", namespace=unique("fork"))
    server = bus.serve("compute", "node-1", Endpoints())
    server.start()
    try:
        assert bus.call("compute", "echo", {"value": "parent"}, timeout=WAIT) == "parent"
        parent_listener, parent_publisher = bus._replies.get(), bus.publisher
        monkeypatch.setattr(os, "getpid", lambda: -1)  # as a forked child sees it
        assert bus.call("compute", "echo", {"value": "child"}, timeout=WAIT) == "child"
        child_listener = bus._replies.get()
        assert child_listener is not parent_listener
        assert child_listener.queue.name != parent_listener.queue.name
        assert bus.publisher is not parent_publisher
        bus.close()
    finally:
        monkeypatch.undo()
        server.stop()
        parent_listener.close(lambda body, queue: parent_publisher.publish(body, queue,
                                                                           declare=[]))
        parent_publisher.close()


def test_calls_from_a_real_forked_child_and_its_parent(rabbitmq_url):
    """On RabbitMQ a child that used its parent's sockets would interleave frames
    on one connection: both go on calling after a fork."""
    bus = Bus(rabbitmq_url, namespace=unique("fork"))
    server = bus.serve("compute", "node-1", Endpoints())
    server.start()
    try:
        assert bus.call("compute", "echo", {"value": "before"}, timeout=WAIT) == "before"
        parent_queue = bus._replies.get().queue.name
        pid = os.fork()
        if pid == 0:  # the child: report through the exit status, skip pytest's cleanup
            code = 1
            try:
                ok = all(bus.call("compute", "echo", {"value": str(n)}, timeout=WAIT) == str(n)
                         for n in range(3))
                code = 0 if ok and bus._replies.get().queue.name != parent_queue else 2
                bus.close()
            finally:
                os._exit(code)
        for n in range(3):
            assert bus.call("compute", "echo", {"value": f"p{n}"}, timeout=WAIT) == f"p{n}"
        deadline = time.monotonic() + 2 * WAIT
        while (waited := os.waitpid(pid, os.WNOHANG))[0] == 0:
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                raise AssertionError("the forked child hung")
            time.sleep(0.02)
        assert os.waitstatus_to_exitcode(waited[1]) == 0
        assert bus.call("compute", "echo", {"value": "after"}, timeout=WAIT) == "after"
    finally:
        server.stop()
        bus.close()


def close_broker_connection(name_part: str) -> None:
    """The broker closes (CONNECTION_FORCED) the connection whose name has ``name_part``."""
    listed = subprocess.run(["rabbitmqctl", "-q", "list_connections", "pid", "client_properties"],
                            capture_output=True, text=True, timeout=60, check=True).stdout
    (pid,) = [line.split("\t")[0] for line in listed.splitlines() if name_part in line]
    subprocess.run(["rabbitmqctl", "-q", "close_connection", pid, "test"],
                   capture_output=True, timeout=60, check=True)


def test_the_reply_listener_reconnects_and_a_call_in_flight_gets_its_reply(rabbitmq_url):
    bus = Bus(rabbitmq_url, namespace=unique("reconnect"))
    endpoints = Endpoints()
    server = bus.serve("compute", "node-1", endpoints)
    server.start()
    try:
        assert bus.call("compute", "echo", {"value": "first"}, timeout=WAIT) == "first"
        listener = bus._replies.get()
        with ThreadPoolExecutor(1) as pool:
            in_flight = pool.submit(bus.call, "compute", "held", {"value": "kept"},
                                    timeout=SLOW)
            assert endpoints.in_hand.wait(WAIT)
            close_broker_connection(listener.queue.name)
            # Replied while the listener reconnects: the queue outlives its connection.
            endpoints.release.set()
            assert in_flight.result() == "kept"
        wait_until(lambda: listener.connections == 2)
        assert bus.call("compute", "echo", {"value": "again"}, timeout=WAIT) == "again"
    finally:
        server.stop()
        bus.close()
