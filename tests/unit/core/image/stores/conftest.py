"""Fixtures for the image store behaviour suite: each writable store against a
real back end (a directory, moto's S3 over HTTP, an all-in-one Swift) and a
tiny HTTP origin for the read-only HTTP store."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.image.stores.base import ImageStore
from tests.support.s3_server import MotoS3Server
from tests.support.swift_aio import SwiftAllInOne

MiB = 1 << 20
S3_PART = 5 * MiB  # S3's minimum part size
SWIFT_SEGMENT = 1 * MiB


@dataclass
class StoreCase:
    """A writable store under test and ways to look behind its back."""

    name: str
    store: ImageStore
    location_for: Callable[[str], str]  # the location add() would give an id
    leftovers: Callable[[], list[str]]  # everything still in the back end
    segmented: Callable[[str], bool]  # whether a location was stored in parts
    part_size: int  # data larger than this is uploaded in parts
    memory_bound: int  # tracemalloc peak allowed while streaming 32 MiB


def _file_case(tmp_path: Path) -> StoreCase:
    from core.image.stores.file import FileStore

    store = FileStore(tmp_path / "images")
    return StoreCase(
        "file", store, store.location_for,
        leftovers=lambda: sorted(p.name for p in store.root.glob("*")) if store.root.exists()
        else [],
        segmented=lambda location: False, part_size=S3_PART, memory_bound=4 * MiB)


def _s3_case(server: MotoS3Server) -> StoreCase:
    from core.image.stores.s3 import S3Store

    bucket = f"images-{uuid.uuid4().hex[:12]}"
    store = S3Store(server.endpoint_url, bucket, server.access_key, server.secret_key,
                    server.region, part_size=S3_PART, session=server.session())
    client = server.client()

    def leftovers() -> list[str]:
        if bucket not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
            return []
        keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
        uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        return keys + [f"upload:{u['Key']}:{u['UploadId']}" for u in uploads]

    def segmented(location: str) -> bool:
        etag = client.head_object(Bucket=bucket, Key=location.rsplit("/", 1)[1])["ETag"]
        return "-" in etag  # multipart ETags end in -<number of parts>

    return StoreCase("s3", store, lambda image_id: f"s3://{bucket}/{image_id}", leftovers,
                     segmented, part_size=S3_PART, memory_bound=2 * S3_PART + 4 * MiB)


def _swift_case(swift: SwiftAllInOne) -> StoreCase:
    from core.image.stores.swift import SwiftStore

    container = f"images-{uuid.uuid4().hex[:12]}"
    store = SwiftStore(swift.auth_url, swift.auth_version, swift.user, swift.key,
                       container=container, segment_size=SWIFT_SEGMENT)

    def leftovers() -> list[str]:
        conn = store.connection()
        names = []
        for name in (container, f"{container}_segments"):
            try:
                names += [f"{name}/{o['name']}" for o in conn.get_container(name)[1]]
            except Exception as exc:  # a container never created holds nothing
                if getattr(exc, "http_status", None) != 404:
                    raise
        return names

    def segmented(location: str) -> bool:
        headers = store.connection().head_object(container, location.rsplit("/", 1)[1])
        return headers.get("x-static-large-object") == "True"

    return StoreCase("swift", store, lambda image_id: f"swift://{container}/{image_id}",
                     leftovers, segmented, part_size=SWIFT_SEGMENT, memory_bound=4 * MiB)


@pytest.fixture(params=["file", "s3", "swift"])
def case(request, tmp_path) -> StoreCase:
    """Each writable store, empty, in a directory/bucket/container of its own."""
    if request.param == "file":
        return _file_case(tmp_path)
    if request.param == "s3":
        return _s3_case(request.getfixturevalue("s3_server"))
    return _swift_case(request.getfixturevalue("swift_aio"))


# ---- a tiny HTTP origin for the HTTP store ------------------------------
class Origin(ThreadingHTTPServer):
    """Serves ``files`` by name under /plain/ (ignores Range), /ranged/ (honours
    it), /nolength/ (no Content-Length) and /redirect/ (302 to /ranged/)."""

    daemon_threads = True
    files: dict[str, bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request, client_address) -> None:
        """Quiet: the store hangs up early on purpose (ranges on /plain/)."""


class _OriginHandler(BaseHTTPRequestHandler):
    server: Origin
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        kind, _, name = self.path.lstrip("/").partition("/")
        data = self.server.files.get(name)
        if kind == "error":
            return self._send(500, b"boom", body)
        if data is None:
            return self._send(404, b"not found", body)
        if kind == "redirect":
            self.send_response(302)
            self.send_header("Location", f"/ranged/{name}")
            self.send_header("Content-Length", "0")
            return self.end_headers()
        if kind == "nolength":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            if body:
                self.wfile.write(data)
            self.close_connection = True
            return None
        header = self.headers.get("Range", "")
        if kind == "ranged" and header.startswith("bytes="):
            first, _, last = header[6:].partition("-")
            start, end = int(first), min(int(last) if last else len(data) - 1, len(data) - 1)
            if start >= len(data):
                return self._send(416, b"", body)
            return self._send(206, data[start:end + 1], body,
                              {"Content-Range": f"bytes {start}-{end}/{len(data)}"})
        return self._send(200, data, body)

    def _send(self, status: int, data: bytes, body: bool,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)


@pytest.fixture(scope="session")
def origin() -> Iterator[Origin]:
    """A threaded HTTP server on a free port of 127.0.0.1."""
    server = Origin(("127.0.0.1", 0), _OriginHandler)
    server.files = {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
