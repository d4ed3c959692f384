"""Domain exceptions raised by core services.

Each edge (the OpenStack JSON APIs, the EC2 Query API) maps these to its own
wire format in exactly one table; services never see status codes. So that an
edge can choose its own code without asking again, an error carries structure
besides its message:

- ``kind`` and ``id``: the kind of resource (a :data:`ResourceKind`) and the
  identifier the caller gave for it (``NotFound(kind="image", id=...)``);
- ``param``: the request parameter at fault (:class:`InvalidInput`);
- ``state``: the state that stood in the way (:class:`Conflict`);
- ``resources``, ``requested``, ``used``, ``allowed``: the quota exceeded
  (:class:`QuotaExceeded`).

The message is the OpenStack dialect's wording (Nova's, Keystone's, Glance's):
an edge that words errors otherwise builds its own from the fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

ResourceKind = Literal[
    # compute
    "instance", "flavor", "key_pair", "server_group", "availability_zone", "host",
    "compute_service", "hypervisor", "instance_action", "metadata_item", "server_tag",
    "aggregate", "console",
    # network
    "security_group", "security_group_rule", "floating_ip", "floating_ip_association",
    "fixed_ip", "network", "subnet", "port", "router", "vpc", "network_tag",
    "route_table", "internet_gateway", "dhcp_options", "network_interface_attachment",
    # image
    "image", "image_member", "image_tag", "image_data",
    # volume
    "volume", "snapshot",
    # identity
    "user", "group", "project", "domain", "role", "implied_role", "credential",
    "application_credential", "region", "service", "endpoint", "token",
    # the EC2 dialect's own objects
    "tag", "reservation",
]
KINDS: tuple[str, ...] = get_args(ResourceKind)


class CoreError(Exception):
    """Base of every domain error; ``message`` is safe to show to the caller."""

    default_message = "An error occurred."

    def __init__(self, message: str | None = None, *, kind: ResourceKind | None = None,
                 id: str | None = None, **details: Any) -> None:
        self.message = message or self.default_message
        self.kind: ResourceKind | None = kind
        self.id = id
        self.details: dict[str, object] = details
        super().__init__(self.message)


class InvalidInput(CoreError):
    """The request is wrong; ``param`` names the parameter at fault, when one is."""

    default_message = "The request is invalid."

    def __init__(self, message: str | None = None, *, param: str | None = None,
                 kind: ResourceKind | None = None, id: str | None = None,
                 **details: Any) -> None:
        super().__init__(message, kind=kind, id=id, **details)
        self.param = param


class InvalidReference(InvalidInput):
    """The request names a resource (``kind``, ``id``; ``by`` the key that named
    it, when not its id) that does not exist or that the caller may not use: a
    bad parameter to the OpenStack APIs (Nova answers a boot naming an unknown
    image with 400), the kind's ``.NotFound`` to EC2 (``InvalidAMIID.NotFound``)."""

    def __init__(self, message: str | None = None, *, kind: ResourceKind, id: str | None,
                 by: str | None = None, param: str | None = None, **details: Any) -> None:
        super().__init__(message, param=param, kind=kind, id=id, **details)
        self.by = by


class ReferenceUnavailable(InvalidInput):
    """The request names a resource that exists but is not usable now
    (``state``): an image that is not active (EC2's ``InvalidAMIID.Unavailable``)."""

    def __init__(self, message: str | None = None, *, kind: ResourceKind,
                 id: str | None, state: str | None = None, param: str | None = None,
                 **details: Any) -> None:
        super().__init__(message, param=param, kind=kind, id=id, **details)
        self.state = state


class LimitExceeded(InvalidInput):
    """A limit of one object (tags per resource, rules per group) would be
    passed: ``limit`` names it and ``allowed`` is its value."""

    def __init__(self, message: str | None = None, *, limit: str, allowed: int,
                 kind: ResourceKind | None = None, id: str | None = None,
                 **details: Any) -> None:
        super().__init__(message, kind=kind, id=id, **details)
        self.limit = limit
        self.allowed = allowed


class Unauthorized(CoreError):
    """Authentication failed: bad or missing credentials, invalid token."""

    default_message = "The request you have made requires authentication."


class Forbidden(CoreError):
    """The caller is authenticated but not allowed to do this."""

    default_message = "You are not authorized to perform the requested action."


class NotFound(CoreError):
    """No ``kind`` with ``id`` that the caller may see (``ids``: several at once;
    ``by``: the key that named it, when not its id: ``name``, ``address``)."""

    default_message = "Could not find the requested resource."

    def __init__(self, message: str | None = None, *, kind: ResourceKind | None = None,
                 id: str | None = None, ids: Sequence[str] | None = None,
                 by: str | None = None, **details: Any) -> None:
        ids = list(ids) if ids else ([id] if id is not None else [])
        super().__init__(message, kind=kind, id=id if id is not None else
                         (ids[0] if ids else None), **details)
        self.ids = ids
        self.by = by


class Conflict(CoreError):
    """The resource (``kind``, ``id``) is not in a state that allows the
    request (``state``), or the request clashes with another one."""

    default_message = "Conflict occurred attempting to store the resource."

    def __init__(self, message: str | None = None, *, kind: ResourceKind | None = None,
                 id: str | None = None, state: str | None = None,
                 **details: Any) -> None:
        super().__init__(message, kind=kind, id=id, **details)
        self.state = state


class QuotaExceeded(Forbidden):
    """A project's quota: ``resources`` would pass their limits; per resource,
    what was ``requested``, what is ``used`` and what is ``allowed``."""

    default_message = "Quota exceeded."

    def __init__(self, message: str | None = None, *, resources: Sequence[str] = (),
                 requested: Mapping[str, int] | None = None,
                 used: Mapping[str, int] | None = None,
                 allowed: Mapping[str, int] | None = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.resources = list(resources)
        self.requested = dict(requested or {})
        self.used = dict(used or {})
        self.allowed = dict(allowed or {})


class PayloadTooLarge(CoreError):
    default_message = "The request body is too large."


class ServiceUnavailable(CoreError):
    """A dependency (database, message bus) is temporarily unreachable, or busy;
    ``retry_after``: the seconds after which a retry may succeed."""

    default_message = "The service is temporarily unavailable; retry later."

    def __init__(self, message: str | None = None, *, retry_after: int = 1,
                 **details: Any) -> None:
        super().__init__(message, **details)
        self.retry_after = retry_after


class DatabaseUnavailable(ServiceUnavailable):
    """The database refuses connections, or lost one during the request: the
    request's transaction was rolled back (a commit cut short may or may not
    have landed), and retrying once the database is back is safe for reads and
    for the idempotent writes."""

    default_message = "The database is temporarily unavailable; retry later."

    def __init__(self, message: str | None = None, *, retry_after: int = 5,
                 **details: Any) -> None:
        super().__init__(message, retry_after=retry_after, **details)
