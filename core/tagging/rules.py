"""EC2's tagging rules: which IDs are taggable, AWS's limits on keys, values and
tags per object, and the values that name a tagged object.

At most 50 tags per object, keys of 1-128 characters that do not start with
``aws:``, values of at most 256 characters (255 on instances, whose tags are
a server's name and metadata).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from core import errors
from core.idmap.ids import Kind

MAX_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256
MAX_SERVER_VALUE = 255  # Nova's limit on server names and metadata values
RESERVED_PREFIX = "aws:"
NAME = "Name"

# DescribeTags' resource-type of each taggable kind; reservations and
# associations are not taggable.
RESOURCE_TYPES: Mapping[Kind, str] = {
    Kind.INSTANCE: "instance", Kind.IMAGE: "image", Kind.SECURITY_GROUP: "security-group",
    Kind.KEY_PAIR: "key-pair", Kind.ADDRESS: "elastic-ip", Kind.VOLUME: "volume",
    Kind.SNAPSHOT: "snapshot", Kind.VPC: "vpc", Kind.SUBNET: "subnet",
    Kind.ROUTE_TABLE: "route-table", Kind.INTERNET_GATEWAY: "internet-gateway",
    Kind.DHCP_OPTIONS: "dhcp-options", Kind.NETWORK_INTERFACE: "network-interface",
}
_BY_PREFIX = {kind.value: kind for kind in RESOURCE_TYPES}


class UnknownResourceId(errors.InvalidInput):
    """An ID of no taggable kind (EC2's ``InvalidID``)."""

    def __init__(self, value: str) -> None:
        super().__init__(f"The ID '{value}' is not valid", param="ResourceId", id=value)
        self.value = value


class TagLimitExceeded(errors.LimitExceeded):
    """More than :data:`MAX_TAGS` tags on one object."""

    def __init__(self, message: str) -> None:
        super().__init__(message, limit="tags", allowed=MAX_TAGS, kind="tag")


@dataclass(frozen=True)
class Resource:
    """A taggable object named by its EC2 ID."""

    kind: Kind
    ec2_id: str
    os_uuid: str


@dataclass(frozen=True)
class TagRecord:
    """One tag as DescribeTags lists it."""

    resource_id: str
    resource_type: str
    key: str
    value: str


# ---- rules ---------------------------------------------------------------------

def kind_of(value: str) -> Kind:
    """The taggable kind an EC2 ID names by its prefix; UnknownResourceId if
    none. The ID's digits are checked by :func:`canonical_id`."""
    prefix = value.strip().lower().rpartition("-")[0]
    kind = _BY_PREFIX.get(prefix)
    if kind is None:
        raise UnknownResourceId(value)
    return kind


def check_key(key: str) -> None:
    if not key:
        raise errors.InvalidInput("Tag keys must not be empty.")
    if len(key) > MAX_KEY:
        raise errors.InvalidInput(f"Tag key exceeds the maximum length of {MAX_KEY} "
                                  "characters.")
    if key.lower().startswith(RESERVED_PREFIX):
        raise errors.InvalidInput(f"Value ( {key} ) for parameter key is invalid. Tag keys "
                                  "starting with 'aws:' are reserved for internal use")


def check_tags(tags: Mapping[str, str]) -> None:
    """InvalidInput unless every key and value is one EC2 accepts."""
    for key, value in tags.items():
        check_key(key)
        if len(value) > MAX_VALUE:
            raise errors.InvalidInput(f"Tag value exceeds the maximum length of {MAX_VALUE} "
                                      "characters.")
    if len(tags) > MAX_TAGS:
        raise TagLimitExceeded(f"The maximum number of tags per resource is {MAX_TAGS}.")


def check_limit(current: Iterable[str], adding: Iterable[str], ec2_id: str) -> None:
    if len(set(current) | set(adding)) > MAX_TAGS:
        raise TagLimitExceeded(f"Tag limit exceeded: {ec2_id} would have more than "
                               f"{MAX_TAGS} tags.")


def matches(key: str, value: str, tags: Sequence[tuple[str, str | None]] | None) -> bool:
    """Whether DeleteTags' ``tags`` ((key, value) pairs, value None for any;
    None for all tags) take the tag ``key`` = ``value``."""
    if key.lower().startswith(RESERVED_PREFIX):
        return False  # AWS never deletes its own tags
    if tags is None:
        return True
    return any(k == key and (v is None or v == value) for k, v in tags)
