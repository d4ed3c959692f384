"""Errors raised by the message bus."""

from __future__ import annotations

from core.errors import CoreError, ServiceUnavailable


class MessagingTimeout(ServiceUnavailable):
    """A call got no reply within its timeout (no server, or a slow one)."""

    default_message = "No reply from the message bus within the timeout."


class RemoteError(CoreError):
    """The remote endpoint raised; ``exc_type`` and ``message`` say what it raised."""

    default_message = "The remote endpoint failed."

    def __init__(self, exc_type: str, message: str) -> None:
        super().__init__(f"{exc_type}: {message}", exc_type=exc_type)
        self.exc_type = exc_type
        self.remote_message = message
