"""Waiting for what an `openstack` CLI command started, through openstacksdk.

The CLI tests run the command under test with the real client, but polling its
result with ``openstack ... show`` costs a client start-up (1.5-2.5 s of CPU) a
poll, and OSC's ``--wait`` sleeps 5 s between polls. These poll through an sdk
Connection's session every 50 ms instead, bounded by ``timeout``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

WAIT = 60.0  # seconds a resource may take to get where it is going
INTERVAL = 0.05


def _get(proxy: Any, path: str, key: str, **kw: Any) -> dict | None:
    """The resource at ``path`` as the service shows it; None once it is gone (404)."""
    r = proxy.get(path, raise_exc=False, **kw)
    if r.status_code == 404:
        return None
    assert r.status_code == 200, f"GET {path}: {r.status_code} {r.text[:400]}"
    return r.json()[key]


def until(what: str, probe: Callable[[], tuple[bool, Any]], timeout: float = WAIT) -> Any:
    """Poll ``probe`` (returning (done, value)) until it is done; its value."""
    deadline = time.monotonic() + timeout
    value = None
    while True:
        done, value = probe()
        if done:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: gave up after {timeout}s at {value}")
        time.sleep(INTERVAL)


# ---------------------------------------------------------------- servers

def server_id(conn: Any, name_or_id: str) -> str:
    return conn.compute.find_server(name_or_id, ignore_missing=False).id


def show_server(conn: Any, sid: str) -> dict | None:
    return _get(conn.compute, f"/servers/{sid}", "server")


def wait_server(conn: Any, name_or_id: str, status: str, timeout: float = WAIT) -> dict:
    """The server (compute API JSON) once it shows ``status`` with no task running;
    its flavor named, as ``openstack server show`` names it (the flavor looked up
    by id: the API, at most 2.26, shows no name)."""
    sid = server_id(conn, name_or_id)

    def probe() -> tuple[bool, Any]:
        shown = show_server(conn, sid)
        assert shown is not None, f"{sid} vanished while waiting for {status}"
        if shown["status"] == "ERROR" and status != "ERROR":
            raise AssertionError(f"server went to ERROR: {shown.get('fault')}")
        return (shown["status"] == status
                and not shown.get("OS-EXT-STS:task_state")), shown

    shown = until(f"server {name_or_id} to be {status}", probe, timeout)
    flavor = conn.compute.get_flavor(shown["flavor"]["id"])
    shown["flavor"] = dict(shown["flavor"], name=flavor.name)
    return shown


def wait_server_gone(conn: Any, sid: str, timeout: float = WAIT) -> None:
    until(f"server {sid} to go", lambda: (show_server(conn, sid) is None, sid), timeout)


def boot(conn: Any, name: str, image: str = "nimbus-tiny", flavor: str = "m1.tiny",
         timeout: float = WAIT, **kw: Any) -> dict:
    """A server booted through the sdk, once ACTIVE (setup, not under test)."""
    image_id = conn.image.find_image(image, ignore_missing=False).id
    flavor_id = conn.compute.find_flavor(flavor, ignore_missing=False).id
    kw.setdefault("networks", "auto")  # required from 2.37 (the sdk negotiates 2.100)
    made = conn.compute.create_server(name=name, image_id=image_id, flavor_id=flavor_id,
                                      **kw)
    return wait_server(conn, made.id, "ACTIVE", timeout)


def delete_server(conn: Any, name_or_id: str, timeout: float = WAIT) -> None:
    """Delete the server (one already gone is fine) and wait until it is."""
    found = conn.compute.find_server(name_or_id)
    if found is None:
        return
    conn.compute.delete_server(found.id, ignore_missing=True)
    wait_server_gone(conn, found.id, timeout)


# ---------------------------------------------------------------- images and volumes

def wait_image(conn: Any, name_or_id: str, status: str = "active",
               timeout: float = WAIT) -> Any:
    def probe() -> tuple[bool, Any]:
        image = conn.image.find_image(name_or_id)
        if image is not None and image.status in ("killed", "deleted") and status != image.status:
            raise AssertionError(f"image {name_or_id} went {image.status}")
        return image is not None and image.status == status, image

    return until(f"image {name_or_id} to be {status}", probe, timeout)


def wait_volume(conn: Any, name_or_id: str, status: str = "available",
                timeout: float = WAIT) -> Any:
    def probe() -> tuple[bool, Any]:
        volume = conn.block_storage.find_volume(name_or_id)
        if volume is not None and volume.status == "error" and status != "error":
            raise AssertionError(f"volume {name_or_id} went to error")
        return volume is not None and volume.status == status, volume

    return until(f"volume {name_or_id} to be {status}", probe, timeout)


def wait_volume_gone(conn: Any, vid: str, timeout: float = WAIT) -> None:
    until(f"volume {vid} to go",
          lambda: (conn.block_storage.find_volume(vid) is None, vid), timeout)
