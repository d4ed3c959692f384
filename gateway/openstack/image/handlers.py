"""Image v2 handlers, keyed as the spec's operationIds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from connexion import NoContent, request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from core import errors
from core.image.data import RangeNotSatisfiable
from core.image.listing import ImageQuery
from core.image.service import ImageService
from core.numbers import INT64_MIN, BadInteger, is_ascii_digits, parse_int
from core.settings import Settings
from gateway.json_body import BadJson, parse_json_body
from gateway.openstack.auth import Authenticator
from gateway.openstack.image import schemas, views
from gateway.openstack.image.streams import feed

NO_CONTENT = (NoContent, 204)
_RANGE = re.compile(r"^bytes=([0-9]{0,19})-([0-9]{0,19})$")


@dataclass(frozen=True)
class ImageDeps:
    settings: Settings
    images: ImageService
    auth: Authenticator
    base: str  # public URL of the image endpoint, e.g. http://h/image


class Handler:
    def __init__(self, deps: ImageDeps) -> None:
        self.deps = deps
        self.images = deps.images
        self.auth = deps.auth


class Versions(Handler):
    def list(self):
        versions = [{"id": f"v2.{n}", "status": "CURRENT" if n == 16 else "SUPPORTED",
                     "links": [{"rel": "self", "href": f"{self.deps.base}/v2/"}]}
                    for n in range(16, -1, -1)]
        status = 300 if request.url.path.rstrip("/").endswith("/image") else 200
        return {"versions": versions}, status


DRAFT4_PATCH = "application/openstack-images-v2.0-json-patch"
PATCH_OPS = ("add", "remove", "replace")
# Columns Glance compares exactly when named as a filter (its DB API filters on
# any attribute of the image model; other names are extra properties).
EXACT_INT_FILTERS = ("size", "virtual_size", "min_disk", "min_ram")
EXACT_TEXT_FILTERS = ("checksum", "os_hash_algo", "os_hash_value")


def _from_draft4(op: dict[str, Any]) -> dict[str, Any]:
    """Glance's v2.0 patch form, ``{"replace": "/name", "value": ...}``, as the
    v2.1 (RFC 6902) form ``{"op": "replace", "path": "/name", ...}``."""
    named = [k for k in PATCH_OPS if k in op]
    if len(named) != 1:
        raise errors.InvalidInput('Operation objects must contain exactly one member named '
                                  '"add", "remove", or "replace".')
    out = {"op": named[0], "path": op[named[0]]}
    if "value" in op:
        out["value"] = op["value"]
    return out


def _query() -> ImageQuery:
    params = request.query_params
    q = ImageQuery()
    for name in ("name", "id", "status", "owner", "container_format", "disk_format",
                 *EXACT_TEXT_FILTERS):
        if name in params:
            q.filters[name] = params[name]
    q.visibility = params.get("visibility")
    q.member_status = params.get("member_status", "accepted")
    q.tags = params.getlist("tag")
    q.os_hidden = params.get("os_hidden", "false").lower() == "true"
    for name in ("created_at", "updated_at"):
        if name in params:
            q.dates[name] = params[name]
    try:  # sizes are BIGINT columns: a larger bound overflows the driver
        if "size_min" in params:
            q.size_min = parse_int(params["size_min"], INT64_MIN)
        if "size_max" in params:
            q.size_max = parse_int(params["size_max"], INT64_MIN)
        if "limit" in params:
            q.limit = parse_int(params["limit"])
        for name in EXACT_INT_FILTERS:
            if name in params:
                q.numbers[name] = parse_int(params[name], INT64_MIN)
    except BadInteger as exc:
        raise errors.InvalidInput(f"limit, sizes and minimums are integers: {exc}") \
            from None
    q.marker = params.get("marker")
    if "sort" in params:
        for item in params["sort"].split(","):
            key, _, direction = item.strip().partition(":")
            q.sort.append((key, direction or "desc"))
    else:
        keys, dirs = params.getlist("sort_key"), params.getlist("sort_dir")
        q.sort = [(k, dirs[i] if i < len(dirs) else (dirs[-1] if dirs else "desc"))
                  for i, k in enumerate(keys)]
    known = {"name", "id", "status", "owner", "container_format", "disk_format", "visibility",
             "member_status", "tag", "os_hidden", "created_at", "updated_at", "size_min",
             "size_max", "limit", "marker", "sort", "sort_key", "sort_dir",
             *EXACT_INT_FILTERS, *EXACT_TEXT_FILTERS}
    q.properties = {k: v for k, v in params.items() if k not in known}
    return q


class Images(Handler):
    def list(self, **_: Any):
        ctx = self.auth.context()
        q = _query()
        rows, more = self.images.list_images(ctx, q)
        out: dict[str, Any] = {"images": [views.image(v.image) for v in rows],
                               "first": "/v2/images", "schema": "/v2/schemas/images"}
        if more and rows:
            params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
            out["next"] = "/v2/images?" + urlencode([*params, ("marker", rows[-1].image.id)])
        return out

    def create(self, body: dict):
        image = self.images.create(self.auth.context(), body)
        return views.image(image), 201, {"Location": f"{self.deps.base}/v2/images/{image.id}"}

    def show(self, image_id: str):
        return views.image(self.images.show(self.auth.context(), image_id).image)

    def update(self, image_id: str, body: Any):
        # connexion passes the JSON-patch media types through unparsed.
        if isinstance(body, (bytes, str)):
            try:
                body = parse_json_body(body or b"null")
            except BadJson as exc:
                raise errors.InvalidInput(f"Malformed JSON in request body: {exc}") from None
        if not isinstance(body, list) or not all(isinstance(op, dict) for op in body):
            raise errors.InvalidInput("A JSON patch is a list of operation objects.")
        if request.headers.get("content-type", "").split(";")[0].strip().lower() \
                == DRAFT4_PATCH:
            body = [_from_draft4(op) for op in body]
        return views.image(self.images.update(self.auth.context(), image_id, body))

    def delete(self, image_id: str):
        self.images.delete(self.auth.context(), image_id)
        return NO_CONTENT

    def deactivate(self, image_id: str):
        self.images.deactivate(self.auth.context(), image_id)
        return NO_CONTENT

    def reactivate(self, image_id: str):
        self.images.reactivate(self.auth.context(), image_id)
        return NO_CONTENT

    def add_tag(self, image_id: str, tag: str):
        self.images.add_tag(self.auth.context(), image_id, tag)
        return NO_CONTENT

    def delete_tag(self, image_id: str, tag: str):
        self.images.delete_tag(self.auth.context(), image_id, tag)
        return NO_CONTENT


class ImageData(Handler):
    async def upload(self, image_id: str):
        ctx = await run_in_threadpool(self.auth.context)
        store_id = request.headers.get("x-image-meta-store")
        declared = request.headers.get("content-length")
        size = int(declared) if declared and is_ascii_digits(declared) else None
        # Refuse before reading a byte of the body when we can.
        store, limit = await run_in_threadpool(self.images.data.begin_upload, ctx, image_id,
                                               store_id, size)
        await feed(request.stream(), lambda chunks: self.images.data.store_data(
            image_id, store, limit, chunks, "saving"))
        return NoContent, 204

    def download(self, image_id: str):
        ctx = self.auth.context()
        offset, length, suffix = _parse_range(request.headers.get("range"))
        result = self.images.data.download(ctx, image_id, offset, length, suffix)
        if result.chunks is None:
            return Response(status_code=204)
        offset, length = result.offset, result.length
        if length is None and offset == 0:
            headers = {"Content-Length": str(result.size)}
            if result.checksum:
                headers["Content-MD5"] = result.checksum
            return StreamingResponse(result.chunks, media_type="application/octet-stream",
                                     headers=headers)
        end = min(offset + (length or result.size), result.size) - 1
        headers = {"Content-Range": f"bytes {offset}-{end}/{result.size}",
                   "Content-Length": str(end - offset + 1)}
        return StreamingResponse(result.chunks, status_code=206,
                                 media_type="application/octet-stream", headers=headers)

    def import_image(self, image_id: str, body: dict):
        stores = body.get("stores") or [None]
        self.images.data.import_image(self.auth.context(), image_id, body["method"],
                                      stores[0])
        return NoContent, 202


def _parse_range(header: str | None) -> tuple[int, int | None, int | None]:
    """(offset, length, suffix) of a single ``bytes=`` range; suffix is the N
    of ``bytes=-N`` (the last N bytes), resolved once the size is known."""
    if not header:
        return 0, None, None
    m = _RANGE.match(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        raise RangeNotSatisfiable(f"Invalid Range header: {header}")
    start, end = m.group(1), m.group(2)
    if not start:
        return 0, None, int(end)
    first = int(start)
    if end and int(end) < first:
        raise RangeNotSatisfiable(f"Invalid Range header: {header}")
    return first, (int(end) - first + 1) if end else None, None


class Members(Handler):
    def list(self, image_id: str):
        members = self.images.members.list(self.auth.context(), image_id)
        return {"members": [views.member(m) for m in members], "schema": "/v2/schemas/members"}

    def add(self, image_id: str, body: dict):
        return views.member(self.images.members.add(self.auth.context(), image_id,
                                                     body["member"]))

    def show(self, image_id: str, member_id: str):
        return views.member(self.images.members.get(self.auth.context(), image_id, member_id))

    def update(self, image_id: str, member_id: str, body: dict):
        return views.member(self.images.members.update(self.auth.context(), image_id,
                                                       member_id, body["status"]))

    def delete(self, image_id: str, member_id: str):
        self.images.members.delete(self.auth.context(), image_id, member_id)
        return NO_CONTENT


class Schemas(Handler):
    def image_schema(self):
        return schemas.IMAGE

    def images_schema(self):
        return schemas.IMAGES

    def member_schema(self):
        return schemas.MEMBER

    def members_schema(self):
        return schemas.MEMBERS


class Info(Handler):
    def stores(self):
        self.auth.context()
        out = []
        for sid, store in self.images.stores.items():
            entry: dict[str, Any] = {"id": sid, "description": store.description}
            if sid == self.images.default_store:
                entry["default"] = "true"
            if store.read_only:
                entry["read-only"] = "true"
            out.append(entry)
        return {"stores": out}

    def import_methods(self):
        self.auth.context()
        methods = ["web-download"] if any(s.read_only for s in self.images.stores.values()) \
            else []
        return {"import-methods": {"description": "Import methods available.",
                                   "type": "array", "value": methods}}


HANDLERS = {"image_versions": Versions, "images": Images, "image_data": ImageData,
            "image_members": Members, "image_schemas": Schemas, "image_info": Info}


def build_handlers(deps: ImageDeps) -> dict[str, Any]:
    return {name: cls(deps) for name, cls in HANDLERS.items()}
