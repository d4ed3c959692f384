"""An API node (gunicorn, two workers) stopped with SIGTERM while an image
upload is in flight, as systemd stops it (the whole process group).

- the disable file takes the node out of the health check and back in;
- from the SIGTERM on, /healthcheck answers 503 ``SHUTTING DOWN`` while the
  node goes on serving for NIMBUS_DRAIN_DELAY seconds (API calls still work);
- then it refuses new connections, the upload in flight completes (204, the
  image active with every byte), and gunicorn exits 0.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import ksa_session
from tests.support.server import make_server

pytestmark = pytest.mark.integration

DRAIN_DELAY = 2.0
CHUNK, CHUNKS, CHUNK_PAUSE = 64 * 1024, 24, 0.2  # an upload of about 5 s


def slow_body(started: threading.Event) -> Iterator[bytes]:
    for i in range(CHUNKS):
        if i == 2:
            started.set()
        yield bytes([i % 256]) * CHUNK
        time.sleep(CHUNK_PAUSE)


def test_sigterm_drains_the_node_and_finishes_the_upload_in_flight(tmp_path):
    disable = tmp_path / "disabled"
    srv = make_server(tmp_path / "node", drain_delay=str(DRAIN_DELAY),
                      healthcheck_disable_file=str(disable), run_control_plane="false")
    srv.bootstrap()
    srv.start(workers=2)
    try:
        health = f"{srv.url}/healthcheck"
        assert requests.get(health, timeout=5).text == "OK"
        disable.touch()
        r = requests.get(health, timeout=5)
        assert (r.status_code, r.text) == (503, "DISABLED BY FILE")
        disable.unlink()
        assert requests.get(health, timeout=5).status_code == 200

        session = ksa_session(srv, "admin", srv.password("admin"), "admin")
        images = f"{srv.url}/image/v2/images"
        image = session.post(images, json={"name": "drained", "disk_format": "raw",
                                           "container_format": "bare"}).json()
        started = threading.Event()
        upload: dict = {}

        def put() -> None:
            r = requests.put(f"{images}/{image['id']}/file", data=slow_body(started),
                             headers={"X-Auth-Token": session.get_token(),
                                      "Content-Type": "application/octet-stream"},
                             timeout=60)
            upload["status"], upload["at"] = r.status_code, time.monotonic()

        uploader = threading.Thread(target=put)
        uploader.start()
        assert started.wait(10)
        os.killpg(srv.proc.pid, signal.SIGTERM)
        signalled = time.monotonic()

        during: list[tuple[float, int, str]] = []
        while time.monotonic() - signalled < DRAIN_DELAY - 0.5:
            r = requests.get(health, timeout=5)
            during.append((time.monotonic() - signalled, r.status_code, r.text))
            time.sleep(0.2)
        assert during and all(status == 503 and text == "SHUTTING DOWN"
                              for _, status, text in during), during
        assert requests.get(f"{srv.url}/identity/v3", timeout=5).status_code == 200

        refused_at = None
        while time.monotonic() - signalled < 15:
            try:
                requests.get(health, timeout=2)
            except requests.ConnectionError:
                refused_at = time.monotonic() - signalled
                break
            time.sleep(0.1)
        assert refused_at is not None and refused_at >= DRAIN_DELAY - 0.2, refused_at

        uploader.join(30)
        assert upload.get("status") == 204, upload
        assert upload["at"] - signalled > DRAIN_DELAY  # it was in flight past the drain
        assert srv.proc.wait(timeout=30) == 0
    finally:
        srv.stop()

    # The same data directory, a node started again: every byte landed.
    srv.start()
    try:
        session = ksa_session(srv, "admin", srv.password("admin"), "admin")
        stored = session.get(f"{srv.url}/image/v2/images/{image['id']}").json()
        assert (stored["status"], stored["size"]) == ("active", CHUNK * CHUNKS)
    finally:
        srv.stop()
    assert "Traceback" not in srv.log_text()
