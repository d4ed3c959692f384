"""``/v3/types`` and their extra specs (``cinder/api/v2/types.py``,
``contrib/types_manage.py``, ``contrib/types_extra_specs.py``). ``default``
names the default type; ``is_public=none`` lists every type."""

from __future__ import annotations

from typing import Any

from connexion import request

from core import errors
from gateway.openstack.volume import views
from gateway.openstack.volume.base import ACCEPTED, Handler, member_body, parse_bool


def _specs(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise errors.InvalidInput("Invalid input for field/attribute extra_specs: not an "
                                  "object", param="extra_specs")
    out = {}
    for key, item in value.items():
        if not key or len(key) > 255 or isinstance(item, (dict, list)) or item is None \
                or len(str(item)) > 255:
            raise errors.InvalidInput(f"Invalid input for field/attribute extra_specs: "
                                      f"{key!r}", param="extra_specs")
        out[key] = str(item).lower() if isinstance(item, bool) else str(item)
    return out


class VolumeTypes(Handler):
    def _view(self, ctx: Any, vtype: Any) -> dict[str, Any]:
        return views.volume_type(vtype, is_admin=ctx.is_admin,
                                 specs=self.services.types.visible_extra_specs(ctx, vtype))

    def _one(self, ctx: Any, vtype: Any) -> dict[str, Any]:
        return {"volume_type": self._view(ctx, vtype)}

    def list(self, **_: Any):
        ctx = self.context()
        raw = request.query_params.get("is_public")
        is_public: bool | None = True
        if ctx.is_admin:  # non-admins see public types (and those shared with them)
            is_public = (None if raw is None or raw.lower() == "none"
                         else parse_bool(raw, "is_public"))
        types = self.services.types.list(ctx, is_public=is_public)
        return {"volume_types": [self._view(ctx, t) for t in types]}

    def show(self, type_id: str, **_: Any):
        ctx = self.context()
        vtype = (self.services.types.default(ctx) if type_id == "default"
                 else self.services.types.get(ctx, type_id))
        return self._one(ctx, vtype)

    def _attrs(self, body: Any, creating: bool) -> dict[str, Any]:
        attrs = member_body(body, "volume_type")
        out: dict[str, Any] = {}
        name = attrs.get("name")
        if name is not None or creating:
            if not isinstance(name, str) or not name.strip() or len(name) > 255:
                raise errors.InvalidInput("Volume type name can not be empty.",
                                          param="name")
            out["name"] = name.strip()
        if "description" in attrs:
            desc = attrs["description"]
            if desc is not None and (not isinstance(desc, str) or len(desc) > 255):
                raise errors.InvalidInput("Invalid input for field/attribute description",
                                          param="description")
            out["description"] = desc
        for key in ("os-volume-type-access:is_public", "is_public"):
            if attrs.get(key) is not None:
                out["is_public"] = parse_bool(attrs[key], "is_public")
                break
        if creating and attrs.get("extra_specs") is not None:
            out["extra_specs"] = _specs(attrs["extra_specs"])
        if not creating and not out:
            raise errors.InvalidInput("Specify volume type name, description, is_public or "
                                      "a combination thereof.")
        return out

    def create(self, body: Any, **_: Any):
        ctx = self.context()
        return self._one(ctx, self.services.types.create(ctx, **self._attrs(body, True)))

    def update(self, type_id: str, body: Any, **_: Any):
        ctx = self.context()
        attrs = self._attrs(body, False)
        return self._one(ctx, self.services.types.update(ctx, type_id, **attrs))

    def delete(self, type_id: str, **_: Any):
        self.services.types.delete(self.context(), type_id)
        return ACCEPTED


class ExtraSpecs(Handler):
    """``/v3/types/{id}/extra_specs[/{key}]`` (admin)."""

    def list(self, type_id: str, **_: Any):
        return {"extra_specs": self.services.types.extra_specs(self.context(), type_id)}

    def create(self, type_id: str, body: Any, **_: Any):
        ctx = self.context()
        specs = _specs(body.get("extra_specs") if isinstance(body, dict) else None)
        self.services.types.set_extra_specs(ctx, type_id, specs)
        return {"extra_specs": specs}

    def show(self, type_id: str, key: str, **_: Any):
        return {key: self.services.types.extra_spec(self.context(), type_id, key)}

    def update(self, type_id: str, key: str, body: Any, **_: Any):
        ctx = self.context()
        specs = _specs(body)
        if list(specs) != [key]:
            raise errors.InvalidInput("Request body and URI mismatch")
        self.services.types.set_extra_specs(ctx, type_id, specs)
        return specs

    def delete(self, type_id: str, key: str, **_: Any):
        self.services.types.unset_extra_spec(self.context(), type_id, key)
        return ACCEPTED
