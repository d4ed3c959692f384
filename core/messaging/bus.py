"""The message bus: request/reply calls, casts, fanouts and notifications.

Every message is a JSON envelope::

    {"id": "<uuid hex>", "method": "...", "payload": {...},
     "reply_to": "<queue>" (calls only), "deadline": <epoch seconds> (calls only)}

``id`` is unique per message so idempotent handlers can drop duplicates (see
``core.messaging.dedup``). A reply, ``{"id": "<id>.reply", "correlation_id":
"<id>", "result": ...}`` or with ``"error": {"type": ..., "message": ...}``, goes
to ``reply_to``: the one reply queue of the calling bus in its process (see
``core.messaging.replies``). A server acknowledges a message only after its
handler has finished, with a prefetch of one, so on RabbitMQ a message whose
worker dies is redelivered to another (at-least-once). Publishing retries with
backoff across lost connections; on RabbitMQ publishes are confirmed.

Notifications wait in a durable queue per priority for listeners that may
never come, so it is bounded (:class:`~core.messaging.transports.NotificationBounds`):
on RabbitMQ by the queue's ``x-message-ttl`` and ``x-max-length`` (overflow
``drop-head``), in memory by trimming to the length. A queue declared before
the bounds (RabbitMQ cannot add arguments to it) is replaced once, its backlog
dropped: see :func:`~core.messaging.transports.declare_replacing`.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from kombu import Connection, Producer, Queue

from core.messaging import transports
from core.messaging.errors import MessagingTimeout, RemoteError
from core.messaging.replies import PerProcess, ReplyListener
from core.messaging.transports import RETRY_POLICY
from core.metrics import Metrics
from core.settings import Settings

log = logging.getLogger(__name__)


def new_id() -> str:
    return uuid.uuid4().hex


class Publisher:
    """One lazily opened connection for publishing, shared by the threads of one
    process under a lock (a bus keeps one per process: see ``Bus.publisher``)."""

    def __init__(self, connection: Connection) -> None:
        self._template = connection
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self._lock = threading.Lock()

    def publish(self, body: dict, queue: Queue, declare: list | None = None,
                retry: bool = True) -> None:
        """Publish so that ``queue`` gets ``body``; declares ``queue`` unless told
        what; retries with backoff across lost connections unless told not to."""
        with self._lock:
            if self._connection is None:
                self._connection = self._template.clone()
                self._connection.ensure_connection(**RETRY_POLICY)
                self._producer = self._connection.Producer(serializer="json")
            assert self._producer is not None
            self._producer.publish(
                body,
                **transports.target(queue),
                declare=[queue] if declare is None else declare,
                delivery_mode=2,
                retry=retry,
                retry_policy=RETRY_POLICY,
            )

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.release()
            self._connection = self._producer = None


class Bus:
    """Messaging over one transport URL; ``namespace`` prefixes every queue name,
    ``notifications`` bounds the notification queues (defaults: an hour, 10,000)."""

    def __init__(self, url: str, namespace: str = "nimbus",
                 notifications: transports.NotificationBounds | None = None,
                 metrics: Metrics | None = None) -> None:
        self.url = url
        self.metrics = metrics
        self.namespace = namespace
        self.connection = transports.connect(url)
        self.amqp = transports.is_amqp(url)
        self.notification_bounds = notifications or transports.NotificationBounds()
        self.routes = transports.Routes(namespace, self.amqp, self.notification_bounds)
        # Threads and sockets do not cross a fork: a child makes its own.
        self._publishers = PerProcess(lambda: Publisher(self.connection))
        self._replies = PerProcess(lambda: ReplyListener(self.connection, self.routes))
        self._declared: set[str] = set()  # notification queues this bus has declared
        self._declare_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, metrics: Metrics | None = None) -> Bus:
        """The bus ``settings`` describe (transport and notification bounds), timing
        its calls in ``metrics``."""
        return cls(settings.transport_url, notifications=transports.NotificationBounds(
            settings.notification_ttl, settings.notification_max_length), metrics=metrics)

    # -- sending --------------------------------------------------------

    def call(self, topic: str, method: str, payload: dict, timeout: float = 30.0,
             server: str | None = None) -> Any:
        """Run ``method`` on one server of ``topic`` (or on ``server``) and return its reply.

        Raises ``MessagingTimeout`` when no reply comes within ``timeout`` seconds and
        ``RemoteError`` when the remote method raised. Each call's round trip is
        timed in ``metrics``, by outcome.
        """
        if self.metrics is None:
            return self._call(topic, method, payload, timeout, server)
        start = time.perf_counter()
        outcome = "error"
        try:
            result = self._call(topic, method, payload, timeout, server)
            outcome = "ok"
            return result
        except MessagingTimeout:
            outcome = "timeout"
            raise
        except RemoteError:
            outcome = "remote_error"
            raise
        finally:
            self.metrics.call_finished(topic, method, time.perf_counter() - start, outcome)

    def _call(self, topic: str, method: str, payload: dict, timeout: float,
              server: str | None) -> Any:
        call_id = new_id()
        deadline = time.time() + timeout
        replies = self._replies.get()
        waiter = replies.expect(call_id)
        reply = None
        try:
            # A reply needs its queue declared: the first call starts the
            # listener, which declares it (and again after a lost connection).
            if replies.wait_consuming(deadline - time.time()):
                self.publisher.publish(
                    {"id": call_id, "method": method, "payload": payload,
                     "reply_to": replies.queue.name, "deadline": deadline},
                    self._rpc_queue(topic, server),
                )
                reply = replies.wait(waiter, deadline - time.time())
        finally:
            replies.forget(call_id)
        if reply is None:
            raise MessagingTimeout(f"no reply to {topic}.{method} within {timeout} s",
                                   topic=topic, method=method)
        if "error" in reply:
            raise RemoteError(reply["error"]["type"], reply["error"]["message"])
        return reply.get("result")

    def cast(self, topic: str, method: str, payload: dict, server: str | None = None) -> None:
        """Queue ``method`` for one server of ``topic`` (or ``server``); no reply.

        The topic queue is durable: a cast waits there until a server takes it.
        """
        self.publisher.publish(self._envelope(method, payload), self._rpc_queue(topic, server))

    def fanout(self, topic: str, method: str, payload: dict) -> None:
        """Deliver ``method`` to every server currently serving ``topic``."""
        body = self._envelope(method, payload)
        if self.amqp:
            exchange = self.routes.fanout_exchange(topic)
            # Only the exchange is declared: with no server bound, the fanout reaches nobody.
            self.publisher.publish(body, Queue("", exchange, routing_key=""), declare=[exchange])
            return
        with self.connection.clone() as conn:
            conn.ensure_connection(**RETRY_POLICY)
            names = transports.virtual_queue_names(conn.default_channel, self.routes.fanout_prefix(topic))
        for name in names:
            self.publisher.publish(body, Queue(name, routing_key=name), declare=[])

    def notify(self, event_type: str, payload: dict, priority: str = "info") -> None:
        """Publish a notification (e.g. ``compute.instance.create.end``)."""
        body = {"id": new_id(), "event_type": event_type, "payload": payload,
                "timestamp": time.time(), "priority": priority}
        queue = self.declare_notifications(priority)
        self.publisher.publish(body, queue)
        limit = self.notification_bounds.max_length
        if self.url.startswith("memory") and limit:
            # In one process nobody may be listening: keep only the newest ones.
            transports.trim_memory_queue(queue.name, limit)

    def declare_notifications(self, priority: str = "info") -> Queue:
        """The notifications queue of ``priority``, declared (once per bus) with
        its bounds, replacing on RabbitMQ one declared without them."""
        queue = self.routes.notifications_queue(priority)
        if not self.amqp or queue.name in self._declared:
            return queue
        with self._declare_lock:
            if queue.name not in self._declared:
                with self.connection.clone() as conn:
                    conn.ensure_connection(**RETRY_POLICY)
                    transports.declare_replacing(conn, queue)
                self._declared.add(queue.name)
        return queue

    # -- receiving ------------------------------------------------------

    def serve(self, topic: str, server_name: str, endpoints: object,
              dedup: Any = None) -> Any:
        """A server (``start()`` / ``stop()``) running ``endpoints.<method>(**payload)``."""
        from core.messaging.server import RpcServer

        return RpcServer(self, topic, server_name, endpoints, dedup=dedup)

    def listen_notifications(self, handler: Callable[[str, dict], None],
                             priority: str = "info") -> Any:
        """A listener (``start()`` / ``stop()``) calling ``handler(event_type, payload)``."""
        from core.messaging.server import NotificationListener

        return NotificationListener(self, handler, priority)

    @property
    def publisher(self) -> Publisher:
        """This process's publisher."""
        return self._publishers.get()

    def close(self) -> None:
        """Stop this process's reply listener and close its publishing connection;
        the bus may still be used (both start again when needed)."""
        replies = self._replies.pop()
        if replies is not None:
            replies.close(lambda body, queue: self.publisher.publish(
                body, queue, declare=[], retry=False))
        publisher = self._publishers.pop()
        if publisher is not None:
            publisher.close()

    # -- helpers --------------------------------------------------------

    def _rpc_queue(self, topic: str, server: str | None) -> Queue:
        if server:
            return self.routes.server_queue(topic, server)
        return self.routes.topic_queue(topic)

    @staticmethod
    def _envelope(method: str, payload: dict) -> dict:
        return {"id": new_id(), "method": method, "payload": payload}
