"""Builds the enabled image stores from settings and finds a location's store.

Stores are registered here by name; ``settings.enabled_image_stores`` says
which exist in a process. Back-end libraries are imported only when their
store is enabled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from core.image.stores.base import ImageStore, ObjectMissing
from core.settings import Settings


def _file(settings: Settings) -> ImageStore:
    from core.image.stores.file import FileStore

    return FileStore(settings.effective_image_file_dir)


def _s3(settings: Settings) -> ImageStore:
    from core.image.stores.s3 import S3Store

    return S3Store(endpoint_url=settings.image_s3_endpoint, bucket=settings.image_s3_bucket,
                   access_key=settings.image_s3_access_key,
                   secret_key=settings.image_s3_secret_key, region=settings.image_s3_region,
                   part_size=settings.image_s3_part_size)


def _swift(settings: Settings) -> ImageStore:
    from core.image.stores.swift import SwiftStore

    return SwiftStore(auth_url=settings.image_swift_auth_url,
                      auth_version=settings.image_swift_auth_version,
                      user=settings.image_swift_user, key=settings.image_swift_key,
                      project=settings.image_swift_project,
                      container=settings.image_swift_container,
                      segment_size=settings.image_swift_segment_size)


def _http(settings: Settings) -> ImageStore:
    from core.image.stores.http import HttpStore

    return HttpStore()


STORE_FACTORIES: Mapping[str, Callable[[Settings], ImageStore]] = {
    "file": _file, "s3": _s3, "swift": _swift, "http": _http,
}


def build_stores(settings: Settings) -> dict[str, ImageStore]:
    """The enabled stores by id, in the order settings list them. Building a
    store does not contact its back end (buckets and containers are created
    on first upload)."""
    unknown = [name for name in settings.enabled_image_stores if name not in STORE_FACTORIES]
    if unknown:
        raise ValueError(f"unknown image stores: {unknown}")
    return {name: STORE_FACTORIES[name](settings) for name in settings.enabled_image_stores}


def store_for_location(stores: Mapping[str, ImageStore], location: str) -> ImageStore:
    """The store that serves ``location``; ``ObjectMissing`` when no enabled
    store does (its store was disabled, or the location is foreign)."""
    for store in stores.values():
        if store.owns(location):
            return store
    raise ObjectMissing("No enabled image store serves this location.", location=location)
