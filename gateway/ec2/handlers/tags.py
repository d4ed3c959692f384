"""CreateTags, DeleteTags and DescribeTags over :mod:`core.tagging`.

One call may name objects of several kinds (``ResourceId.N`` mixing ``i-``,
``ami-``, ``sg-`` …); it changes nothing unless every ID names one of the
caller's objects, and an ID that does not answers the kind's own NotFound
code, as AWS does (the tagging service says which kind; the error table
names the code).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.tagging.rules import (
    RESOURCE_TYPES,
    Resource,
    TagRecord,
)
from core.tagging.service import TagService
from gateway.ec2.api import Call, action
from gateway.ec2.errors import Ec2Error
from gateway.ec2.filters import Filters
from gateway.ec2.handlers.base import Ec2Deps, Handler
from gateway.ec2.paging import page

MAX_RESOURCES = 1000  # per call, as AWS
# The rules a tag change on an instance meets; DryRun checks them.
CREATE_RULES = ("os_compute_api:server-metadata:create",)
DELETE_RULES = ("os_compute_api:server-metadata:delete",)
LIST_RULES = ("os_compute_api:servers:detail",)
FILTERS: Filters[TagRecord] = Filters({
    "key": lambda t: t.key,
    "value": lambda t: t.value,
    "resource-id": lambda t: t.resource_id,
    "resource-type": lambda t: t.resource_type,
}, tags=lambda t: {t.key: t.value})  # tag:K on one tag: its key is K, its value matches


def order_key(record: TagRecord) -> str:
    return f"{record.resource_id}\x00{record.key}"


def check_max_results(value: int | None) -> None:
    if value is not None and not 5 <= value <= 1000:
        raise Ec2Error("InvalidParameterValue",
                       f"Value ( {value} ) for parameter maxResults is invalid. "
                       "Expecting a value between 5 and 1000.")


def tag_pairs(items: Sequence[Mapping[str, Any]], *, need_value: bool
              ) -> list[tuple[str, str | None]]:
    """``Tag.N`` as (key, value) pairs; a missing value is "" where the tag is
    being set (``need_value``) and "any value" where it is being deleted."""
    out = []
    for item in items:
        key = item.get("Key")
        if key is None:
            raise Ec2Error("InvalidParameterValue", "Every tag needs a Key.")
        value = item.get("Value")
        out.append((key, "" if value is None and need_value else value))
    return out


def tag_specifications(call: Call, resource_type: str) -> dict[str, str]:
    """The tags ``TagSpecification.N`` asks for on the object a call creates
    (of ``resource_type``); InvalidParameterValue for another type."""
    tags: dict[str, str] = {}
    for spec in call.get("TagSpecifications", []):
        kind = spec.get("ResourceType")
        if kind != resource_type:
            raise Ec2Error("InvalidParameterValue",
                           f"'{kind}' is not a valid taggable resource type for this "
                           f"operation: only '{resource_type}' is.")
        for key, value in tag_pairs(spec.get("Tags") or [], need_value=True):
            tags[key] = value or ""
    return tags


class Tags(Handler):
    def __init__(self, deps: Ec2Deps) -> None:
        super().__init__(deps)
        self.tags: TagService = deps.tags

    def _resources(self, call: Call) -> list[Resource]:
        values = call.get("Resources", [])
        if not values:
            raise Ec2Error("MissingParameter",
                           "The request must contain the parameter resourceIdSet")
        if len(values) > MAX_RESOURCES:
            raise Ec2Error("InvalidParameterValue",
                           f"At most {MAX_RESOURCES} resource IDs are allowed per request.")
        return self.tags.resolve(call.ctx, values)

    @action("CreateTags", rules=CREATE_RULES)
    def create_tags(self, call: Call) -> None:
        items = call.get("Tags", [])
        if not items:
            raise Ec2Error("MissingParameter", "The request must contain the parameter tagSet")
        tags: dict[str, str] = {}
        for key, value in tag_pairs(items, need_value=True):
            tags[key] = value or ""  # the last of a repeated key wins
        resources = self._resources(call)
        self.tags.create(call.ctx, resources, tags)
        return None

    @action("DeleteTags", rules=DELETE_RULES)
    def delete_tags(self, call: Call) -> None:
        """Without ``Tag.N``, every tag but AWS's own (``aws:``) goes, ``Name``
        too, as in AWS."""
        items = call.get("Tags")
        pairs = tag_pairs(items, need_value=False) if items else None
        resources = self._resources(call)
        self.tags.delete(call.ctx, resources, pairs)
        return None

    @action("DescribeTags", rules=LIST_RULES)
    def describe_tags(self, call: Call) -> dict[str, Any]:
        max_results = call.get("MaxResults")
        check_max_results(max_results)
        filters = call.get("Filters")
        matches = FILTERS.matcher(filters)  # bad filter names fail before any reading
        types = _wanted_types(filters)
        records = [r for r in self.tags.describe(call.ctx, types) if matches(r)]
        chunk, token = page(records, order_key, max_results, call.get("NextToken"))
        return {"Tags": [{"ResourceId": r.resource_id, "ResourceType": r.resource_type,
                          "Key": r.key, "Value": r.value} for r in chunk],
                "NextToken": token}


def _wanted_types(filters: Sequence[Mapping[str, Any]] | None) -> set[str] | None:
    """The resource types a plain ``resource-type`` filter narrows the reading
    to (None: all); wildcard values read all and filter afterwards."""
    wanted: set[str] | None = None
    for f in filters or ():
        if f.get("Name") != "resource-type":
            continue
        values = set(f.get("Values") or [])
        if any(ch in v for v in values for ch in "*?\\"):
            continue
        wanted = values if wanted is None else wanted & values
    if wanted is not None:
        wanted &= set(RESOURCE_TYPES.values())
    return wanted
