"""``GET /servers/detail`` built for its size: the page read as plain rows with
what the views show of other tables (core/compute/server_rows.py), each
server's view rendered once to compact JSON and kept, and the answer spliced
from those fragments.

A fragment is keyed by everything its view is made of: the server's row (every
column the view reads, as the driver returned it), its addresses, tags, latest
fault, attached volumes and host status, and what the request decides for all
rows alike (microversion, whether the caller sees the admin-only attributes
and the flavor's extra specs). A fragment is therefore never stale and never
shown to a caller who may not see what it holds: any change of any of those
makes a different key, and the old entry is simply never asked for again (the
cache is bounded and forgets the oldest entries first).
"""

from __future__ import annotations

from typing import Any

import orjson

from core.compute.server_rows import ServerPage
from gateway.fragments import FragmentCache
from gateway.jsonutil import dumps
from gateway.openstack.compute.microversions import APIVersion
from gateway.openstack.compute.server_views import ServerViews

# Each about 1.5 KB of JSON and its key (the row: about 1 KB).
MAX_FRAGMENTS = 10_000


def freeze(value: Any) -> Any:
    """``value`` with every dict and list inside made hashable: PostgreSQL's
    driver gives JSON columns as dicts and lists, SQLite's as text."""
    if isinstance(value, dict):
        return ("__dict__", orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str))
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


class ServerList:
    """The detail list's body as bytes, from a page of rows."""

    def __init__(self, views: ServerViews, cache: FragmentCache[bytes] | None = None) -> None:
        self.views = views
        self.cache = cache if cache is not None else FragmentCache(MAX_FRAGMENTS)

    def fragments(self, page: ServerPage, mv: APIVersion, *, is_admin: bool,
                  extra_specs: bool, host_states: dict[str, str]) -> list[bytes]:
        """Each row's full view as compact JSON. ``host_states``: by host, read
        when the caller may see host_status (else empty)."""
        views, cache = self.views, self.cache
        addresses, tags, faults, volumes = page.addresses, page.tags, page.faults, page.volumes
        shared = (mv, is_admin, extra_specs)
        out: list[bytes] = []
        for row in page.rows:
            uuid, host = row.uuid, row.host
            host_status = host_states.get(host or "", "UNKNOWN") \
                if host_states or (mv >= (2, 16) and not host and is_admin) else None
            held = addresses.get(uuid)
            tagged = tags.get(uuid)
            fault = faults.get(uuid)
            attached = volumes.get(uuid)
            key = (shared, tuple(row), tuple(held) if held else None,
                   tuple(tagged) if tagged else None, fault,
                   tuple(attached) if attached else None, host_status)
            try:
                fragment = cache.get(key)
            except TypeError:  # JSON values as dicts (PostgreSQL), lists in the rest
                key = freeze(key)
                fragment = cache.get(key)
            if fragment is None:
                fragment = dumps(views.full(row, mv, addresses=held or [], tags=tagged,
                                            fault=fault, is_admin=is_admin,
                                            volumes=attached, host_status=host_status,
                                            extra_specs=extra_specs))
                cache.put(key, fragment)
            out.append(fragment)
        return out

    @staticmethod
    def body(fragments: list[bytes], links: list[dict[str, Any]] | None) -> bytes:
        """``{"servers": [...], "servers_links": [...]}`` spliced from the fragments
        (ending in a newline, as connexion's JSON answers do)."""
        tail = b"]}\n" if not links else b'],"servers_links":' + orjson.dumps(links) + b"}\n"
        return b'{"servers":[' + b",".join(fragments) + tail
