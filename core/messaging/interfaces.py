"""What services need of the message bus, as a protocol: :class:`~core.messaging.bus.Bus`
implements it over kombu (memory, SQLAlchemy or RabbitMQ), and tests may pass
a recording stand-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Consumer(Protocol):
    """A server or listener consuming in a thread of its own."""

    def start(self, timeout: float = 10.0) -> None: ...

    def request_stop(self) -> None:
        """Take no more messages (the one in hand is still finished)."""

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop once the message in hand is finished, waiting up to ``timeout``
        seconds; False if it was not (it goes back to the queue)."""


class MessageBus(Protocol):
    def call(self, topic: str, method: str, payload: dict, timeout: float = 30.0,
             server: str | None = None) -> Any:
        """Run ``method`` on one server of ``topic`` (or on ``server``) and return
        its reply; MessagingTimeout or RemoteError otherwise."""

    def cast(self, topic: str, method: str, payload: dict, server: str | None = None) -> None:
        """Queue ``method`` for one server of ``topic`` (or ``server``); no reply."""

    def notify(self, event_type: str, payload: dict, priority: str = "info") -> None:
        """Publish a notification (``compute.instance.create.end``)."""

    def serve(self, topic: str, server_name: str, endpoints: object,
              dedup: Any = None) -> Consumer:
        """A server running ``endpoints.<method>(**payload)`` for ``topic``."""

    def listen_notifications(self, handler: Callable[[str, dict], None],
                             priority: str = "info") -> Consumer:
        """A listener calling ``handler(event_type, payload)``."""

    def close(self) -> None: ...
