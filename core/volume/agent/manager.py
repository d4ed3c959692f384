"""The volume agent of one back end: serves ``AGENT_TOPIC`` on the back end's own
queue, carries requests out through its storage driver and reports each result
to the volume manager (calls, retried: every report is idempotent). Its pools'
capacity is fanned out to every volume scheduler at start and then every
``report_interval`` seconds."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from core.clock import utcnow
from core.volume.agent.driver import SimulatedStorage, StorageError
from core.volume.rpcapi import AGENT_TOPIC, VolumeManagerClient, VolumeSchedulerClient

log = logging.getLogger(__name__)

REPORT_ATTEMPTS = 5


class VolumeAgent:
    RPC_METHODS = frozenset({"create_volume", "delete_volume", "extend_volume",
                             "create_snapshot", "copy_snapshot", "delete_snapshot",
                             "initialize_connection", "copy_volume_to_image"})

    def __init__(self, backend: str, driver: SimulatedStorage, bus: Any,
                 manager: VolumeManagerClient, scheduler: VolumeSchedulerClient,
                 availability_zone: str = "nova", report_interval: float = 10.0,
                 max_over_subscription_ratio: float = 20.0,
                 reserved_percentage: int = 0) -> None:
        self.backend = backend
        self.driver = driver
        self.bus = bus
        self.manager = manager
        self.scheduler = scheduler
        self.availability_zone = availability_zone
        self.report_interval = report_interval
        self.max_over_subscription_ratio = max_over_subscription_ratio
        self.reserved_percentage = reserved_percentage
        self._stop = threading.Event()
        self._server: Any = None
        self._reporter: threading.Thread | None = None

    # ---- lifecycle -----------------------------------------------------------
    def start(self) -> VolumeAgent:
        self._stop.clear()
        self._server = self.bus.serve(AGENT_TOPIC, self.backend, self)
        self._server.start()
        self.report_capabilities()
        self._reporter = threading.Thread(target=self._report_loop,
                                          name=f"volume-report-{self.backend}", daemon=True)
        self._reporter.start()
        return self

    def stop(self, timeout: float = 10.0) -> bool:
        self._stop.set()
        finished = self._server.stop(timeout) if self._server is not None else True
        if self._reporter is not None:
            self._reporter.join(timeout=5)
        return bool(finished)

    def _report_loop(self) -> None:
        while not self._stop.wait(self.report_interval):
            self.report_capabilities()

    def capabilities(self) -> dict[str, Any]:
        return {"volume_backend_name": self.backend.partition("@")[2] or self.backend,
                "vendor_name": "Nimbus", "driver_version": "1.0",
                "storage_protocol": "iSCSI"}

    def report_capabilities(self) -> None:
        """Fan the pools' figures out to every volume scheduler."""
        pools = [{**p, "max_over_subscription_ratio": self.max_over_subscription_ratio,
                  "reserved_percentage": self.reserved_percentage}
                 for p in self.driver.pool_stats()]
        try:
            self.scheduler.update_service_capabilities(
                self.backend, self.availability_zone, self.capabilities(), pools,
                utcnow().isoformat())
        except Exception:  # noqa: BLE001 - the next report tries again
            log.warning("%s: capacity report failed", self.backend, exc_info=True)

    # ---- reporting results -----------------------------------------------------
    def _report(self, what: str, send: Callable[[], Any]) -> None:
        """Send a result to the manager, retried: the manager may be restarting."""
        for attempt in range(REPORT_ATTEMPTS):
            try:
                send()
                return
            except Exception:  # noqa: BLE001
                if attempt == REPORT_ATTEMPTS - 1 or self._stop.is_set():
                    log.exception("%s: reporting %s failed", self.backend, what)
                    return
                self._stop.wait(min(2 ** attempt, 10))

    # ---- RPC endpoints -----------------------------------------------------------
    def create_volume(self, volume: dict) -> None:
        volume_id, pool = volume["id"], volume["pool"]
        host = volume.get("host") or f"{self.backend}#{pool}"
        error = None
        try:
            self.driver.create_volume(volume_id, pool, int(volume["size"]),
                                      content=self._content(volume))
        except StorageError as exc:
            error = str(exc)
        log.info("%s: volume %s %s", self.backend, volume_id,
                 "created" if error is None else f"failed: {error}")
        self._report(f"volume {volume_id}",
                     lambda: self.manager.volume_created(volume_id, host, error))

    def _content(self, volume: dict) -> dict | None:
        """What a new volume holds: the image's bytes (copied, simulated: its id
        and size are recorded), or its source's content."""
        if volume.get("image_id"):
            return {"image_id": volume["image_id"], "size": int(volume.get("image_size") or 0)}
        return self.driver.content_of(volume.get("snapshot_id") or volume.get("source_volid"))

    def copy_volume_to_image(self, volume_id: str, image_id: str,
                             content: dict | None = None) -> None:
        """Read the volume for an image; the manager writes the bytes to the image
        store (this agent reaches no database and no image store)."""
        error, held = None, content
        try:
            found, own = self.driver.read_volume(volume_id)
            if found:
                held = own
            elif content is None:
                log.info("%s: volume %s unknown here, read as blank", self.backend, volume_id)
        except StorageError as exc:
            error = str(exc)
        self._report(f"volume {volume_id}",
                     lambda: self.manager.volume_uploaded(volume_id, image_id, held, error))

    def delete_volume(self, volume_id: str) -> None:
        error = None
        try:
            self.driver.delete_volume(volume_id)
        except StorageError as exc:
            error = str(exc)
        self._report(f"volume {volume_id}",
                     lambda: self.manager.volume_deleted(volume_id, error))

    def extend_volume(self, volume_id: str, new_size: int) -> None:
        error = None
        try:
            self.driver.extend_volume(volume_id, int(new_size))
        except StorageError as exc:
            error = str(exc)
        self._report(f"volume {volume_id}",
                     lambda: self.manager.volume_extended(volume_id, new_size, error))

    def create_snapshot(self, snapshot_id: str, volume_id: str, size: int) -> None:
        error = None
        try:
            self.driver.create_snapshot(snapshot_id, volume_id, int(size))
        except StorageError as exc:
            error = str(exc)
        self._report(f"snapshot {snapshot_id}",
                     lambda: self.manager.snapshot_created(snapshot_id, error))

    def copy_snapshot(self, snapshot_id: str, source_snapshot_id: str) -> None:
        error = None
        try:
            self.driver.copy_snapshot(snapshot_id, source_snapshot_id)
        except StorageError as exc:
            error = str(exc)
        self._report(f"snapshot {snapshot_id}",
                     lambda: self.manager.snapshot_created(snapshot_id, error))

    def delete_snapshot(self, snapshot_id: str) -> None:
        error = None
        try:
            self.driver.delete_snapshot(snapshot_id)
        except StorageError as exc:
            error = str(exc)
        self._report(f"snapshot {snapshot_id}",
                     lambda: self.manager.snapshot_deleted(snapshot_id, error))

    def initialize_connection(self, volume_id: str, connector: dict | None = None
                              ) -> dict[str, Any]:
        """iSCSI connection info, as an LVM back end gives it."""
        return {"driver_volume_type": "iscsi", "data": {
            "target_discovered": False, "target_portal": "127.0.0.1:3260",
            "target_iqn": f"iqn.2010-10.org.openstack:volume-{volume_id}",
            "target_lun": 0, "volume_id": volume_id, "access_mode": "rw",
            "encrypted": False}}
