"""Images and members as Glance's JSON shows them."""

from __future__ import annotations

from typing import Any

from core.image.models import Image, ImageMember
from gateway.jsonutil import isotime

BASE_KEYS = ("id", "name", "status", "visibility", "protected", "os_hidden", "owner",
             "checksum", "os_hash_algo", "os_hash_value", "size", "virtual_size", "min_disk",
             "min_ram", "disk_format", "container_format")


def image(i: Image) -> dict[str, Any]:
    out: dict[str, Any] = dict(i.properties or {})
    out.update({k: getattr(i, k) for k in BASE_KEYS})
    out.update({"tags": list(i.tags or []),
                "created_at": isotime(i.created_at, micro=False),
                "updated_at": isotime(i.updated_at, micro=False),
                "self": f"/v2/images/{i.id}", "file": f"/v2/images/{i.id}/file",
                "schema": "/v2/schemas/image"})
    if i.store:
        out["stores"] = i.store
    return out


def member(m: ImageMember) -> dict[str, Any]:
    return {"image_id": m.image_id, "member_id": m.member_id, "status": m.status,
            "created_at": isotime(m.created_at, micro=False),
            "updated_at": isotime(m.updated_at, micro=False), "schema": "/v2/schemas/member"}
