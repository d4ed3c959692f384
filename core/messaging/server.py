"""Servers that consume from the bus in a thread: RPC servers and notification listeners."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from kombu import Consumer, Queue
from kombu.message import Message
from kombu.mixins import ConsumerMixin

from core.messaging import transports
from core.messaging.dedup import SeenMessages

if TYPE_CHECKING:
    from core.messaging import interfaces
    from core.messaging.bus import Bus

log = logging.getLogger(__name__)

# How often the consumer loop wakes up to notice stop(); also bounds stop()'s latency.
WAKE_INTERVAL = 0.1


class _ConsumerThread(ConsumerMixin):
    """Consumes ``queues()`` in a daemon thread; reconnects with backoff (ConsumerMixin)."""

    name = "consumer"

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.connection = bus.connection
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def queues(self) -> list[Queue]:
        raise NotImplementedError

    def handle(self, body: dict, message: Message) -> None:
        raise NotImplementedError

    def get_consumers(self, consumer_cls: Any, channel: Any) -> list[Consumer]:
        # Prefetch 1: a message is only taken when the previous one is done,
        # so a dead worker holds at most one, which the broker redelivers.
        return [consumer_cls(queues=self.queues(), callbacks=[self._on_message],
                             accept=["json"], prefetch_count=1)]

    def on_consume_ready(self, connection: Any, channel: Any, consumers: Any, **kw: Any) -> None:
        self._ready.set()

    def on_connection_error(self, exc: Exception, interval: float) -> None:
        log.warning("%s: bus connection failed (%s); retrying in %.1f s", self.name, exc, interval)

    def start(self, timeout: float = 10.0) -> None:
        """Start consuming; returns once the queues are declared and consumed."""
        self.should_stop = False
        self._thread = threading.Thread(target=self.run, kwargs={"safety_interval": WAKE_INTERVAL},
                                        name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"{self.name} did not start within {timeout} s")

    def request_stop(self) -> None:
        """Take no more messages; the one in hand is still finished."""
        self.should_stop = True

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop after the message in hand (if any) is handled and acknowledged,
        waiting up to ``timeout`` seconds; False when it is still being handled
        (never acknowledged, it goes back to the queue when the process ends)."""
        self.request_stop()
        finished = True
        if self._thread is not None:
            self._thread.join(timeout)
            finished = not self._thread.is_alive()
            self._thread = None
        self._ready.clear()
        self.on_stopped()
        return finished

    def on_stopped(self) -> None:
        pass

    def _on_message(self, body: dict, message: Message) -> None:
        if self.should_stop:
            # Delivered while stopping (RabbitMQ sends the next message as soon
            # as the last is acknowledged; the consumer's cancel waits for it):
            # it goes back to the queue for another worker.
            message.requeue()
            return
        if (message.delivery_info or {}).get("redelivered"):
            # Its first consumer died (or dropped its connection) before acknowledging.
            log.info("%s: redelivered message %s (%s)", self.name, body.get("id"),
                     body.get("method") or body.get("event_type"))
        try:
            self.handle(body, message)
        except Exception:
            log.exception("%s: failed to handle a message", self.name)
        # Acknowledge only now, after the handler (and its reply) finished.
        message.ack()


class RpcServer(_ConsumerThread):
    """Dispatches ``method`` to ``endpoints.<method>(**payload)``.

    Takes messages from the topic's shared queue, its own server queue and its
    fanout queue. Method names starting with "_" are never dispatched.
    """

    def __init__(self, bus: Bus, topic: str, server_name: str, endpoints: object,
                 dedup: SeenMessages | None = None) -> None:
        super().__init__(bus)
        self.topic = topic
        self.server_name = server_name
        self.endpoints = endpoints
        self.dedup = dedup
        self.name = f"rpc-{topic}-{server_name}"

    def queues(self) -> list[Queue]:
        routes = self.bus.routes
        return [routes.topic_queue(self.topic),
                routes.server_queue(self.topic, self.server_name),
                routes.fanout_queue(self.topic, self.server_name)]

    def handle(self, body: dict, message: Message) -> None:
        if self.dedup is not None and not self.dedup.first_time(body["id"]):
            log.info("%s: dropping duplicate message %s", self.name, body["id"])
            return
        deadline = body.get("deadline")
        if deadline is not None and time.time() > deadline:
            log.info("%s: dropping expired call %s", self.name, body["id"])
            return
        reply: dict[str, Any] = {"correlation_id": body["id"]}
        try:
            reply["result"] = self._dispatch(body["method"], body.get("payload") or {})
        except Exception as exc:
            if not body.get("reply_to"):
                raise
            reply["error"] = {"type": type(exc).__name__, "message": str(exc)}
        reply_to = body.get("reply_to")
        if reply_to:
            reply["id"] = body["id"] + ".reply"
            self.bus.publisher.publish(reply, Queue(reply_to, routing_key=reply_to), declare=[])

    def _dispatch(self, method: str, payload: dict) -> Any:
        """Run ``endpoints.<method>``: a public method, and one of the endpoints'
        ``RPC_METHODS`` when they declare them (an object that is more than its
        endpoints, such as a compute agent with its lifecycle, declares them)."""
        declared = getattr(self.endpoints, "RPC_METHODS", None)
        if method.startswith("_") or (declared is not None and method not in declared):
            raise AttributeError(f"{self.topic} has no method {method!r}")
        handler = getattr(self.endpoints, method, None)
        if not callable(handler):
            raise AttributeError(f"{self.topic} has no method {method!r}")
        return handler(**payload)

    def on_stopped(self) -> None:
        if self.bus.amqp:
            return  # the fanout queue is auto-delete
        with self.bus.connection.clone() as conn:
            name = self.bus.routes.fanout_queue(self.topic, self.server_name).name
            transports.delete_virtual_queue(conn.default_channel, name)


class NotificationListener(_ConsumerThread):
    """Calls ``handler(event_type, payload)`` for each notification of one priority."""

    def __init__(self, bus: Bus, handler: Callable[[str, dict], None], priority: str) -> None:
        super().__init__(bus)
        self.handler = handler
        self.priority = priority
        self.name = f"notifications-{priority}"

    def start(self, timeout: float = 10.0) -> None:
        # Declared (and an unbounded one replaced) before consuming: a consumer
        # declaring it with other arguments would fail with no way to recover.
        self.bus.declare_notifications(self.priority)
        super().start(timeout)

    def queues(self) -> list[Queue]:
        return [self.bus.routes.notifications_queue(self.priority)]

    def handle(self, body: dict, message: Message) -> None:
        self.handler(body["event_type"], body["payload"])


def stop_consumers(consumers: Sequence[interfaces.Consumer], timeout: float) -> bool:
    """Stop every consumer: all stop taking messages at once, then each gets
    what is left of ``timeout`` seconds to finish the message in hand. False
    when some did not: their messages, unacknowledged, go back to the queue
    (RabbitMQ redelivers them to another worker) once the process exits."""
    for consumer in consumers:
        consumer.request_stop()
    deadline = time.monotonic() + timeout
    finished = True
    for consumer in consumers:
        finished = consumer.stop(max(0.0, deadline - time.monotonic())) and finished
    if not finished:
        log.warning("messages still in hand after %.1f s: left unacknowledged for "
                    "redelivery", timeout)
    return finished
