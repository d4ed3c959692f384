"""Building kombu connections and naming routes for each kind of transport.

Three transports share one protocol:

- ``memory://``: in-process, for the all-in-one server and tests.
- ``sqla+<database URL>``: kombu's SQLAlchemy transport, a broker-less fallback
  for several processes on one database.
- ``amqp://`` (or ``pyamqp://``): RabbitMQ, for scale-out.

kombu's virtual transports (memory, sqla) keep exchange bindings in the memory
of one connection, so other processes never see them: everything is routed
through the default exchange by queue name there. They also poll, once a second
by default. The SQLAlchemy transport polls every ``POLL_INTERVAL`` seconds; the
in-process one does not poll: a put (or an acknowledgement, which frees a
consumer's prefetch) wakes the consumers waiting on that queue at once.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from queue import Empty
from queue import Queue as SimpleQueue
from time import monotonic
from typing import Any

from kombu import Connection, Exchange, Queue
from kombu.transport.memory import Channel as MemoryChannel
from kombu.transport.memory import Transport as MemoryTransport
from kombu.transport.sqlalchemy import Transport as SqlaTransport
from kombu.transport.virtual import Channel as VirtualChannel

log = logging.getLogger(__name__)

# Reconnect with backoff: 0.1 s, then +0.5 s per attempt up to 5 s, ten attempts.
RETRY_POLICY = {"max_retries": 10, "interval_start": 0.1, "interval_step": 0.5, "interval_max": 5}
REPLY_QUEUE_EXPIRES = 600  # seconds unused before RabbitMQ removes a reply queue
POLL_INTERVAL = 0.05
# An in-process consumer with nothing to do still looks at its queues this
# often: a safety net only, since a put wakes it (``Doorbells``).
MEMORY_IDLE_WAKE = 0.5
PRECONDITION_FAILED = 406  # AMQP: a queue redeclared with other arguments
MAX_MESSAGE_TTL = 2**32 - 1  # milliseconds: RabbitMQ's largest x-message-ttl


@dataclass(frozen=True)
class NotificationBounds:
    """How much a notifications queue keeps for listeners that may never come:
    messages older than ``ttl_seconds`` expire, and past ``max_length`` the
    oldest go (drop-head); 0 means no bound of that kind."""

    ttl_seconds: int = 3600
    max_length: int = 10_000

    def __post_init__(self) -> None:
        if not 0 <= self.ttl_seconds * 1000 <= MAX_MESSAGE_TTL:
            raise ValueError(f"notification TTL out of range: {self.ttl_seconds} s")
        if self.max_length < 0:
            raise ValueError(f"notification max length out of range: {self.max_length}")

    def queue_arguments(self) -> dict[str, Any]:
        """RabbitMQ's arguments for a queue so bounded."""
        args: dict[str, Any] = {}
        if self.ttl_seconds:
            args["x-message-ttl"] = self.ttl_seconds * 1000
        if self.max_length:
            args.update({"x-max-length": self.max_length, "x-overflow": "drop-head"})
        return args


class Doorbells:
    """Which in-process consumers wait on which queue: a put to a queue rings
    the bell of every consumer waiting on it, so delivery takes no polling."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: defaultdict[str, set[threading.Event]] = defaultdict(set)

    def listen(self, names: Iterable[str], bell: threading.Event) -> None:
        with self._lock:
            for name in names:
                self._waiting[name].add(bell)

    def forget(self, names: Iterable[str], bell: threading.Event) -> None:
        with self._lock:
            for name in names:
                bells = self._waiting.get(name)
                if bells is not None:
                    bells.discard(bell)
                    if not bells:
                        del self._waiting[name]

    def ring(self, name: str) -> None:
        with self._lock:
            bells = list(self._waiting.get(name, ()))
        for bell in bells:
            bell.set()


DOORBELLS = Doorbells()


class ThreadSafeMemoryChannel(MemoryChannel):
    """kombu's in-process channel, safe with many threads on one process-wide dict
    of queues (kombu issue #263), and ringing ``DOORBELLS`` on every put.

    kombu's ``close`` iterates that dict while other threads add queues to it
    ("dictionary changed size during iteration" — a call's reply was then lost);
    its queue creation is a check-then-set two threads can both pass, each with
    its own queue object, losing what went into the first.
    """

    def close(self) -> None:
        VirtualChannel.close(self)

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        self.queues.setdefault(queue, SimpleQueue())

    def _queue_for(self, queue: str) -> Any:
        # Looked up first: a queue.Queue (three conditions) per put costs more
        # than the rest of the put.
        found = self.queues.get(queue)
        return found if found is not None else self.queues.setdefault(queue, SimpleQueue())

    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:
        self._queue_for(queue).put(message)
        DOORBELLS.ring(queue)

    def _put_fanout(self, exchange: str, message: Any, routing_key: Any = None,
                    **kwargs: Any) -> None:
        for queue in self._lookup(exchange, routing_key):
            self._put(queue, message)

    def basic_ack(self, delivery_tag: Any, multiple: bool = False) -> None:
        super().basic_ack(delivery_tag, multiple)
        self.connection.bell.set()  # prefetch freed: this consumer may take the next


class ThreadSafeMemoryTransport(MemoryTransport):
    """kombu's in-process transport, event-driven: a consumer with nothing to
    take sleeps on its own bell, which a put to one of its queues rings, instead
    of polling them (kombu's virtual transports sleep a polling interval)."""

    Channel = ThreadSafeMemoryChannel

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self.bell = threading.Event()

    def _consumed(self) -> set[str]:
        channels: list[Any] = list(self.channels or ())
        return {name for channel in channels
                for name in list(getattr(channel, "_active_queues", ()))}

    def drain_events(self, connection: Any, timeout: Any = None, **kwargs: Any) -> Any:
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            names = self._consumed()
            # Listening before looking: a put after the look rings the bell.
            self.bell.clear()
            DOORBELLS.listen(names, self.bell)
            try:
                try:
                    self.cycle.get(self._deliver, timeout=timeout)  # type: ignore[attr-defined]
                    return
                except Empty:
                    pass
                wait = MEMORY_IDLE_WAKE
                if deadline is not None:
                    remaining = deadline - monotonic()
                    if remaining <= 0:
                        raise TimeoutError()
                    wait = min(wait, remaining)
                self.bell.wait(wait)
            finally:
                DOORBELLS.forget(names, self.bell)


class FastPollingSqlaTransport(SqlaTransport):
    """kombu's SQLAlchemy transport polling every ``POLL_INTERVAL`` seconds.

    Its transport options all go to ``create_engine``, so the polling interval
    cannot be passed as an option; a subclass sets it instead.
    """

    polling_interval = POLL_INTERVAL


def retry_interval(attempt: int) -> float:
    """Seconds to wait before reconnection attempt ``attempt`` (1, 2, ...) as
    ``RETRY_POLICY`` spaces them, for loops that retry without a limit."""
    return float(min(RETRY_POLICY["interval_start"]
                     + RETRY_POLICY["interval_step"] * (attempt - 1),
                     RETRY_POLICY["interval_max"]))


def is_amqp(url: str) -> bool:
    return url.split("://", 1)[0] in ("amqp", "pyamqp", "amqps")


def connect(url: str) -> Connection:
    """A (lazy) kombu connection for a transport URL."""
    scheme = url.split("://", 1)[0]
    if scheme.startswith("sqla+"):
        # No "sqla+" prefix left in the URL, or kombu would pick its own class.
        return Connection(url[len("sqla+") :], transport=FastPollingSqlaTransport)
    if scheme == "memory":
        # kombu warns about a URL without a host name; the memory transport ignores it.
        return Connection("memory://localhost/", transport=ThreadSafeMemoryTransport)
    if is_amqp(url):
        # Confirms: a publish returns once the broker has the message, so a
        # dropped connection is retried instead of silently losing it.
        return Connection(url, transport_options={"confirm_publish": True})
    raise ValueError(f"unsupported message transport: {url!r}")


class Routes:
    """Queue and exchange names for one namespace on one transport."""

    def __init__(self, namespace: str, amqp: bool,
                 notifications: NotificationBounds | None = None) -> None:
        self.namespace = namespace
        self.amqp = amqp
        self.notifications = notifications or NotificationBounds()

    def topic_queue(self, topic: str) -> Queue:
        """Shared by every server of a topic: each message goes to one of them."""
        return self._durable(f"{self.namespace}.rpc.{topic}")

    def server_queue(self, topic: str, server: str) -> Queue:
        """One server's own queue, for calls and casts addressed to it."""
        return self._durable(f"{self.namespace}.rpc.{topic}.server.{server}")

    def fanout_prefix(self, topic: str) -> str:
        return f"{self.namespace}.rpc.{topic}.fanout."

    def fanout_exchange(self, topic: str) -> Exchange:
        return Exchange(f"{self.namespace}.rpc.{topic}.fanout", type="fanout", durable=True)

    def fanout_queue(self, topic: str, server: str) -> Queue:
        """A server's copy of every fanout; it goes away with the server."""
        name = self.fanout_prefix(topic) + server
        if self.amqp:
            return Queue(name, self.fanout_exchange(topic), durable=False, auto_delete=True)
        return Queue(name, Exchange(""), routing_key=name)

    def reply_queue(self, listener_id: str) -> Queue:
        """One process's replies to its calls (see ``core.messaging.replies``).

        On RabbitMQ neither exclusive nor auto-delete, so it outlives a dropped
        connection with the replies sent meanwhile; the broker removes it once
        unused for ``REPLY_QUEUE_EXPIRES`` seconds (its process is gone)."""
        name = f"{self.namespace}.reply.{listener_id}"
        if self.amqp:
            return Queue(name, Exchange(""), routing_key=name, durable=False, auto_delete=False,
                         queue_arguments={"x-expires": REPLY_QUEUE_EXPIRES * 1000})
        return Queue(name, Exchange(""), routing_key=name)

    def notifications_queue(self, priority: str = "info") -> Queue:
        """Durable, and bounded (``notifications``): nobody may ever read it."""
        name = f"{self.namespace}.notifications.{priority}"
        if self.amqp:
            exchange = Exchange(f"{self.namespace}.notifications", type="topic", durable=True)
            return Queue(name, exchange, routing_key=priority, durable=True,
                         queue_arguments=self.notifications.queue_arguments() or None)
        return Queue(name, Exchange(""), routing_key=name)

    def _durable(self, name: str) -> Queue:
        return Queue(name, Exchange(""), routing_key=name, durable=True, auto_delete=False)


def declare_replacing(connection: Connection, queue: Queue) -> int | None:
    """Declare ``queue`` on RabbitMQ; one of that name declared with other
    arguments (an unbounded notifications queue from before the bounds, which
    RabbitMQ cannot change: it answers 406 PRECONDITION_FAILED) is deleted with
    its messages and declared anew. Returns how many messages that dropped, or
    None when nothing was replaced."""
    try:
        queue.bind(connection.channel()).declare()
        return None
    except connection.channel_errors as exc:
        if getattr(exc, "reply_code", None) != PRECONDITION_FAILED:
            raise
        log.warning("queue %s exists with other arguments (%s); replacing it", queue.name, exc)
    bound = queue.bind(connection.channel())  # the broker closed the other channel
    dropped = bound.delete()
    bound.declare()
    log.warning("queue %s replaced: %s message(s) dropped", queue.name, dropped)
    return int(dropped or 0)


def target(queue: Queue) -> dict[str, Any]:
    """Where to publish so that ``queue`` receives the message."""
    return {"exchange": queue.exchange, "routing_key": queue.routing_key}


def virtual_queue_names(channel: Any, prefix: str) -> list[str]:
    """Queues whose name starts with ``prefix`` on a virtual transport.

    This is how a fanout finds its servers without shared exchange bindings.
    """
    if hasattr(channel, "queue_cls"):  # SQLAlchemy: the queue table, shared by processes
        session = channel.session
        try:
            names = [row[0] for row in session.query(channel.queue_cls.name)]
        finally:
            session.commit()
    else:  # memory: one dict for the whole process
        names = list(channel.queues)
    return sorted(n for n in names if n.startswith(prefix))


def delete_virtual_queue(channel: Any, name: str) -> None:
    """Remove a queue and its messages on a virtual transport."""
    if hasattr(channel, "queue_cls"):
        session = channel.session
        try:
            for queue in session.query(channel.queue_cls).filter(channel.queue_cls.name == name):
                session.query(channel.message_cls).filter(
                    channel.message_cls.queue_id == queue.id
                ).delete(synchronize_session=False)
                session.delete(queue)
            session.commit()
        except Exception:
            session.rollback()
            raise
    else:
        channel.queues.pop(name, None)


def trim_memory_queue(name: str, max_len: int) -> int:
    """Drop the oldest messages of an in-process (``memory://``) queue beyond
    ``max_len``; returns how many went. Nothing else bounds a queue nobody reads
    (notifications in an all-in-one process) in that process's memory."""
    from kombu.transport.memory import Channel as MemoryChannel

    queue = MemoryChannel.queues.get(name)
    dropped = 0
    while queue is not None and queue.qsize() > max_len:
        try:
            queue.get_nowait()
        except Exception:  # noqa: BLE001 - emptied meanwhile by a consumer
            break
        dropped += 1
    return dropped
