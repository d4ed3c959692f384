"""A local HTTP server holding files in memory, for tests that give the server
under test a URL to fetch from (image locations, web-download, RegisterImage)."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _FileHandler(BaseHTTPRequestHandler):
    """Serves ``server.files`` (path -> bytes), honouring Range if asked to."""

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(with_body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(with_body=True)

    def _serve(self, with_body: bool) -> None:
        data = self.server.files.get(self.path)  # type: ignore[attr-defined]
        if data is None:
            self.send_error(404)
            return
        start, end, status = 0, len(data) - 1, 200
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if match and self.server.honour_range:  # type: ignore[attr-defined]
            start, status = int(match[1]), 206
            end = min(int(match[2]), end) if match[2] else end
        body = data[start:end + 1]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def log_message(self, format, *args) -> None:  # noqa: A002
        pass


class Remote:
    """A threaded HTTP server on loopback holding image files."""

    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _FileHandler)
        self.httpd.files = {}  # type: ignore[attr-defined]
        self.httpd.honour_range = False  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def put(self, name: str, data: bytes) -> str:
        self.httpd.files[f"/{name}"] = data  # type: ignore[attr-defined]
        return self.url(name)

    def honour_range(self, value: bool) -> None:
        self.httpd.honour_range = value  # type: ignore[attr-defined]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
