"""``/v2.0/{collection}/{id}/tags[/{tag}]`` (the ``standard-attr-tag``
extension): read, replace and clear a resource's tags, or one tag."""

from __future__ import annotations

from typing import Any

from connexion import NoContent
from starlette.exceptions import HTTPException

from core import errors
from gateway.openstack.network.base import NO_CONTENT, Handler

TAGGED = frozenset(("networks", "subnets", "ports", "routers", "floatingips",
                    "security-groups"))
MAX_TAG = 60  # Neutron's limit (neutron_lib.db.constants)


def _collection(resource_type: str) -> str:
    if resource_type not in TAGGED:
        raise HTTPException(404, detail="The resource could not be found.")
    return resource_type


def _tag(tag: str) -> str:
    if not tag or len(tag) > MAX_TAG:
        raise errors.InvalidInput(f"'{tag[:80]}' is not a valid tag: tags are 1 to "
                                  f"{MAX_TAG} characters.", param="tag")
    return tag


class Tags(Handler):
    @property
    def tags(self) -> Any:
        return self.deps.network.tags

    def list(self, resource_type: str, resource_id: str):
        collection = _collection(resource_type)
        return {"tags": list(self.tags.get(self.context(), collection, resource_id))}

    def replace(self, resource_type: str, resource_id: str, body: Any):
        collection = _collection(resource_type)
        tags = [_tag(t) for t in body["tags"]]
        return {"tags": list(self.tags.replace(self.context(), collection, resource_id,
                                               tags))}

    def clear(self, resource_type: str, resource_id: str):
        collection = _collection(resource_type)
        self.tags.clear(self.context(), collection, resource_id)
        return NO_CONTENT

    def check(self, resource_type: str, resource_id: str, tag: str):
        collection = _collection(resource_type)
        self.tags.check(self.context(), collection, resource_id, tag)
        return NO_CONTENT

    def add(self, resource_type: str, resource_id: str, tag: str):
        collection, tag = _collection(resource_type), _tag(tag)
        self.tags.add(self.context(), collection, resource_id, tag)
        return NoContent, 201

    def remove(self, resource_type: str, resource_id: str, tag: str):
        collection = _collection(resource_type)
        self.tags.remove(self.context(), collection, resource_id, tag)
        return NO_CONTENT
