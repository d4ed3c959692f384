"""Notification queues are bounded on the real RabbitMQ (127.0.0.1:5672): a
message TTL and a length limit dropping the oldest, from settings; a queue
declared before the bounds is replaced rather than failing every publish."""

from __future__ import annotations

import queue
import time

import pytest
from kombu import Connection, Exchange, Queue

from core.messaging import Bus
from core.messaging.transports import NotificationBounds
from core.settings import load_settings
from tests.conftest import unique

WAIT = 10.0


def depth(url: str, name: str) -> int:
    """How many messages the broker holds in queue ``name``."""
    with Connection(url) as conn:
        return Queue(name).bind(conn.channel()).queue_declare(passive=True).message_count


def drain(url: str, name: str) -> list[int]:
    """The ``n`` of every message in queue ``name``, oldest first (taken off it)."""
    out = []
    with Connection(url) as conn:
        bound = Queue(name).bind(conn.channel())
        while (message := bound.get(accept=["json"], no_ack=True)) is not None:
            out.append(message.payload["payload"]["n"])
    return out


def test_the_queue_keeps_only_the_newest_up_to_its_length(rabbitmq_url):
    bus = Bus(rabbitmq_url, namespace=unique("bounded"),
              notifications=NotificationBounds(ttl_seconds=3600, max_length=5))
    try:
        for n in range(12):
            bus.notify("test.event", {"n": n})
        name = bus.routes.notifications_queue("info").name
        assert depth(rabbitmq_url, name) == 5
        assert drain(rabbitmq_url, name) == [7, 8, 9, 10, 11]
    finally:
        bus.close()


def test_notifications_expire_after_their_ttl(rabbitmq_url):
    bus = Bus(rabbitmq_url, namespace=unique("ttl"),
              notifications=NotificationBounds(ttl_seconds=1, max_length=100))
    try:
        bus.notify("test.event", {"n": 1})
        name = bus.routes.notifications_queue("info").name
        assert depth(rabbitmq_url, name) == 1
        deadline = time.monotonic() + WAIT
        while depth(rabbitmq_url, name) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert depth(rabbitmq_url, name) == 0
    finally:
        bus.close()


def test_the_defaults_come_from_settings(rabbitmq_url):
    settings = load_settings({}, transport_url=rabbitmq_url)
    assert (settings.notification_ttl, settings.notification_max_length) == (3600, 10_000)
    bus = Bus.from_settings(load_settings({"NIMBUS_NOTIFICATION_TTL": "60",
                                           "NIMBUS_NOTIFICATION_MAX_LENGTH": "7"},
                                          transport_url=rabbitmq_url))
    assert bus.routes.notifications_queue("info").queue_arguments == {
        "x-message-ttl": 60_000, "x-max-length": 7, "x-overflow": "drop-head"}
    with pytest.raises(ValueError, match="notification_ttl"):
        load_settings({"NIMBUS_NOTIFICATION_TTL": "-1"})
    unbounded = NotificationBounds(ttl_seconds=0, max_length=0)
    assert unbounded.queue_arguments() == {}


def test_an_unbounded_queue_from_before_is_replaced(rabbitmq_url):
    """RabbitMQ answers a redeclaration with other arguments 406 PRECONDITION_FAILED
    (and closes the channel): the old unbounded queue, with its backlog, is
    deleted and declared anew with the bounds, by a publisher or a listener."""
    namespace = unique("upgrade")
    exchange = Exchange(f"{namespace}.notifications", type="topic", durable=True)
    old = Queue(f"{namespace}.notifications.info", exchange, routing_key="info",
                durable=True)
    with Connection(rabbitmq_url) as conn:
        producer = conn.Producer(serializer="json")
        for n in range(20):  # what a release without the bounds left behind
            producer.publish({"event_type": "old", "payload": {"n": n}}, exchange=exchange,
                             routing_key="info", declare=[old], delivery_mode=2)
    assert depth(rabbitmq_url, old.name) == 20

    bus = Bus(rabbitmq_url, namespace=namespace,
              notifications=NotificationBounds(ttl_seconds=3600, max_length=3))
    try:
        for n in range(5):
            bus.notify("test.event", {"n": n})
        assert drain(rabbitmq_url, old.name) == [2, 3, 4]
    finally:
        bus.close()

    # A listener started first does the same.
    with Connection(rabbitmq_url) as conn:
        Queue(old.name).bind(conn.channel()).delete()
        conn.Producer(serializer="json").publish(
            {"event_type": "old", "payload": {"n": 0}}, exchange=exchange,
            routing_key="info", declare=[old])
    bus = Bus(rabbitmq_url, namespace=namespace,
              notifications=NotificationBounds(ttl_seconds=3600, max_length=3))
    got: queue.Queue = queue.Queue()
    listener = bus.listen_notifications(lambda event, payload: got.put(payload["n"]))
    listener.start()
    try:
        bus.notify("test.event", {"n": 42})
        assert got.get(timeout=WAIT) == 42
    finally:
        listener.stop()
        bus.close()
