"""Replies to calls: one reply queue per bus per process, one thread consuming it.

A call registers its id, publishes its request with ``reply_to`` naming the
queue, and waits; the listener thread hands each reply to the call whose id is
its ``correlation_id``. A reply whose call is over (it timed out, or a
redelivered request was answered twice) finds nobody waiting and is dropped:
ids are unique, so it can never reach another call. This is oslo.messaging's
``ReplyWaiter``: a call costs a publish and a wait, not a connection, a channel
and a queue of its own.

On RabbitMQ the queue is neither exclusive nor auto-delete: it outlives a
dropped connection, so a reply that comes while the listener reconnects waits
in it; ``x-expires`` removes it once nothing has consumed it for
``transports.REPLY_QUEUE_EXPIRES`` seconds (a process that died). The listener reconnects
with backoff, forever, until the bus closes.

Threads and sockets do not cross a fork: :class:`PerProcess` gives a forked
child (gunicorn forking after the app was built) its own listener and queue,
leaving the parent's untouched.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable
from queue import Empty, SimpleQueue
from typing import Any, Generic, TypeVar

from kombu import Connection, Consumer, Queue
from kombu.message import Message

from core.messaging import transports

log = logging.getLogger(__name__)

# How long the listener waits for a message before looking again (a heartbeat
# check on RabbitMQ); close() wakes it sooner with a message of its own.
IDLE_WAKE = 1.0
WAKE = {"correlation_id": None, "wake": True}

T = TypeVar("T")


class PerProcess(Generic[T]):
    """One ``make()`` per process: a forked child makes its own on first use.

    The parent's object is dropped in the child without being closed: closing
    a connection there would close the parent's (the socket is shared)."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._by_pid: dict[int, T] = {}

    def get(self) -> T:
        pid = os.getpid()
        value = self._by_pid.get(pid)
        if value is None:
            for other in [p for p in self._by_pid if p != pid]:
                self._by_pid.pop(other, None)  # the parent's, inherited by a fork
            # setdefault is atomic: threads racing here all get the same one.
            value = self._by_pid.setdefault(pid, self._make())
        return value

    def pop(self) -> T | None:
        """This process's object, forgotten (the next ``get`` makes another)."""
        return self._by_pid.pop(os.getpid(), None)


class ReplyListener:
    """Consumes one reply queue in a daemon thread (started by the first call)
    and hands each reply to the call waiting for it."""

    def __init__(self, connection: Connection, routes: transports.Routes) -> None:
        self.queue = routes.reply_queue(uuid.uuid4().hex)
        self._template = connection
        self._amqp = routes.amqp
        self._waiting: dict[str, SimpleQueue[dict]] = {}
        self._lock = threading.Lock()
        self._consuming = threading.Event()  # the queue is declared and consumed
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.connections = 0  # how many times the listener has (re)connected

    # -- the calling side -------------------------------------------------

    def expect(self, call_id: str) -> SimpleQueue[dict]:
        """Where the reply to ``call_id`` will be put; register before publishing."""
        waiter: SimpleQueue[dict] = SimpleQueue()
        with self._lock:
            self._waiting[call_id] = waiter
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name=f"replies-{self.queue.name}")
                self._thread.start()
        return waiter

    def wait_consuming(self, timeout: float) -> bool:
        """Whether the queue is being consumed (a reply sent to it is received),
        waiting up to ``timeout`` seconds while the listener (re)connects."""
        return self._consuming.wait(max(0.0, timeout))

    @staticmethod
    def wait(waiter: SimpleQueue[dict], timeout: float) -> dict | None:
        """The reply put in ``waiter`` within ``timeout`` seconds, or None."""
        try:
            return waiter.get(timeout=max(0.0, timeout))
        except Empty:
            return None

    def forget(self, call_id: str) -> None:
        """The call is over: a reply to it that comes later is dropped."""
        with self._lock:
            self._waiting.pop(call_id, None)

    def close(self, wake: Callable[[dict, Queue], None], timeout: float = 5.0) -> None:
        """Stop the listener thread for good (it deletes the queue), waking it
        with a message through ``wake`` (a publish) rather than waiting out its
        idle wait. Calls still waiting time out."""
        with self._lock:
            self._stopping.set()
            thread = self._thread
        if thread is None:
            return
        if self._consuming.is_set():
            try:
                wake(WAKE, self.queue)
            except Exception:  # noqa: BLE001 - the thread still stops by itself
                log.debug("waking the reply listener failed", exc_info=True)
        thread.join(timeout)
        if thread.is_alive():
            log.warning("reply listener %s did not stop within %.1f s", self.queue.name, timeout)

    # -- the listener thread ----------------------------------------------

    def _run(self) -> None:
        options: dict[str, Any] = {}
        if self._amqp:  # named, so operators (and tests) can tell it in the broker's list
            options["transport_options"] = {
                **(self._template.transport_options or {}),
                "client_properties": {"connection_name": f"replies {self.queue.name}"}}
        failures = 0  # in a row, since the listener last consumed
        while not self._stopping.is_set():
            conn = self._template.clone(**options)
            consumed = self.connections
            try:
                self._consume(conn)
                conn.release()
                return
            except Exception as exc:  # noqa: BLE001 - a listener that died would hang every call
                self._consuming.clear()
                conn.collect()  # no goodbye to a broker that is gone
                failures = 1 if self.connections > consumed else failures + 1
                delay = transports.retry_interval(failures)
                log.warning("reply listener %s: bus connection lost (%s); reconnecting in "
                            "%.1f s", self.queue.name, exc, delay)
                self._stopping.wait(delay)

    def _consume(self, conn: Connection) -> None:
        conn.connect()
        channel = conn.channel()
        with Consumer(channel, [self.queue], callbacks=[self._deliver], accept=["json"],
                      no_ack=True):
            self.connections += 1
            self._consuming.set()
            if self.connections > 1:
                log.info("reply listener %s: consuming again", self.queue.name)
            while not self._stopping.is_set():
                try:
                    conn.drain_events(timeout=IDLE_WAKE)
                except TimeoutError:
                    conn.heartbeat_check()
        self._consuming.clear()
        try:
            if self._amqp:
                self.queue.bind(channel).delete()
            else:
                transports.delete_virtual_queue(channel, self.queue.name)
        except Exception:  # noqa: BLE001 - it expires (RabbitMQ) or is harmless
            log.debug("deleting reply queue %s failed", self.queue.name, exc_info=True)

    def _deliver(self, body: Any, message: Message) -> None:
        call_id = body.get("correlation_id") if isinstance(body, dict) else None
        with self._lock:
            waiter = self._waiting.pop(call_id, None) if call_id is not None else None
        if waiter is not None:
            waiter.put(body)
        elif call_id is not None:
            log.debug("reply to call %s dropped: that call is over", call_id)
