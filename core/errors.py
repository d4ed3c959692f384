"""Domain exceptions raised by core services.

Each edge (the OpenStack JSON APIs, the EC2 Query API) maps these to its own
wire format in exactly one table; services never see status codes.
"""

from __future__ import annotations


class CoreError(Exception):
    """Base of every domain error; ``message`` is safe to show to the caller."""

    default_message = "An error occurred."

    def __init__(self, message: str | None = None, **details: object) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)


class InvalidInput(CoreError):
    default_message = "The request is invalid."


class Unauthorized(CoreError):
    """Authentication failed: bad or missing credentials, invalid token."""

    default_message = "The request you have made requires authentication."


class Forbidden(CoreError):
    """The caller is authenticated but not allowed to do this."""

    default_message = "You are not authorized to perform the requested action."


class NotFound(CoreError):
    default_message = "Could not find the requested resource."


class Conflict(CoreError):
    default_message = "Conflict occurred attempting to store the resource."


class QuotaExceeded(Forbidden):
    default_message = "Quota exceeded."


class PayloadTooLarge(CoreError):
    default_message = "The request body is too large."


class ServiceUnavailable(CoreError):
    """A dependency (database, message bus) is temporarily unreachable."""

    default_message = "The service is temporarily unavailable; retry later."
