"""Images from volumes (Cinder's ``os-volume_upload_image``), both halves:

- the API side (:class:`VolumeUploads`, part of the volume service): checks the
  request, moves the volume ``available`` (or ``in-use`` with ``force``) to
  ``uploading`` by compare-and-swap, creates the image in the image service and
  claims it for the upload (``queued`` → ``saving``, the image quota checked
  against the bytes to come), then asks the volume's back end to read it;
- the manager side (:class:`UploadRecorder`, used by the volume manager): the
  back end (no database, no image store) reports what the volume holds, and the
  manager writes those bytes through the image service's store (``active``)
  and puts the volume back to the status it had.

What a simulated volume holds: the bytes of the image it was made from (the
source image's data, read from its store), or, for a blank volume, a small
zero payload (:data:`ZERO_PAYLOAD` bytes) — the image's ``size`` is always the
number of bytes actually stored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select, update

from core import errors
from core.context import RequestContext
from core.db import Database
from core.db.base import utcnow
from core.image.data import ImageData
from core.image.models import Image
from core.image.stores import store_for_location
from core.volume.base import VolumeBase, swap
from core.volume.errors import InvalidInput, InvalidVolume
from core.volume.models import Volume, VolumeType
from core.volume.rpcapi import VolumeAgentClient, backend_of

log = logging.getLogger(__name__)

ZERO_PAYLOAD = 1 << 20  # what a blank simulated volume reads as
MAX_FALLBACK = 64 << 20  # zeros written for a source image no longer stored
DISK_FORMATS = ("raw", "vmdk", "vdi", "qcow2", "vhd", "vhdx", "ploop")
CONTAINER_FORMATS = ("bare", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")
# volume_image_metadata keys that describe the source image itself, not
# properties to carry over (Cinder's glance_core_properties)
CORE_PROPERTIES = frozenset({"checksum", "container_format", "disk_format", "image_name",
                             "image_id", "min_disk", "min_ram", "name", "size"})


def find_image(images: Any, ctx: RequestContext, ref: Any) -> Image:
    """The image an ``imageRef`` names, as Cinder finds it: an id (or an image
    URL ending in one), else a unique name among the images the caller sees;
    otherwise 400 (several by that name: 409)."""
    text = str(ref).rstrip("/").rpartition("/")[2] if isinstance(ref, str | int) else ""
    if text:
        try:
            return images.show(ctx, text).image  # type: ignore[no-any-return]
        except errors.NotFound:
            pass
        with images.db.session() as s:
            ids = list(s.scalars(select(Image.id).where(Image.name == str(ref)).limit(20)))
            found = []
            for image_id in ids:
                try:
                    found.append(images.load(s, ctx, image_id, "image:get_image").image)
                except (errors.NotFound, errors.Forbidden):
                    continue
        if len(found) > 1:
            raise errors.Conflict(f"Multiple matches found for '{ref}', use an ID to be "
                                  "more specific.")
        if found:
            return found[0]  # type: ignore[no-any-return]
    # Cinder's HTTPBadRequest, with no "Invalid input received" before it
    raise errors.InvalidInput("Invalid image identifier or unable to access requested "
                              "image.", param="imageRef")


def content_of(volume: Volume) -> dict | None:
    """What the database says a volume holds: the image it was made from."""
    meta = volume.image_metadata or {}
    if not meta.get("image_id"):
        return None
    return {"image_id": str(meta["image_id"]), "size": int(meta.get("size") or 0)}


def payload_size(content: dict | None) -> int:
    if content and content.get("image_id"):
        return int(content.get("size") or 0)
    return ZERO_PAYLOAD


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on", "y",
                                                            "t", "false", "0", "no",
                                                            "off", "n", "f"):
        return value.strip().lower() in ("true", "1", "yes", "on", "y", "t")
    raise InvalidInput(f"Invalid value for '{name}': {value!r} is not a boolean.",
                       param=name)


class VolumeUploads(VolumeBase):
    """``os-volume_upload_image`` on the API side (a mixin of VolumeService,
    which has ``images`` and ``agents``)."""

    images: Any
    agents: VolumeAgentClient

    def upload_to_image(self, ctx: RequestContext, volume_id: str, *, image_name: Any,
                        force: Any = False, disk_format: Any = None,
                        container_format: Any = None, visibility: Any = None,
                        protected: Any = False) -> dict[str, Any]:
        """Start copying the volume into a new image; Cinder's answer (the
        volume ``uploading`` and the image's id and formats)."""
        if self.images is None:
            raise InvalidInput("Uploading volumes to images is not supported here.")
        force = _bool(force, "force") if force is not None else False
        protected = _bool(protected, "protected") if protected is not None else False
        if not isinstance(image_name, str) or not image_name.strip():
            raise InvalidInput("No image_name was specified in request.", param="image_name")
        if len(image_name) > 255:
            raise InvalidInput("image_name has more than 255 characters.", param="image_name")
        disk_format = "raw" if disk_format is None else str(disk_format).lower()
        container_format = "bare" if container_format is None else str(container_format)
        if disk_format not in DISK_FORMATS:
            raise InvalidInput(f"Invalid disk-format '{disk_format}' is specified. Allowed "
                               f"disk-formats are {', '.join(DISK_FORMATS)}.",
                               param="disk_format")
        if container_format not in CONTAINER_FORMATS:
            raise InvalidInput(f"Invalid container-format '{container_format}' is "
                               "specified. Allowed container-formats are "
                               f"{', '.join(CONTAINER_FORMATS)}.", param="container_format")
        visibility = "private" if visibility is None else str(visibility)
        if visibility not in VISIBILITIES:
            raise InvalidInput(f"Invalid visibility '{visibility}'.", param="visibility")
        with self.db.session() as s:
            volume = self.volume_row(s, ctx, volume_id)
            self.enforce(ctx, "volume_extension:volume_actions:upload_image",
                         volume.project_id)
            if visibility == "public":
                self.enforce(ctx, "volume_extension:volume_actions:upload_public",
                             volume.project_id)
            self._check_uploadable(volume, force)
            vtype = s.get(VolumeType, volume.volume_type_id)
            values: dict[str, Any] = {
                "name": image_name, "disk_format": disk_format,
                "container_format": container_format, "visibility": visibility,
                "protected": protected, "min_disk": volume.size}
            meta = dict(volume.image_metadata or {})
            values.update({k: str(v) for k, v in meta.items() if k not in CORE_PROPERTIES})
            if meta.get("min_ram"):
                values["min_ram"] = int(meta["min_ram"])
            content = content_of(volume)
        image = self.images.create(ctx, values)  # queued
        try:
            self.images.data.begin_upload(ctx, image.id, None,
                                          declared_size=payload_size(content))
            with self.db.session() as s:
                volume = self.volume_row(s, ctx, volume_id)
                before = volume.status
                self._check_uploadable(volume, force)
                if not swap(s, Volume, volume.id, [before],
                            {"status": "uploading", "previous_status": before}):
                    raise InvalidVolume(f"Volume {volume.id} status changed meanwhile.",
                                        id=volume.id, state=volume.status)
                answer = self._answer(volume, vtype, image)
                backend = backend_of(volume.host)
        except BaseException:
            self._discard(ctx, image.id)
            raise
        self.agents.copy_volume_to_image(backend or "", volume_id, image.id, content)
        return answer

    @staticmethod
    def _check_uploadable(volume: Volume, force: bool) -> None:
        if volume.status not in ("available", "in-use"):
            raise InvalidVolume(f"Volume {volume.id} status must be available or in-use, "
                                f"but current status is: {volume.status}.",
                                id=volume.id, state=volume.status)
        if volume.status == "in-use" and not force:
            raise InvalidVolume("Volume status is in-use.", id=volume.id, state=volume.status)
        if not volume.host:
            raise InvalidVolume(f"Volume {volume.id} is not on a back end.", id=volume.id,
                                state=volume.status)

    def _discard(self, ctx: RequestContext, image_id: str) -> None:
        """The image of an upload that did not start: gone again."""
        try:
            with self.db.session() as s:
                s.execute(update(Image).where(Image.id == image_id)
                          .values(status="queued", updated_at=utcnow()))
            self.images.delete(ctx, image_id)
        except Exception:  # noqa: BLE001 - best effort; the first error is the answer
            log.warning("could not remove image %s of a failed upload", image_id,
                        exc_info=True)

    @staticmethod
    def _answer(volume: Volume, vtype: VolumeType | None, image: Image) -> dict[str, Any]:
        return {
            "id": volume.id, "updated_at": volume.updated_at, "status": "uploading",
            "display_description": volume.description, "size": volume.size,
            "volume_type": None if vtype is None else {
                "id": vtype.id, "name": vtype.name, "description": vtype.description,
                "is_public": bool(vtype.is_public), "extra_specs": dict(vtype.extra_specs or {}),
                "deleted": False, "created_at": vtype.created_at,
                "updated_at": vtype.updated_at, "deleted_at": None, "qos_specs_id": None},
            "image_id": image.id, "container_format": image.container_format,
            "disk_format": image.disk_format, "image_name": image.name,
            "protected": bool(image.protected), "visibility": image.visibility}


class UploadRecorder:
    """The volume manager's half: the bytes written, the volume put back."""

    def __init__(self, db: Database, data: ImageData | None) -> None:
        self.db = db
        self.data = data

    def volume_uploaded(self, volume_id: str, image_id: str, content: dict | None,
                        error: str | None = None) -> dict[str, Any]:
        if error is None:
            try:
                self._write(image_id, content)
            except Exception as exc:  # noqa: BLE001 - recorded, the volume goes back
                log.warning("upload of volume %s to image %s failed", volume_id, image_id,
                            exc_info=True)
                error = str(exc) or type(exc).__name__
        if error is not None:
            with self.db.session() as s:
                s.execute(update(Image).where(Image.id == image_id,
                                              Image.status == "saving")
                          .values(status="killed", updated_at=utcnow()))
        with self.db.session() as s:
            volume = s.get(Volume, volume_id)
            if volume is not None and volume.status == "uploading":
                swap(s, Volume, volume_id, ["uploading"],
                     {"status": volume.previous_status or "available",
                      "previous_status": None})
            return {"status": volume.status if volume is not None else "deleted"}

    def _write(self, image_id: str, content: dict | None) -> None:
        if self.data is None:
            raise errors.InvalidInput("no image store here")
        with self.db.session() as s:
            image = s.get(Image, image_id)
            if image is None or image.status != "saving":
                return  # written before (a repeated report), or gone
            source = s.get(Image, content["image_id"]) if content and content.get(
                "image_id") else None
            location = (source.location if source is not None and source.location
                        and source.status in ("active", "deactivated") else None)
        store = self.data.store(None)
        if location is not None:
            src = store_for_location(self.data.stores, location)
            chunks: Any = lambda: src.get(location)  # noqa: E731
        else:
            size = payload_size(content)
            if content and content.get("image_id"):  # the source image is gone
                size = min(size, MAX_FALLBACK) or ZERO_PAYLOAD
            chunks = _zeros(size)
        self.data.store_data(image_id, store, self.data.size_cap, chunks, "saving")


def _zeros(size: int, chunk: int = 64 << 10) -> Iterator[bytes]:
    left = size
    while left > 0:
        n = min(chunk, left)
        yield bytes(n)
        left -= n
