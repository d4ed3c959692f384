"""Image data back ends: the store contract and the registry building them."""

from core.image.stores.base import (
    ImageStore,
    ObjectMissing,
    ReadOnlyStore,
    StoredData,
    StoreError,
)
from core.image.stores.registry import build_stores, store_for_location

__all__ = [
    "ImageStore",
    "ObjectMissing",
    "ReadOnlyStore",
    "StoreError",
    "StoredData",
    "build_stores",
    "store_for_location",
]
