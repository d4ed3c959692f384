"""``/v3/volumes``: create, list (summary and detail), show, update, delete,
and the volume's metadata (``cinder/api/v3/volumes.py``,
``cinder/api/v2/volume_metadata.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connexion import NoContent, request

from core import errors
from core.context import RequestContext
from gateway.openstack.volume import microversions, views
from gateway.openstack.volume.base import (
    ACCEPTED,
    Handler,
    given,
    member_body,
    parse_bool,
    parse_metadata,
    parse_size,
)
from gateway.openstack.volume.query import next_links, parse_list

CREATE_KEYS = frozenset({
    "size", "name", "description", "display_name", "display_description", "volume_type",
    "availability_zone", "snapshot_id", "source_volid", "imageRef", "image_id",
    "backup_id", "metadata", "consistencygroup_id", "group_id", "multiattach",
    "scheduler_hints", "source_replica"})
UPDATE_KEYS = ("name", "description", "display_name", "display_description", "metadata")


class VolumeViews(Handler):
    """Volumes as Cinder shows them, with their type names and attachments."""

    def render(self, ctx: RequestContext, volumes: Sequence[Any],
               extended: bool = True) -> list[dict[str, Any]]:
        service = self.services.volumes
        names = service.type_names(volumes)
        attached = [v.id for v in volumes if v.attach_status != "detached"]
        attachments = service.attachments_for(attached) if attached else {}
        version = microversions.current()
        return [views.volume_detail(v, base=self.deps.base, version=version,
                                    is_admin=ctx.is_admin,
                                    type_name=names.get(v.volume_type_id),
                                    attachments=attachments.get(v.id, []),
                                    extended=extended) for v in volumes]

    def one(self, ctx: RequestContext, volume: Any, extended: bool = True) -> dict:
        return {"volume": self.render(ctx, [volume], extended)[0]}


class Volumes(VolumeViews):
    def _list(self, detail: bool):
        ctx = self.context()
        params = request.query_params
        req = parse_list(params, "volumes", ctx.is_admin)
        volumes = self.services.volumes.list(
            ctx, filters=req.filters, sort=req.sort, limit=req.limit, marker=req.marker,
            offset=req.offset, all_tenants=req.all_tenants, project_id=req.project_id)
        items = (self.render(ctx, volumes) if detail else
                 [views.volume_summary(v, self.deps.base) for v in volumes])
        out: dict[str, Any] = {"volumes": items}
        path = "volumes/detail" if detail else "volumes"
        link = next_links(f"{self.deps.base}/v3/{ctx.project_id}/{path}", params, req,
                          volumes)
        if link:
            out["volumes_links"] = link
        if req.with_count and microversions.current() >= (3, 45):
            out["count"] = self.services.volumes.count(
                ctx, filters=req.filters, all_tenants=req.all_tenants,
                project_id=req.project_id)
        return out

    def list(self, **_: Any):
        return self._list(detail=False)

    def detail(self, **_: Any):
        return self._list(detail=True)

    def show(self, volume_id: str, **_: Any):
        ctx = self.context()
        return self.one(ctx, self.services.volumes.get(ctx, volume_id))

    def create(self, body: Any, **_: Any):
        ctx = self.context()
        attrs = member_body(body, "volume")
        if microversions.current() >= (3, 53):
            unknown = sorted(set(attrs) - CREATE_KEYS)
            if unknown:
                raise errors.InvalidInput("Invalid input for field/attribute volume. "
                                          f"Additional properties are not allowed "
                                          f"({', '.join(map(repr, unknown))} unexpected)")
        if parse_bool(attrs.get("multiattach"), "multiattach"):
            raise errors.InvalidInput("multiattach is not a volume attribute: use a "
                                      "volume type whose extra spec multiattach is "
                                      "'<is> True'.", param="multiattach")
        source = given(attrs, "snapshot_id", "source_volid", "backup_id")
        if "backup_id" in source:
            raise errors.InvalidInput("Volumes cannot be restored from backups: this cloud "
                                      "has no backup service.", param="backup_id")
        size = attrs.get("size")
        if size is None and not source:
            raise errors.InvalidInput("Invalid input received: size must be given unless "
                                      "the volume is made from a snapshot or a volume.",
                                      param="size")
        name = attrs.get("name", attrs.get("display_name"))
        description = attrs.get("description", attrs.get("display_description"))
        for key, value in (("name", name), ("description", description)):
            if value is not None and (not isinstance(value, str) or len(value) > 255):
                raise errors.InvalidInput(f"Invalid input for field/attribute {key}: a "
                                          "string of at most 255 characters.", param=key)
        metadata = attrs.get("metadata")
        volume = self.services.volumes.create(
            ctx, size=parse_size(size) if size is not None else None, name=name,
            description=description,
            volume_type=attrs.get("volume_type") or None,
            availability_zone=attrs.get("availability_zone") or None,
            snapshot_id=source.get("snapshot_id"), source_volid=source.get("source_volid"),
            image_id=attrs.get("imageRef") or attrs.get("image_id") or None,
            metadata=parse_metadata(metadata) if metadata is not None else None)
        return self.one(ctx, volume, extended=False), 202

    def update(self, volume_id: str, body: Any, **_: Any):
        ctx = self.context()
        attrs = member_body(body, "volume")
        changes = {k: attrs[k] for k in UPDATE_KEYS if k in attrs}
        if not changes and microversions.current() >= (3, 53):
            raise errors.InvalidInput("Invalid input for field/attribute volume: at least "
                                      "one of name, description, metadata is required.")
        if "display_name" in changes:
            changes.setdefault("name", changes.pop("display_name"))
        if "display_description" in changes:
            changes.setdefault("description", changes.pop("display_description"))
        changes.pop("display_name", None)
        changes.pop("display_description", None)
        for key in ("name", "description"):
            value = changes.get(key)
            if value is not None and (not isinstance(value, str) or len(value) > 255):
                raise errors.InvalidInput(f"Invalid input for field/attribute {key}: a "
                                          "string of at most 255 characters.", param=key)
        if "metadata" in changes:
            changes["metadata"] = parse_metadata(changes["metadata"] or {})
        volume = self.services.volumes.update(ctx, volume_id, **changes)
        return self.one(ctx, volume, extended=False)

    def delete(self, volume_id: str, **_: Any):
        ctx = self.context()
        params = request.query_params
        cascade = parse_bool(params.get("cascade"), "cascade")
        force = (parse_bool(params.get("force"), "force")
                 if microversions.current() >= (3, 23) else False)
        self.services.volumes.delete(ctx, volume_id, cascade=cascade, force=force)
        return ACCEPTED


class VolumeMetadata(Handler):
    """``/v3/volumes/{id}/metadata[/{key}]``."""

    def _get(self, ctx: RequestContext, volume_id: str) -> dict[str, str]:
        return self.services.volumes.metadata(ctx, volume_id)

    def list(self, volume_id: str, **_: Any):
        return {"metadata": self._get(self.context(), volume_id)}

    def merge(self, volume_id: str, body: Any, **_: Any):
        ctx = self.context()
        md = parse_metadata(body.get("metadata") if isinstance(body, dict) else None)
        return {"metadata": self.services.volumes.set_metadata(ctx, volume_id, md)}

    def replace(self, volume_id: str, body: Any, **_: Any):
        ctx = self.context()
        md = parse_metadata(body.get("metadata") if isinstance(body, dict) else None)
        return {"metadata": self.services.volumes.set_metadata(ctx, volume_id, md,
                                                               replace=True)}

    def show(self, volume_id: str, key: str, **_: Any):
        md = self._get(self.context(), volume_id)
        if key not in md:
            raise errors.NotFound(f"Metadata item was not found for volume {volume_id}: "
                                  f"{key}", kind="metadata_item", id=key)
        return {"meta": {key: md[key]}}

    def set(self, volume_id: str, key: str, body: Any, **_: Any):
        ctx = self.context()
        meta = parse_metadata(body.get("meta") if isinstance(body, dict) else None, "meta")
        if list(meta) != [key]:
            raise errors.InvalidInput("Request body and URI mismatch")
        self.services.volumes.set_metadata(ctx, volume_id, meta, replace=False)
        return {"meta": meta}

    def delete(self, volume_id: str, key: str, **_: Any):
        self.services.volumes.delete_metadata_key(self.context(), volume_id, key)
        return NoContent, 200
