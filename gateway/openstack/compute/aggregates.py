"""``os-aggregates``: host aggregates, their hosts and metadata (admin only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connexion import NoContent

from core import errors
from core.compute.aggregates import AggregateService, AggregateView
from gateway.openstack.compute import microversions
from gateway.openstack.compute.base import ComputeDeps, Handler


def _time(value: datetime | None) -> str | None:
    """Nova's aggregate times: microseconds, no zone."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value is not None else None


def aggregate_view(a: AggregateView, with_members: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": a.id, "name": a.name, "availability_zone": a.availability_zone,
        "created_at": _time(a.created_at), "updated_at": _time(a.updated_at),
        "deleted": False, "deleted_at": None}
    if with_members:
        out["hosts"] = list(a.hosts)
        out["metadata"] = dict(a.metadata)
    if microversions.current() >= (2, 41):
        out["uuid"] = a.uuid
    return out


class Aggregates(Handler):
    def __init__(self, deps: ComputeDeps) -> None:
        super().__init__(deps)
        self.aggregates: AggregateService = deps.aggregates

    def list(self):
        return {"aggregates": [aggregate_view(a) for a in
                               self.aggregates.list_all(self.context())]}

    def create(self, body: dict):
        given = body["aggregate"]
        made = self.aggregates.create(self.context(), given["name"],
                                      given.get("availability_zone"))
        # Nova's create answers without hosts and metadata
        return {"aggregate": aggregate_view(made, with_members=False)}

    def show(self, aggregate_id: str):
        return {"aggregate": aggregate_view(self.aggregates.get(self.context(), aggregate_id))}

    def update(self, aggregate_id: str, body: dict):
        return {"aggregate": aggregate_view(self.aggregates.update(
            self.context(), aggregate_id, dict(body["aggregate"])))}

    def delete(self, aggregate_id: str):
        self.aggregates.delete(self.context(), aggregate_id)
        return NoContent, 200

    def images(self, aggregate_id: str, body: dict):
        """``POST /os-aggregates/{id}/images`` (2.81): each host caches the images."""
        microversions.require((2, 81))
        self.deps.image_cache.cache_images(self.context(), aggregate_id,
                                           [item["id"] for item in body["cache"]])
        return NoContent, 202

    def action(self, aggregate_id: str, body: dict):
        ctx = self.context()
        if "add_host" in body:
            done = self.aggregates.add_host(ctx, aggregate_id, body["add_host"]["host"])
        elif "remove_host" in body:
            done = self.aggregates.remove_host(ctx, aggregate_id, body["remove_host"]["host"])
        elif "set_metadata" in body:
            done = self.aggregates.set_metadata(ctx, aggregate_id,
                                                body["set_metadata"]["metadata"])
        else:
            raise errors.InvalidInput("Invalid request body: unknown aggregate action.")
        return {"aggregate": aggregate_view(done)}
