"""The default image registered at first start: small, public and active, so a
new user can boot at once."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from sqlalchemy import select

from core.context import RequestContext
from core.image.models import Image
from core.image.service import ImageService

DEFAULT_IMAGE_NAME = "nimbus-tiny"
DEFAULT_IMAGE_SIZE = 1 << 20  # 1 MiB: a raw disk the simulated hypervisor boots


def default_image_chunks(size: int = DEFAULT_IMAGE_SIZE) -> Iterator[bytes]:
    """A deterministic raw disk: a boot-sector signature, then pseudo-random blocks."""
    sector = bytearray(512)
    sector[0:16] = b"NIMBUS TINY DISK"
    sector[510:512] = b"\x55\xaa"
    yield bytes(sector)
    written, block = 512, 0
    while written < size:
        chunk = hashlib.sha512(f"nimbus-{block}".encode()).digest() * 64  # 4 KiB
        chunk = chunk[: size - written]
        written += len(chunk)
        block += 1
        yield chunk


def ensure_default_image(images: ImageService, admin: RequestContext) -> Image:
    """Register the default image unless an image of that name already exists."""
    with images.db.session() as s:
        existing = s.scalar(select(Image).where(Image.name == DEFAULT_IMAGE_NAME,
                                                Image.owner == admin.project_id))
    if existing is not None and existing.status == "active":
        return existing
    if existing is not None:  # a failed earlier start: start over
        images.delete(admin, existing.id)
    image = images.create(admin, {"name": DEFAULT_IMAGE_NAME, "visibility": "public",
                                  "disk_format": "raw", "container_format": "bare",
                                  "min_disk": 1, "min_ram": 64,
                                  "os_distro": "nimbus", "description":
                                  "A tiny raw disk for the simulated hypervisor."})
    return images.data.upload(admin, image.id, default_image_chunks())
