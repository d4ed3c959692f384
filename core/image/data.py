"""Image data: upload (queued → saving → active, or killed), download with
ranges, locations in the read-only HTTP store, and web-download import."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.db import Database
from core.db.base import utcnow
from core.image.models import Image
from core.image.stores import ImageStore, ReadOnlyStore, store_for_location
from core.image.stores.hashing import HashingReader
from core.image.visibility import ImageView
from core.policy import PolicyEnforcer

log = logging.getLogger(__name__)


class RangeNotSatisfiable(errors.InvalidInput):
    """A byte range outside the data (HTTP 416)."""

    default_message = "Requested range not satisfiable."
Loader = Callable[[Session, RequestContext, str, str], ImageView]


@dataclass(frozen=True)
class Download:
    """What ``GET …/file`` streams: the chunks, and what the headers need."""

    chunks: Iterator[bytes] | None  # None: the image has no data (204)
    size: int = 0
    checksum: str | None = None
    offset: int = 0
    length: int | None = None  # set for a range


class ImageData:
    def __init__(self, db: Database, policy: PolicyEnforcer, stores: dict[str, ImageStore],
                 default_store: str, load: Loader, size_cap: int, project_quota: int,
                 import_ports: tuple[int, ...] = (80, 443)) -> None:
        self.db = db
        self.policy = policy
        self.stores = stores
        self.default_store = default_store
        self.load = load
        self.size_cap = size_cap
        self.project_quota = project_quota
        self.import_ports = import_ports

    def store(self, store_id: str | None) -> ImageStore:
        sid = store_id or self.default_store
        if sid not in self.stores:
            raise errors.InvalidInput(f"Store for identifier {sid} not found")
        return self.stores[sid]

    # ---- upload ----------------------------------------------------------
    def begin_upload(self, ctx: RequestContext, image_id: str, store_id: str | None,
                     declared_size: int | None = None, rule: str = "image:upload_image",
                     claim: str = "saving") -> tuple[ImageStore, int]:
        """Check and claim the image for an upload (queued → ``claim``, atomically).

        Returns the store and the most bytes it may receive (size cap, quota)."""
        store = self.store(store_id)
        if store.read_only:
            raise ReadOnlyStore(f"Store {store.id} is read-only: adding images to it is "
                                "disabled.")
        with self.db.session() as s:
            view = self.load(s, ctx, image_id, rule)
            image = view.image
            if image.status != "queued":
                raise errors.Conflict(f"Image status transition from {image.status} to "
                                      f"{claim} is not allowed")
            if not image.disk_format or not image.container_format:
                raise errors.InvalidInput("Properties disk_format, container_format must be "
                                          "set prior to saving data.")
            limit = self.size_cap
            if self.project_quota:
                used = s.scalar(select(func.coalesce(func.sum(Image.size), 0)).where(
                    Image.owner == image.owner, Image.size.is_not(None))) or 0
                limit = min(limit, self.project_quota - int(used))
            if declared_size is not None and declared_size > limit:
                raise errors.PayloadTooLarge(
                    f"Image size {declared_size} exceeds the limit of {max(limit, 0)} bytes "
                    "(size cap or storage quota).")
            result = s.execute(update(Image).where(Image.id == image_id,
                                                   Image.status == "queued")
                               .values(status=claim, updated_at=utcnow()))
            claimed = cast(CursorResult, result).rowcount
            if not claimed:
                raise errors.Conflict("Image is already being uploaded.")
        return store, max(limit, 0)

    def upload(self, ctx: RequestContext, image_id: str, chunks: Iterable[bytes],
               store_id: str | None = None, declared_size: int | None = None) -> Image:
        """Stream ``chunks`` into the store and activate the image."""
        store, limit = self.begin_upload(ctx, image_id, store_id, declared_size)
        return self.store_data(image_id, store, limit, chunks, "saving")

    def store_data(self, image_id: str, store: ImageStore, limit: int,
                   chunks: Iterable[bytes] | Callable[[], Iterable[bytes]], claimed: str,
                   failed: str = "killed") -> Image:
        """Write the data of an image claimed by ``begin_upload`` and activate it;
        on failure the image goes back to queued (too large) or to ``failed``.
        ``chunks`` may be a callable opening the source (its errors count too)."""
        try:
            source = chunks() if callable(chunks) else chunks
            stored = store.add(image_id, source, max_size=limit)
        except errors.PayloadTooLarge as exc:
            self._finish_failed(image_id, claimed, "queued")  # Glance restores: retry
            raise errors.PayloadTooLarge(
                f"Image exceeds the limit of {limit} bytes (size cap or storage quota)."
            ) from exc
        except BaseException:
            self._finish_failed(image_id, claimed, failed)
            raise
        with self.db.session() as s:
            image = s.get(Image, image_id)
            if image is None:  # deleted meanwhile
                store.delete(stored.location)
                raise errors.NotFound(f"No image found with ID {image_id}")
            image.status, image.store, image.location = "active", store.id, stored.location
            image.size, image.checksum = stored.size, stored.checksum
            image.os_hash_algo, image.os_hash_value = stored.hash_algo, stored.hash_value
            image.virtual_size, image.updated_at = None, utcnow()
            return image

    def _finish_failed(self, image_id: str, claimed: str, status: str) -> None:
        with self.db.session() as s:
            s.execute(update(Image).where(Image.id == image_id, Image.status == claimed)
                      .values(status=status, updated_at=utcnow()))

    # ---- download ----------------------------------------------------------
    def download(self, ctx: RequestContext, image_id: str, offset: int = 0,
                 length: int | None = None, suffix: int | None = None) -> Download:
        """The image's data (or a range; ``suffix`` = the last N bytes)."""
        with self.db.session() as s:
            image = self.load(s, ctx, image_id, "image:download_image").image
        if image.status == "deactivated" and not ctx.is_admin:
            raise errors.Forbidden("The requested image has been deactivated. Image data "
                                   "download is forbidden.")
        if image.status not in ("active", "deactivated") or not image.location:
            return Download(chunks=None)
        size = image.size or 0
        if suffix is not None:
            if suffix <= 0 or size == 0:
                raise RangeNotSatisfiable("Requested range not satisfiable.")
            offset, length = max(size - suffix, 0), min(suffix, size)
        ranged = offset > 0 or length is not None
        if ranged and (offset >= size or (length is not None and length <= 0)):
            raise RangeNotSatisfiable(f"Requested range not satisfiable: the image has "
                                      f"{size} bytes.")
        store = store_for_location(self.stores, image.location)
        chunks = store.get(image.location, offset, length)
        return Download(chunks=chunks, size=size, checksum=image.checksum, offset=offset,
                        length=length)

    # ---- locations (HTTP store) ----------------------------------------
    def set_location(self, ctx: RequestContext, image_id: str, locations: list[dict]) -> Image:
        if len(locations) != 1:
            raise errors.InvalidInput("Exactly one location is supported per image.")
        url = locations[0]["url"]
        store = next((st for st in self.stores.values() if st.owns(url)), None)
        if store is None or not store.read_only:
            raise errors.InvalidInput(f"Invalid location: {url}")
        with self.db.session() as s:
            image = self.load(s, ctx, image_id, "image:set_image_location").image
            if image.status != "queued":
                raise errors.Conflict("Locations can be set only on queued images.")
        if store.size(url) > self.size_cap:  # refuse before reading the data
            raise errors.PayloadTooLarge("The image at that location is too large.")
        # One pass over the data: its size, MD5 and SHA-512, as an upload has.
        reader = HashingReader(store.get(url), max_size=self.size_cap)
        for _ in reader:
            pass
        with self.db.session() as s:
            stored = s.get(Image, image_id)
            if stored is None:
                raise errors.NotFound(f"No image found with ID {image_id}")
            image = stored
            image.status, image.store, image.location = "active", store.id, url
            image.size, image.checksum = reader.size, reader.checksum
            image.os_hash_algo, image.os_hash_value = "sha512", reader.hash_value
            image.updated_at = utcnow()
            return image

    # ---- import (web-download) -----------------------------------------
    def import_image(self, ctx: RequestContext, image_id: str, method: dict,
                     store_id: str | None = None) -> None:
        name = method.get("name")
        if name != "web-download":
            raise errors.InvalidInput(f"Import method {name} is not supported.")
        uri = method.get("uri")
        http = next((st for st in self.stores.values() if st.read_only and
                     isinstance(uri, str) and st.owns(uri)), None)
        if http is None or not isinstance(uri, str):
            raise errors.InvalidInput("web-download needs an http(s) URI.")
        port = urlsplit(uri).port or (443 if uri.startswith("https") else 80)
        if self.import_ports and port not in self.import_ports:
            # As Glance: the server fetches the URI, so do not let users point
            # it at arbitrary internal services.
            raise errors.InvalidInput(f"web-download is not allowed to port {port}.")
        # Claim now (409 if not queued); the copy runs in the background (202).
        store, limit = self.begin_upload(ctx, image_id, store_id, rule="image:import_image",
                                         claim="importing")

        def run() -> None:
            try:  # a failed import goes back to queued, as in Glance
                self.store_data(image_id, store, limit, lambda: http.get(uri), "importing",
                                failed="queued")
            except Exception:
                log.warning("web-download import of %s failed", image_id, exc_info=True)

        threading.Thread(target=run, name=f"import-{image_id}", daemon=True).start()

