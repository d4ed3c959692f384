"""Volumes left ``creating`` by a lost message are picked up again.

A message can be lost with the process holding it: the in-memory bus of a
stopped all-in-one, an agent killed with no one to restart it under its name.
Every ``interval`` seconds the watch finds volumes ``creating`` for longer than
``timeout`` seconds and sends them on again — to a scheduler when they have no
pool yet, to their back end's agent when they have one. Both are idempotent,
so a volume that was merely slow is not harmed.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import func, select, update

from core.clock import utcnow
from core.db import Database
from core.volume.models import Volume
from core.volume.rpcapi import VolumeAgentClient, VolumeSchedulerClient, volume_message

log = logging.getLogger(__name__)


class CreateWatch:
    def __init__(self, db: Database, scheduler: VolumeSchedulerClient,
                 agents: VolumeAgentClient, timeout: float, interval: float) -> None:
        self.db = db
        self.scheduler = scheduler
        self.agents = agents
        self.timeout = timeout
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def resend_stuck(self) -> int:
        """Send the stuck creates on again; returns how many."""
        cutoff = utcnow() - timedelta(seconds=self.timeout)
        with self.db.session() as s:
            stuck = list(s.scalars(select(Volume).where(
                Volume.status == "creating",
                func.coalesce(Volume.updated_at, Volume.created_at) < cutoff).limit(100)))
            # Touched, so that other watches (one per scheduler) leave them for a while.
            for volume in stuck:
                s.execute(update(Volume).where(Volume.id == volume.id,
                                               Volume.status == "creating")
                          .values(updated_at=utcnow()),
                          execution_options={"synchronize_session": False})
        for volume in stuck:
            if volume.host:
                self.agents.create_volume(volume.host.partition("#")[0],
                                          {**volume_message(volume), "host": volume.host})
            else:
                self.scheduler.create_volume(volume.id)
        if stuck:
            log.warning("%d volumes stuck creating sent on again", len(stuck))
        return len(stuck)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.resend_stuck()
            except Exception:  # noqa: BLE001 - tried again next interval
                log.warning("looking for stuck volumes failed", exc_info=True)

    def start(self) -> CreateWatch:
        if self.timeout > 0:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="volume-create-watch",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
