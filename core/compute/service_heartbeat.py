"""Conductors and schedulers in the services list, as Nova lists them.

Each conductor or scheduler process keeps one row of the services table
fresh — binary ``nova-conductor`` or ``nova-scheduler``, its host
(``NIMBUS_SERVICE_HOST``, by default the machine's name), in the ``internal``
zone — writing to the database directly, as both have database access.
(Compute agents have none: they report through the conductor.) A process
that stops writing is ``down`` in ``openstack compute service list`` once
``service_down_time`` has passed since its last beat; a row whose service was
disabled by an admin stays disabled across restarts.

Several processes of one binary on one host share the row, as Nova's do: the
host is up while any of them beats.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.clock import utcnow
from core.compute.hosts import INTERNAL_ZONE
from core.compute.models import ComputeService
from core.db import Database

log = logging.getLogger(__name__)

CONDUCTOR_BINARY = "nova-conductor"
SCHEDULER_BINARY = "nova-scheduler"
TOPICS = {CONDUCTOR_BINARY: "conductor", SCHEDULER_BINARY: "scheduler"}


class ServiceHeartbeat:
    """Registers ``binary`` on ``host`` and beats every ``interval`` seconds
    from a thread of its own. A beat that fails (the database is down) is
    logged and tried again at the next interval."""

    def __init__(self, db: Database, host: str, binary: str, interval: float) -> None:
        self.db = db
        self.host = host
        self.binary = binary
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def start(self) -> ServiceHeartbeat:
        self._stop.clear()
        self.beat()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"heartbeat-{self.binary}")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def beat(self) -> bool:
        """Write one beat (registering the row if it is missing); False if it failed."""
        try:
            self._write()
        except Exception as exc:  # noqa: BLE001 - a missed beat is retried next interval
            if not self._failing:
                log.warning("%s on %s: heartbeat failed (%s); retrying every %.1f s",
                            self.binary, self.host, exc, self.interval)
            self._failing = True
            return False
        if self._failing:
            log.info("%s on %s: heartbeat written again", self.binary, self.host)
        self._failing = False
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()

    def _write(self) -> None:
        now = utcnow()
        for attempt in range(2):  # another process of this host may insert it first
            try:
                with self.db.session() as s:
                    row = s.scalar(select(ComputeService).where(
                        ComputeService.host == self.host,
                        ComputeService.binary == self.binary))
                    if row is None:
                        row = ComputeService(host=self.host, binary=self.binary,
                                             topic=TOPICS.get(self.binary, self.binary),
                                             availability_zone=INTERNAL_ZONE, report_count=0)
                        s.add(row)
                    row.last_seen_up = row.updated_at = now
                    row.report_count = (row.report_count or 0) + 1
                return
            except IntegrityError:
                if attempt:
                    raise
