"""The gunicorn worker of an API node: uvicorn's (``uvicorn_worker``), plus
draining on SIGTERM.

On SIGTERM the app's health check (gateway/health.py) answers 503 at once.
With ``NIMBUS_DRAIN_DELAY`` the worker then goes on serving for that many
seconds, so an active health checker (HAProxy's ``option httpchk``) takes the
node out of its pool before it stops accepting; then, as without a delay,
uvicorn's graceful shutdown: stop accepting, let the requests in flight
finish (up to gunicorn's ``graceful_timeout``), exit. nginx needs no delay:
it retries a refused connection on another node.
"""

from __future__ import annotations

import signal
import sys
import time
from types import FrameType
from typing import Any

from gunicorn.arbiter import Arbiter
from uvicorn.config import Config
from uvicorn.server import Server
from uvicorn_worker import UvicornWorker

from gateway.http_protocol import CoalescingHttpToolsProtocol


class DrainingServer(Server):
    """A uvicorn server that reports SIGTERM to ``health`` and, if its
    ``drain_delay`` says so, stops only that long afterwards."""

    def __init__(self, config: Config, health: Any, graceful_timeout: float) -> None:
        super().__init__(config)
        self.health = health
        # gunicorn SIGKILLs a worker graceful_timeout after SIGTERM: leave the
        # requests in flight at least half of it.
        delay = float(getattr(health, "drain_delay", 0.0) or 0.0)
        self.drain_delay = min(delay, graceful_timeout / 2)
        self.stop_at: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGTERM and self.health is not None:
            self.health.start_draining()
            if self.stop_at is not None:
                # Draining already: systemd signals the whole group, so the
                # master's SIGTERM and the supervisor's both arrive.
                return
            if self.drain_delay > 0 and not self.should_exit:
                self._captured_signals.append(sig)  # re-raised after the shutdown
                self.stop_at = time.monotonic() + self.drain_delay
                return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self.stop_at is not None and time.monotonic() >= self.stop_at:
            self.should_exit = True
        return await super().on_tick(counter)


class NimbusWorker(UvicornWorker):
    """``worker_class`` of gunicorn.conf.py: a response's headers and body leave
    in one write (gateway/http_protocol.py)."""

    CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, "http": CoalescingHttpToolsProtocol}

    async def _serve(self) -> None:  # as UvicornWorker._serve, with DrainingServer
        self.config.app = self.wsgi
        server = DrainingServer(self.config, getattr(self.wsgi, "health", None),
                                self.cfg.graceful_timeout)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)
