"""A page of rows already read in order: the rows after the marker's, at most
``limit``, as Nova pages instance actions and migrations (a marker that names
no row is a 400)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from core import errors

T = TypeVar("T")


def page_after(rows: Sequence[T], marker: str | None, key: Callable[[T], str],
               limit: int | None) -> list[T]:
    page = list(rows)
    if marker is not None:
        at = next((i for i, row in enumerate(page) if key(row) == marker), None)
        if at is None:
            raise errors.InvalidInput(f"Marker {marker} could not be found.")
        page = page[at + 1:]
    return page if limit is None else page[:limit]
