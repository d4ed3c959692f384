"""The message bus: RPC (call, cast, fanout) and notifications over kombu."""

from core.messaging.bus import Bus
from core.messaging.dedup import SeenMessages
from core.messaging.errors import MessagingTimeout, RemoteError
from core.messaging.interfaces import MessageBus

__all__ = ["Bus", "MessageBus", "MessagingTimeout", "RemoteError", "SeenMessages"]
