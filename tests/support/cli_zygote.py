"""The real `openstack` command, started from a warm copy of itself.

Each `openstack` run spends over a second of CPU importing the client (cliff,
cmd2, openstacksdk, keystoneauth1 and its plugins) before it reads its first
argument: the API tests' largest single cost on two cores. A zygote process
per test worker imports the client once; each command is then a fork of it
that runs the client's own entry point (``openstackclient.shell.main``, what
``.venv/bin/openstack`` calls) with the command's arguments, environment and
working directory, its stdout and stderr captured, and its exit status
returned. The same client code runs as from a shell, from a fresh copy of
the same process image each time (nothing carries over from one command to
the next), without the imports.

Run as ``python -m tests.support.cli_zygote SOCKET``; :class:`Zygote` starts
and talks to it.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What every command imports anyway; the command modules load on first use.
WARM = ("openstackclient.shell", "openstackclient.common.clientmanager",
        "openstack.connection", "openstack.config", "keystoneauth1.session",
        "keystoneauth1.identity.v3", "osc_lib.shell", "cliff.app", "cmd2")


def _send(conn: socket.socket, value: dict) -> None:
    data = json.dumps(value).encode()
    conn.sendall(struct.pack("!I", len(data)) + data)


def _receive(conn: socket.socket) -> dict | None:
    head = _read(conn, 4)
    if head is None:
        return None
    data = _read(conn, struct.unpack("!I", head)[0])
    return json.loads(data) if data is not None else None


def _read(conn: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = conn.recv(min(left, 1 << 16))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# ---- the zygote -------------------------------------------------------------------
def _child(request: dict, out: int, err: int) -> None:
    """In the fork: become the command, then leave with its exit status."""
    code = 1
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        sys.argv = ["openstack", *request["args"]]
        from openstackclient.shell import main

        code = main(request["args"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported as the command's own crash would be
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code if isinstance(code, int) else 1)


def _run(request: dict) -> dict:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:
            _child(request, out.fileno(), err.fileno())
        deadline = time.monotonic() + request["timeout"]
        status, timed_out = None, False
        while status is None:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(raw)
            elif time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                status, timed_out = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), True
            else:
                time.sleep(0.005)
        out.seek(0)
        err.seek(0)
        return {"returncode": status, "timed_out": timed_out,
                "stdout": out.read().decode(errors="replace"),
                "stderr": err.read().decode(errors="replace")}


def serve(path: str) -> None:
    for name in WARM:
        importlib.import_module(name)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)
    print("ready", flush=True)
    while True:
        conn, _ = server.accept()
        with conn:
            request = _receive(conn)
            if request is None or request.get("stop"):
                break
            _send(conn, _run(request))
    server.close()


# ---- the test side ----------------------------------------------------------------
class Zygote:
    """A warm `openstack` for this process, started on first use."""

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="osc-zygote-")
        self.path = os.path.join(self._dir, "sock")
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        # HOME of its own, empty: the client finds no clouds.yaml but the one given
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "NIMBUS_"))}
        env.update(HOME=self._dir, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.support.cli_zygote",
                                      self.path], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                     start_new_session=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"the openstack zygote did not start: {line!r}")

    def run(self, args: list[str], env: dict[str, str], cwd: str,
            timeout: float) -> subprocess.CompletedProcess:
        """``openstack *args`` as a subprocess.run(capture_output=True, text=True)
        would give it; TimeoutExpired past ``timeout``."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(self.path)
            _send(conn, {"args": args, "env": env, "cwd": cwd, "timeout": timeout})
            reply = _receive(conn)
        if reply is None:
            raise RuntimeError("the openstack zygote went away")
        cmd = ["openstack", *args]
        if reply["timed_out"]:
            raise subprocess.TimeoutExpired(cmd, timeout, reply["stdout"], reply["stderr"])
        return subprocess.CompletedProcess(cmd, reply["returncode"], reply["stdout"],
                                           reply["stderr"])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(OSError), \
                    socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.connect(self.path)
                _send(conn, {"stop": True})
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
            os.rmdir(self._dir)


if __name__ == "__main__":
    serve(sys.argv[1])
