"""Closed-loop load on persistent connections: wrk when installed (it is in
Debian: ``apt-get install wrk``), else Python processes with http.client."""

from __future__ import annotations

import http.client
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

WRK = shutil.which("wrk")
TOOL = "wrk" if WRK else "python http.client"
TIMEOUT = 60  # seconds one answer may take


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    expect: int = 200


@dataclass(frozen=True)
class Result:
    ok: int  # responses with the expected status
    errors: int  # other statuses, socket errors and timeouts
    seconds: float

    @property
    def rate(self) -> float:
        return self.ok / self.seconds


def run(url: str, request: Request, seconds: float, connections: int) -> Result:
    if WRK:
        return _wrk(url, request, seconds, connections)
    return _python(url, request, seconds, connections)


_LUA_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  local other = e.connect + e.read + e.write + e.timeout
  io.write(string.format("WRK %d %d %d %d\\n", summary.requests, summary.duration,
                         e.status, other))
end
"""


def _lua(request: Request) -> str:
    # Long brackets need no escaping; tokens and JSON never contain "]==]".
    lines = [f'wrk.method = "{request.method}"']
    if request.body:
        lines.append(f"wrk.body = [==[{request.body}]==]")
    for name, value in request.headers.items():
        lines.append(f'wrk.headers["{name}"] = [==[{value}]==]')
    return "\n".join(lines) + _LUA_DONE


def _wrk(url: str, request: Request, seconds: float, connections: int) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(_lua(request))
        script.flush()
        out = subprocess.run(
            [WRK, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
             "--timeout", f"{TIMEOUT}s", "-s", script.name, url + request.path],
            capture_output=True, text=True, check=True, timeout=seconds + TIMEOUT + 30).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("WRK "))
    # wrk counts a status >= 400 as an error; identity.py checks the exact
    # status of one request before loading.
    done, micros, status, other = (int(x) for x in line.split()[1:])
    return Result(done - status, status + other, micros / 1e6)


def _python(url: str, request: Request, seconds: float, connections: int) -> Result:
    host = urlsplit(url).netloc
    with ProcessPoolExecutor(connections) as pool:
        parts = list(pool.map(_client, [(host, request, seconds)] * connections))
    return Result(sum(p[0] for p in parts), sum(p[1] for p in parts), max(p[2] for p in parts))


def _client(args: tuple[str, Request, float]) -> tuple[int, int, float]:
    host, request, seconds = args
    # A long answer from a peer on a loaded machine is slow, not an error.
    conn = http.client.HTTPConnection(host, timeout=TIMEOUT)
    body = request.body.encode() or None
    ok = bad = 0
    start = time.monotonic()
    deadline = start + seconds
    while time.monotonic() < deadline:
        try:
            conn.request(request.method, request.path, body=body, headers=request.headers)
            resp = conn.getresponse()
            resp.read()
        except (OSError, http.client.HTTPException):
            bad += 1
            conn.close()
            continue
        if resp.status == request.expect:
            ok += 1
        else:
            bad += 1
    conn.close()
    return ok, bad, time.monotonic() - start
