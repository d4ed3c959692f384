"""Start a real API node (gunicorn + uvicorn worker) for tests, on a free port,
with its own data directory, bootstrapped as `make run` does."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


# Ports for the servers tests start: below the kernel's ephemeral range
# (32768-60999), so no outgoing connection holds one, and a range of its own for
# each xdist worker, so two workers never pick the same one (port 0 let two
# workers' servers pick one port at once: one server then answered for both).
PORTS_PER_WORKER = 1400
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_FIRST_PORT = 20000 + PORTS_PER_WORKER * (_WORKER % 9)
_next_port = itertools.count()


def free_port() -> int:
    """A TCP port of 127.0.0.1 free now, not handed out before by this process."""
    for _ in range(PORTS_PER_WORKER):
        port = _FIRST_PORT + next(_next_port) % PORTS_PER_WORKER
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {_FIRST_PORT}-{_FIRST_PORT + PORTS_PER_WORKER}")


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer in {timeout}s")


@dataclass
class Server:
    data_dir: Path
    port: int
    env: dict[str, str]
    public_url: str = ""
    proc: subprocess.Popen | None = None
    log_path: Path | None = None
    extra: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth_url(self) -> str:
        return f"{self.public_url or self.url}/identity"

    @property
    def clouds_yaml(self) -> Path:
        return self.data_dir / "clouds.yaml"

    def cloud(self, name: str) -> dict:
        return yaml.safe_load(self.clouds_yaml.read_text())["clouds"][name]

    def password(self, name: str) -> str:
        return (self.data_dir / f"{name}-password").read_text().strip()

    def bootstrap(self) -> None:
        subprocess.run([sys.executable, "-m", "core.manage", "bootstrap", "--quiet"],
                       cwd=ROOT, env=self.env, check=True, capture_output=True)

    def start(self, workers: int = 1) -> Server:
        self.log_path = self.data_dir / f"server-{self.port}.log"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--workers", str(workers),
             "--bind", f"127.0.0.1:{self.port}", "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            # a minute: a loaded 2-core machine took over 30 s to start one
            wait_http(f"{self.url}/identity/v3", timeout=60.0, proc=self.proc)
        except BaseException:
            self.stop(signal.SIGKILL)  # never leave a half-started server behind
            raise
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def errors_since(self, offset: int = 0) -> list[str]:
        """Log lines after ``offset`` that report an unexpected server error: a 500
        answer or the record of the exception behind it. Warnings that carry a
        traceback on purpose (a failed image import) and deliberate 503s (a store
        that is down) do not count: other tests sharing the server cause them."""
        return [line for line in self.log_text()[offset:].splitlines()
                if '"status": 500' in line or '"msg": "unexpected error"' in line]


def make_server(data_dir: Path, port: int | None = None, public_url: str | None = None,
                **settings: str) -> Server:
    port = port or free_port()
    env = dict(os.environ)
    for key in list(env):
        if key.startswith(("NIMBUS_", "OS_", "AWS_")):
            del env[key]
    env.update({
        "NIMBUS_DATA_DIR": str(data_dir), "NIMBUS_HOST": "127.0.0.1", "NIMBUS_PORT": str(port),
        "NIMBUS_BCRYPT_ROUNDS": "4", "NIMBUS_VALIDATE_RESPONSES": "true",
        "NIMBUS_LOG_LEVEL": "INFO", "GUNICORN_WORKERS": "1",
        # tests import from local servers on random ports
        "NIMBUS_IMAGE_IMPORT_ALLOWED_PORTS": "",
        # every module makes security groups in the shared demo project (Neutron's
        # defaults, 10 and 100, would run out; tests of the limits set their own)
        "NIMBUS_QUOTA_SECURITY_GROUPS": "1000", "NIMBUS_QUOTA_SECURITY_GROUP_RULES": "10000",
    })
    if public_url:
        env["NIMBUS_PUBLIC_URL"] = public_url
    for key, value in settings.items():
        env[f"NIMBUS_{key.upper()}"] = str(value)
    data_dir.mkdir(parents=True, exist_ok=True)
    return Server(data_dir=data_dir, port=port, env=env, public_url=public_url or "")
