"""``/v3/attachments`` (3.27+; ``os-complete`` 3.44): Nova's attach flow —
create (reserve), update (connect), complete, delete (``cinder/api/v3/attachments.py``)."""

from __future__ import annotations

from typing import Any

from connexion import request

from core import errors
from gateway.openstack.volume import microversions, views
from gateway.openstack.volume.base import NO_CONTENT, Handler, member_body
from gateway.openstack.volume.query import next_links, parse_list

MIN_VERSION = (3, 27)


class Attachments(Handler):
    def _list(self, detail: bool):
        microversions.require(MIN_VERSION)
        ctx = self.context()
        params = request.query_params
        req = parse_list(params, "attachments", ctx.is_admin)
        atts = self.services.attachments.list(
            ctx, filters=req.filters, sort=req.sort, limit=req.limit, marker=req.marker,
            offset=req.offset, all_tenants=req.all_tenants, project_id=req.project_id)
        out: dict[str, Any] = {"attachments": [views.attachment(a, detail) for a in atts]}
        path = "attachments/detail" if detail else "attachments"
        link = next_links(f"{self.deps.base}/v3/{ctx.project_id}/{path}", params, req, atts)
        if link:
            out["attachments_links"] = link
        return out

    def list(self, **_: Any):
        return self._list(detail=False)

    def detail(self, **_: Any):
        return self._list(detail=True)

    def show(self, attachment_id: str, **_: Any):
        microversions.require(MIN_VERSION)
        att = self.services.attachments.get(self.context(), attachment_id)
        return {"attachment": views.attachment(att)}

    def create(self, body: Any, **_: Any):
        microversions.require(MIN_VERSION)
        ctx = self.context()
        attrs = member_body(body, "attachment")
        volume_id = attrs.get("volume_uuid")
        if not isinstance(volume_id, str) or not volume_id:
            raise errors.InvalidInput("Invalid input for field/attribute volume_uuid: "
                                      "'volume_uuid' is a required property",
                                      param="volume_uuid")
        connector = attrs.get("connector")
        if connector is not None and not isinstance(connector, dict):
            raise errors.InvalidInput("Invalid input for field/attribute connector: not an "
                                      "object", param="connector")
        mode = attrs.get("mode", "rw") if microversions.current() >= (3, 54) else "rw"
        if mode not in ("rw", "ro"):
            raise errors.InvalidInput(f"Invalid attachment mode {mode!r}: 'rw' or 'ro'",
                                      param="mode")
        att = self.services.attachments.create(ctx, volume_id, attrs.get("instance_uuid"),
                                               connector=connector, mode=mode)
        return {"attachment": views.attachment(att)}

    def update(self, attachment_id: str, body: Any, **_: Any):
        microversions.require(MIN_VERSION)
        ctx = self.context()
        connector = member_body(body, "attachment").get("connector")
        if not isinstance(connector, dict):
            raise errors.InvalidInput("Invalid input for field/attribute connector: "
                                      "'connector' is a required property",
                                      param="connector")
        att = self.services.attachments.update(ctx, attachment_id, connector)
        return {"attachment": views.attachment(att)}

    def delete(self, attachment_id: str, **_: Any):
        microversions.require(MIN_VERSION)
        ctx = self.context()
        remaining = self.services.attachments.delete(ctx, attachment_id) or []
        return {"attachments": [views.attachment(a, detail=False) for a in remaining]}

    def act(self, attachment_id: str, body: Any, **_: Any):
        microversions.require((3, 44))
        if not isinstance(body, dict) or list(body) != ["os-complete"]:
            raise errors.InvalidInput("There is no such action: "
                                      f"{', '.join(body) if isinstance(body, dict) else body}")
        self.services.attachments.complete(self.context(), attachment_id)
        return NO_CONTENT
