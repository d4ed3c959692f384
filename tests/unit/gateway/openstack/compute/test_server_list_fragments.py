"""The detail list's cached views: a fragment is the server's full view as
compact JSON, and any change of what the view is made of (the row, its
addresses, tags, fault, volumes, host status, or the caller's visibility)
renders a new one; the admin-only attributes never reach another caller."""

from __future__ import annotations

from typing import NamedTuple

import orjson

from core.compute.server_rows import LIST_COLUMNS, FaultRow, ServerPage
from core.network.instance_ports import Address
from gateway.openstack.compute.microversions import APIVersion
from gateway.openstack.compute.server_list import FragmentCache, ServerList
from gateway.openstack.compute.server_views import ServerViews

Row = NamedTuple("Row", [(c, object) for c in LIST_COLUMNS])  # type: ignore[misc]
MV = APIVersion(2, 26)


def row(**changes) -> Row:
    values = dict.fromkeys(LIST_COLUMNS)
    values.update(id=7, uuid="u-1", display_name="web", project_id="p", user_id="u",
                  image_ref="img", flavor='{"name": "m1.tiny", "vcpus": 1}', flavorid="1",
                  vm_state="active", power_state=1, host="h1", metadata_items='{"k": "v"}',
                  security_groups='["default"]', reservation_id="r-1", launch_index=0,
                  locked=0, progress=0, created_at="2026-01-02 03:04:05.000001",
                  updated_at="2026-01-02 03:04:06.000001", deleted=0)
    values.update(changes)
    return Row(**values)


def render(listing: ServerList, page: ServerPage, admin: bool = False,
           host_states: dict | None = None) -> list[dict]:
    out = listing.fragments(page, MV, is_admin=admin, extra_specs=False,
                            host_states=host_states or {})
    return orjson.loads(listing.body(out, None))["servers"]


def test_a_fragment_is_the_full_view_and_is_kept():
    views = ServerViews("http://x/compute")
    listing = ServerList(views)
    page = ServerPage([row()], False, addresses={"u-1": [Address("10.0.0.2", "private", "m")]},
                      tags={"u-1": ["a"]})
    expected = views.full(row(), MV, addresses=[Address("10.0.0.2", "private", "m")],
                          tags=["a"], fault=None, is_admin=False, volumes=None)
    assert render(listing, page) == [expected]
    assert render(listing, page) == [expected]
    assert len(listing.cache) == 1


def test_admin_attributes_are_not_served_from_an_admins_fragment():
    listing = ServerList(ServerViews("http://x/compute"))
    page = ServerPage([row()], False)
    assert "OS-EXT-SRV-ATTR:host" in render(listing, page, admin=True)[0]
    assert "OS-EXT-SRV-ATTR:host" not in render(listing, page, admin=False)[0]


def test_any_change_renders_anew():
    listing = ServerList(ServerViews("http://x/compute"))
    shown = render(listing, ServerPage([row()], False))[0]
    assert render(listing, ServerPage([row(display_name="db")], False))[0]["name"] == "db"
    assert render(listing, ServerPage([row()], False, tags={"u-1": ["b"]}))[0]["tags"] == ["b"]
    failed = ServerPage([row(vm_state="error")], False, faults={"u-1": FaultRow(
        500, "boom", None, "2026-01-02 03:04:05.000001")})
    assert render(listing, failed)[0]["fault"]["message"] == "boom"
    moved = render(listing, ServerPage([row()], False, volumes={"u-1": [("v", True)]}))[0]
    assert moved["os-extended-volumes:volumes_attached"] == [
        {"id": "v", "delete_on_termination": True}]
    assert render(listing, ServerPage([row()], False))[0] == shown


def test_the_cache_forgets_the_oldest_past_its_limit():
    cache = FragmentCache(limit=2)
    for key in "abc":
        cache.put(key, key.encode())
    assert (cache.get("a"), cache.get("b"), cache.get("c"), len(cache)) == (None, b"b", b"c", 2)


def test_rows_as_postgresql_gives_them_are_cached_too():
    # psycopg hands JSON columns over as dicts and lists, and timestamps as datetimes.
    import datetime

    when = datetime.datetime(2026, 1, 2, 3, 4, 5, 1)
    later = datetime.datetime(2026, 1, 2, 3, 4, 6, 1)
    pg = row(flavor={"name": "m1.tiny", "vcpus": 1}, metadata_items={"k": "v"},
             security_groups=["default"], created_at=when, updated_at=later)
    listing = ServerList(ServerViews("http://x/compute"))
    shown = render(listing, ServerPage([pg], False))[0]
    assert shown == render(listing, ServerPage([row()], False))[0]
    assert render(listing, ServerPage([pg], False))[0] == shown  # from the cache
    changed = row(flavor={"name": "m1.tiny", "vcpus": 1}, metadata_items={"k": "w"},
                  security_groups=["default"], created_at=when, updated_at=later)
    assert render(listing, ServerPage([changed], False))[0]["metadata"] == {"k": "w"}
