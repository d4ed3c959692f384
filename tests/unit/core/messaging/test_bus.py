"""One behaviour suite for the message bus, run on memory, SQLAlchemy (SQLite) and RabbitMQ."""

from __future__ import annotations

import queue
import time

import pytest

from core.errors import ServiceUnavailable
from core.messaging import MessagingTimeout, RemoteError, SeenMessages

WAIT = 5.0  # upper bound for anything asynchronous to arrive


class Recorder:
    """Endpoints that answer, fail, and record what they were sent."""

    def __init__(self, name: str = "s") -> None:
        self.name = name
        self.received: queue.Queue = queue.Queue()

    def add(self, a: int, b: int) -> dict:
        return {"sum": a + b, "server": self.name}

    def record(self, **payload) -> None:
        self.received.put((self.name, payload))

    def fail(self, why: str) -> None:
        raise ValueError(why)

    def _private(self) -> dict:
        return {"leaked": True}


def test_call_returns_the_reply(bus, serving):
    serving("compute", "node-1", Recorder("node-1"))
    assert bus.call("compute", "add", {"a": 2, "b": 3}, timeout=WAIT) == {"sum": 5, "server": "node-1"}


def test_call_to_a_named_server(bus, serving):
    serving("compute", "node-1", Recorder("node-1"))
    serving("compute", "node-2", Recorder("node-2"))
    for _ in range(3):
        reply = bus.call("compute", "add", {"a": 1, "b": 1}, timeout=WAIT, server="node-2")
        assert reply["server"] == "node-2"


def test_cast_is_handled(bus, serving):
    endpoints = Recorder()
    serving("conductor", "c-1", endpoints)
    bus.cast("conductor", "record", {"instance": "i-1"})
    assert endpoints.received.get(timeout=WAIT) == ("s", {"instance": "i-1"})


def test_cast_waits_for_a_server(bus, serving):
    bus.cast("conductor", "record", {"instance": "i-2"})
    endpoints = Recorder()
    serving("conductor", "c-1", endpoints)
    assert endpoints.received.get(timeout=WAIT) == ("s", {"instance": "i-2"})


def test_fanout_reaches_every_server(bus, serving):
    one, two = Recorder("one"), Recorder("two")
    serving("scheduler", "one", one)
    serving("scheduler", "two", two)
    bus.fanout("scheduler", "record", {"hosts": "changed"})
    assert one.received.get(timeout=WAIT) == ("one", {"hosts": "changed"})
    assert two.received.get(timeout=WAIT) == ("two", {"hosts": "changed"})


def test_remote_error_comes_back(bus, serving):
    serving("compute", "node-1", Recorder())
    with pytest.raises(RemoteError) as info:
        bus.call("compute", "fail", {"why": "disk full"}, timeout=WAIT)
    assert info.value.exc_type == "ValueError"
    assert info.value.remote_message == "disk full"
    # The server survives its endpoint's failure.
    assert bus.call("compute", "add", {"a": 1, "b": 2}, timeout=WAIT)["sum"] == 3


def test_private_and_unknown_methods_are_not_dispatched(bus, serving):
    serving("compute", "node-1", Recorder())
    for method in ("_private", "nope"):
        with pytest.raises(RemoteError) as info:
            bus.call("compute", method, {}, timeout=WAIT)
        assert info.value.exc_type == "AttributeError"


class Declared(Recorder):
    """Endpoints that are more than their endpoints: only ``add`` may be called."""

    RPC_METHODS = frozenset({"add"})

    def shutdown(self) -> dict:
        return {"stopped": True}


def test_only_declared_methods_are_dispatched(bus, serving):
    serving("compute", "node-1", Declared())
    assert bus.call("compute", "add", {"a": 1, "b": 2}, timeout=WAIT)["sum"] == 3
    for method in ("shutdown", "record"):
        with pytest.raises(RemoteError) as info:
            bus.call("compute", method, {}, timeout=WAIT)
        assert info.value.exc_type == "AttributeError"


def test_a_compute_agent_declares_exactly_what_its_client_calls():
    """The agent's lifecycle (start, stop, register, the sync) is not callable
    over the bus; every method the conductor's AgentClient casts or calls is."""
    from core.agent.manager import ComputeAgent
    from core.compute.rpcapi import AgentClient

    called = {name for name in vars(AgentClient) if not name.startswith("_")}
    assert ComputeAgent.RPC_METHODS == called
    assert not {"start", "stop", "register", "sync_power_states"} & ComputeAgent.RPC_METHODS


def test_call_to_nobody_times_out(bus):
    started = time.monotonic()
    with pytest.raises(MessagingTimeout) as info:
        bus.call("nobody", "add", {"a": 1, "b": 2}, timeout=1.0)
    elapsed = time.monotonic() - started
    assert isinstance(info.value, ServiceUnavailable)
    assert 0.9 <= elapsed < 1.0 + WAIT


def test_notifications_are_received(bus):
    got: queue.Queue = queue.Queue()
    listener = bus.listen_notifications(lambda event, payload: got.put((event, payload)))
    listener.start()
    try:
        bus.notify("compute.instance.create.end", {"instance_id": "abc"})
        assert got.get(timeout=WAIT) == ("compute.instance.create.end", {"instance_id": "abc"})
    finally:
        listener.stop()


def test_seen_messages_drops_duplicates_and_stays_bounded():
    seen = SeenMessages(capacity=2)
    assert seen.first_time("a") and seen.first_time("b")
    assert not seen.first_time("a")
    assert seen.first_time("c")  # evicts "b", the least recently seen
    assert seen.first_time("b")


def test_memory_notifications_are_bounded():
    """Nobody listens in an all-in-one process: the backlog keeps only the newest."""
    import uuid

    from core.messaging.bus import Bus
    from core.messaging.transports import NotificationBounds

    b = Bus("memory://", namespace=f"bounded{uuid.uuid4().hex[:6]}",
            notifications=NotificationBounds(max_length=5))
    received: list[int] = []
    for n in range(12):
        b.notify("test.event", {"n": n})
    listener = b.listen_notifications(lambda event, payload: received.append(payload["n"]))
    listener.start()
    import time

    deadline = time.monotonic() + 5
    while len(received) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    listener.stop()
    b.close()
    assert received == [7, 8, 9, 10, 11]


def test_memory_consumer_sleeps_until_a_put(monkeypatch):
    """The in-process bus does not poll: an idle consumer looks at its queue once
    and sleeps until a put to that queue wakes it."""
    import threading
    import uuid

    from kombu import Consumer, Producer

    from core.messaging import transports

    looks = []
    get = transports.ThreadSafeMemoryChannel._get
    monkeypatch.setattr(transports.ThreadSafeMemoryChannel, "_get",
                        lambda self, queue, timeout=None: (looks.append(queue),
                                                           get(self, queue))[1])
    name = f"bells-{uuid.uuid4().hex[:8]}"
    queue = transports.Routes("t", amqp=False).reply_queue(name)
    got: list = []
    with transports.connect("memory://") as conn, transports.connect("memory://") as other:
        consumer = Consumer(conn.channel(), [queue], accept=["json"],
                            callbacks=[lambda body, message: (got.append(body), message.ack())])
        consumer.consume()
        waiter = threading.Thread(target=conn.drain_events, kwargs={"timeout": 30})
        waiter.start()
        time.sleep(0.5)  # kombu's own memory transport would have looked ~10 times
        idle_looks = len(looks)
        Producer(other.channel()).publish({"n": 1}, **transports.target(queue))
        waiter.join(WAIT)
        assert not waiter.is_alive() and got == [{"n": 1}]
    assert idle_looks <= 2, looks


def test_doorbells_ring_only_the_queues_waiters():
    import threading

    from core.messaging.transports import Doorbells

    bells = Doorbells()
    mine, other = threading.Event(), threading.Event()
    bells.listen(["q1", "q2"], mine)
    bells.listen(["q3"], other)
    bells.ring("q2")
    assert mine.is_set() and not other.is_set()
    mine.clear()
    bells.forget(["q1", "q2"], mine)
    bells.ring("q1")
    assert not mine.is_set()
