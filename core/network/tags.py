"""Neutron's tags (``standard-attr-tag``): plain strings on any resource,
read with the resource's ``get_*`` rule and changed with its ``update_*`` rule."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select

from core import errors
from core.context import RequestContext
from core.db import Database
from core.network.errors import TagNotFound
from core.network.models import NetworkTag

MAX_TAGS = 50
MAX_TAG_LENGTH = 255


def check_tag(tag: Any) -> str:
    if not isinstance(tag, str) or not tag or len(tag) > MAX_TAG_LENGTH:
        raise errors.InvalidInput(f"Invalid input for tags. Reason: '{tag}' is not a valid "
                                  f"tag: a string of 1 to {MAX_TAG_LENGTH} characters.",
                                  param="tags")
    return tag


class NetworkTags:
    """``finders`` map a URL collection to a function (ctx, id, write) that
    returns the resource's id once the caller may read (or change) it."""

    def __init__(self, db: Database,
                 finders: Mapping[str, Callable[[RequestContext, str, bool], str]]) -> None:
        self.db = db
        self.finders = dict(finders)

    def _resource(self, ctx: RequestContext, collection: str, id: str, write: bool) -> str:
        finder = self.finders.get(collection)
        if finder is None:
            raise errors.NotFound(f"Tags are not supported on {collection}.", kind="network_tag",
                                  id=collection)
        return finder(ctx, id, write)

    def get(self, ctx: RequestContext, collection: str, id: str) -> list[str]:
        rid = self._resource(ctx, collection, id, False)
        with self.db.session() as s:
            return list(s.scalars(select(NetworkTag.tag).where(NetworkTag.resource_id == rid)
                                  .order_by(NetworkTag.tag)))

    def check(self, ctx: RequestContext, collection: str, id: str, tag: str) -> None:
        if tag not in self.get(ctx, collection, id):
            raise TagNotFound(collection, id, tag)

    def replace(self, ctx: RequestContext, collection: str, id: str,
                tags: Sequence[Any]) -> list[str]:
        if not isinstance(tags, list):
            raise errors.InvalidInput("Invalid input for tags: a list is required.",
                                      param="tags")
        wanted = list(dict.fromkeys(check_tag(t) for t in tags))
        if len(wanted) > MAX_TAGS:
            raise errors.InvalidInput(f"Too many tags: at most {MAX_TAGS} per resource.",
                                      param="tags")
        rid = self._resource(ctx, collection, id, True)
        with self.db.session() as s:
            s.execute(delete(NetworkTag).where(NetworkTag.resource_id == rid))
            s.add_all(NetworkTag(resource_id=rid, tag=t, resource_type=collection)
                      for t in wanted)
        return sorted(wanted)

    def add(self, ctx: RequestContext, collection: str, id: str, tag: str) -> None:
        check_tag(tag)
        rid = self._resource(ctx, collection, id, True)
        with self.db.session() as s:
            current = set(s.scalars(select(NetworkTag.tag).where(NetworkTag.resource_id == rid)))
            if tag in current:
                return
            if len(current) >= MAX_TAGS:
                raise errors.InvalidInput(f"Too many tags: at most {MAX_TAGS} per resource.",
                                          param="tags")
            s.add(NetworkTag(resource_id=rid, tag=tag, resource_type=collection))

    def remove(self, ctx: RequestContext, collection: str, id: str, tag: str) -> None:
        rid = self._resource(ctx, collection, id, True)
        with self.db.session() as s:
            result = s.execute(delete(NetworkTag).where(NetworkTag.resource_id == rid,
                                                        NetworkTag.tag == tag))
            if not result.rowcount:  # type: ignore[attr-defined]
                raise TagNotFound(collection, id, tag)

    def clear(self, ctx: RequestContext, collection: str, id: str) -> None:
        rid = self._resource(ctx, collection, id, True)
        with self.db.session() as s:
            s.execute(delete(NetworkTag).where(NetworkTag.resource_id == rid))
