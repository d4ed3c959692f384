"""What the VPC family's handlers share: EC2 IDs of their objects, their
tags, TagSpecifications on create, and describe's paging rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from core.context import RequestContext
from core.idmap.ids import Kind
from core.tagging.rules import Resource
from gateway.ec2.api import Call
from gateway.ec2.errors import Ec2Error
from gateway.ec2.handlers.base import Handler
from gateway.ec2.handlers.tags import tag_specifications
from gateway.ec2.paging import page, reject_ids_with_max_results

GET_ROUTER = "network:get_router"
UPDATE_ROUTER = "network:update_router"


def tag_dict(item: Mapping[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in item.get("Tags") or []}


class VpcHandler(Handler):
    def ec2(self, kind: Kind, objects: Iterable[tuple[str, str]]) -> dict[str, str]:
        """EC2 IDs by OpenStack id (minted on first sight)."""
        return self.deps.ids.ec2_ids_for(kind, objects)

    def tags(self, ctx: RequestContext, kind: Kind, uuids: Iterable[str]
             ) -> dict[str, list[dict[str, str]]]:
        return self.deps.tags.tags_of(ctx, kind, uuids)

    def wanted(self, call: Call, kind: Kind, param: str) -> list[str] | None:
        """The OpenStack ids of the objects ``param`` names (None: all)."""
        values = call.get(param, [])
        if not values:
            return None
        found = self.os_ids(kind, values)
        return list(found.values())

    def tag_new(self, call: Call, kind: Kind, resource_type: str, os_uuid: str,
                ec2_id: str) -> list[dict[str, str]]:
        tags = tag_specifications(call, resource_type)
        if tags:
            self.deps.tags.create(call.ctx, [Resource(kind, ec2_id, os_uuid)], tags)
        return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]

    @staticmethod
    def paged(call: Call, items: Sequence[dict[str, Any]], key: str, ids_param: str,
              wire: str) -> tuple[list[dict[str, Any]], str | None]:
        max_results = call.get("MaxResults")
        reject_ids_with_max_results(call.get(ids_param, []), max_results, wire)
        if max_results is not None and not 5 <= max_results <= 1000:
            raise Ec2Error("InvalidParameterValue",
                           f"Value ( {max_results} ) for parameter maxResults is invalid. "
                           "Expecting a value between 5 and 1000.")
        ordered = sorted(items, key=lambda i: i[key])
        return page(ordered, lambda i: i[key], max_results, call.get("NextToken"))

    @staticmethod
    def required(call: Call, name: str, wire: str) -> Any:
        value = call.get(name)
        if value is None or value == "":
            raise Ec2Error("MissingParameter",
                           f"The request must contain the parameter {wire}")
        return value
