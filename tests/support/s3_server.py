"""moto's S3 emulator as a real HTTP endpoint for tests, in its own process
(so its memory and threads stay out of the test process) on a free port.

    s3 = MotoS3Server(log_dir).start()
    ... s3.endpoint_url, s3.access_key, s3.secret_key, s3.region, s3.client() ...
    s3.stop()
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from tests.support.server import free_port


def moto_installed() -> bool:
    """Whether moto's server (``moto[server]``) is importable."""
    return importlib.util.find_spec("moto") is not None and \
        importlib.util.find_spec("flask") is not None


class MotoS3Server:
    """Starts and stops ``python -m moto.server`` on 127.0.0.1."""

    access_key = "testing"
    secret_key = "testing"
    region = "us-east-1"

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = Path(log_dir)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.startup_seconds = 0.0
        self._client: Any = None
        self._session: Any = None


    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> MotoS3Server:
        """Starts the server and waits until it answers."""
        began = time.monotonic()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        with open(self.log_dir / "moto.log", "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto exited with {self.proc.returncode}:\n"
                                   + (self.log_dir / "moto.log").read_text(errors="replace"))
            try:
                requests.get(f"{self.endpoint_url}/moto-api/", timeout=2)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"moto did not start in {timeout}s") from None
                time.sleep(0.1)
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Stops the server (SIGTERM, then SIGKILL after 10 s)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def client(self) -> Any:
        """A boto3 S3 client for this endpoint (to inspect buckets in tests),
        made once: building one takes a quarter of a second."""
        if self._client is None:
            self._client = self._new_client()
        return self._client

    def session(self) -> Any:
        """One boto3 session for every client the tests build (a fresh session
        loads botocore's models again: ~0.3 s a client)."""
        import boto3

        if self._session is None:
            self._session = boto3.session.Session()
        return self._session

    def _new_client(self) -> Any:
        from botocore.config import Config

        return self.session().client(
            "s3", endpoint_url=self.endpoint_url, region_name=self.region,
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
            config=Config(s3={"addressing_style": "path"}))
