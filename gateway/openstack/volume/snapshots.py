"""``/v3/snapshots``: create, list, show, update, delete and metadata
(``cinder/api/v3/snapshots.py``). The list and detail views are the same
fields; show and detail add the extended attributes (progress, project)."""

from __future__ import annotations

from typing import Any

from connexion import NoContent, request

from core import errors
from gateway.openstack.volume import microversions, views
from gateway.openstack.volume.base import (
    ACCEPTED,
    Handler,
    member_body,
    parse_bool,
    parse_metadata,
)
from gateway.openstack.volume.query import next_links, parse_list


def _text(attrs: dict[str, Any], key: str, legacy: str) -> str | None:
    value = attrs.get(key, attrs.get(legacy))
    if value is not None and (not isinstance(value, str) or len(value) > 255):
        raise errors.InvalidInput(f"Invalid input for field/attribute {key}: a string of "
                                  "at most 255 characters.", param=key)
    return value


class Snapshots(Handler):
    def _one(self, snap: Any, extended: bool = True) -> dict[str, Any]:
        return {"snapshot": views.snapshot(snap, version=microversions.current(),
                                           extended=extended)}

    def _list(self, detail: bool):
        ctx = self.context()
        params = request.query_params
        req = parse_list(params, "snapshots", ctx.is_admin)
        snaps = self.services.snapshots.list(
            ctx, filters=req.filters, sort=req.sort, limit=req.limit, marker=req.marker,
            offset=req.offset, all_tenants=req.all_tenants, project_id=req.project_id)
        version = microversions.current()
        out: dict[str, Any] = {"snapshots": [
            views.snapshot(s, version=version, extended=detail) for s in snaps]}
        path = "snapshots/detail" if detail else "snapshots"
        link = next_links(f"{self.deps.base}/v3/{ctx.project_id}/{path}", params, req, snaps)
        if link:
            out["snapshots_links"] = link
        return out

    def list(self, **_: Any):
        return self._list(detail=False)

    def detail(self, **_: Any):
        return self._list(detail=True)

    def show(self, snapshot_id: str, **_: Any):
        return self._one(self.services.snapshots.get(self.context(), snapshot_id))

    def create(self, body: Any, **_: Any):
        ctx = self.context()
        attrs = member_body(body, "snapshot")
        volume_id = attrs.get("volume_id")
        if not isinstance(volume_id, str) or not volume_id:
            raise errors.InvalidInput("Invalid input for field/attribute volume_id: "
                                      "'volume_id' is a required property", param="volume_id")
        force = parse_bool(attrs.get("force"), "force")
        if microversions.current() >= (3, 66) and "force" in attrs and not force:
            raise errors.InvalidInput("Since microversion 3.66 the 'force' flag is "
                                      "invalid when false: snapshots of in-use volumes "
                                      "need no flag.", param="force")
        metadata = attrs.get("metadata")
        snap = self.services.snapshots.create(
            ctx, volume_id, name=_text(attrs, "name", "display_name"),
            description=_text(attrs, "description", "display_description"),
            metadata=parse_metadata(metadata) if metadata is not None else None,
            force=force or microversions.current() >= (3, 66))
        return self._one(snap, extended=False), 202

    def update(self, snapshot_id: str, body: Any, **_: Any):
        ctx = self.context()
        attrs = member_body(body, "snapshot")
        changes = {}
        for key, legacy in (("name", "display_name"), ("description", "display_description")):
            if key in attrs or legacy in attrs:
                changes[key] = _text(attrs, key, legacy)
        if not changes:
            raise errors.InvalidInput("Invalid input for field/attribute snapshot: at "
                                      "least one of name, description is required.")
        snap = self.services.snapshots.update(ctx, snapshot_id, **changes)
        return self._one(snap, extended=False)

    def delete(self, snapshot_id: str, **_: Any):
        self.services.snapshots.delete(self.context(), snapshot_id)
        return ACCEPTED


class SnapshotMetadata(Handler):
    """``/v3/snapshots/{id}/metadata[/{key}]``."""

    def _get(self, ctx: Any, snapshot_id: str) -> dict[str, str]:
        return self.services.snapshots.metadata(ctx, snapshot_id)

    def list(self, snapshot_id: str, **_: Any):
        return {"metadata": self._get(self.context(), snapshot_id)}

    def merge(self, snapshot_id: str, body: Any, **_: Any):
        ctx = self.context()
        md = parse_metadata(body.get("metadata") if isinstance(body, dict) else None)
        return {"metadata": self.services.snapshots.set_metadata(ctx, snapshot_id, md)}

    def replace(self, snapshot_id: str, body: Any, **_: Any):
        ctx = self.context()
        md = parse_metadata(body.get("metadata") if isinstance(body, dict) else None)
        return {"metadata": self.services.snapshots.set_metadata(ctx, snapshot_id, md,
                                                                 replace=True)}

    def show(self, snapshot_id: str, key: str, **_: Any):
        md = self._get(self.context(), snapshot_id)
        if key not in md:
            raise errors.NotFound(f"Metadata item was not found for snapshot "
                                  f"{snapshot_id}: {key}", kind="metadata_item", id=key)
        return {"meta": {key: md[key]}}

    def set(self, snapshot_id: str, key: str, body: Any, **_: Any):
        ctx = self.context()
        meta = parse_metadata(body.get("meta") if isinstance(body, dict) else None, "meta")
        if list(meta) != [key]:
            raise errors.InvalidInput("Request body and URI mismatch")
        self.services.snapshots.set_metadata(ctx, snapshot_id, meta, replace=False)
        return {"meta": meta}

    def delete(self, snapshot_id: str, key: str, **_: Any):
        self.services.snapshots.delete_metadata_key(self.context(), snapshot_id, key)
        return NoContent, 200


class SnapshotActions(Handler):
    """``POST /v3/snapshots/{id}/action``: the admins' ``os-reset_status`` and
    ``os-force_delete``."""

    def act(self, snapshot_id: str, body: Any, **_: Any):
        if not isinstance(body, dict) or len(body) != 1:
            raise errors.InvalidInput("There is no such action: the body names one action.")
        action, args = next(iter(body.items()))
        ctx = self.context()
        if action == "os-force_delete":
            self.services.snapshots.force_delete(ctx, snapshot_id)
        elif action == "os-reset_status":
            status = args.get("status") if isinstance(args, dict) else None
            if not isinstance(status, str) or not status:
                raise errors.InvalidInput("Must specify 'status'", param="status")
            self.services.snapshots.reset_status(ctx, snapshot_id, status.lower())
        else:
            raise errors.InvalidInput(f"There is no such action: {action}")
        return ACCEPTED
