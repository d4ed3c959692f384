"""The volume manager's endpoints on ``MANAGER_TOPIC``: it records what the volume
agents (which have no database) report.

Every change is a compare-and-swap on the status the result belongs to, so a
report delivered twice changes nothing the second time. Claims and quota move
in the same transaction as the status:

- created: ``creating`` → ``available``. A failed create gives the pool's claim
  back and goes through the scheduler again (the pools tried are kept in
  ``Volume.scheduling``), until ``volume_max_attempts`` pools failed: then
  ``error`` with the fault.
- deleted: the row goes, with its claim, its remaining snapshots and their
  quota (volumes, gigabytes, snapshots); a failure leaves ``error_deleting``.
- extended: the new size, back to the previous status; a failure leaves
  ``error_extending`` and gives back the claim's growth and the quota's.
- snapshot created / deleted likewise (snapshots, gigabytes).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.db import Database
from core.image.data import ImageData
from core.placement.claims import with_retries
from core.quota.service import QuotaService
from core.volume import claims
from core.volume.base import forget_ec2
from core.volume.images import UploadRecorder
from core.volume.models import Snapshot, Volume
from core.volume.rpcapi import VolumeSchedulerClient

log = logging.getLogger(__name__)


def _cas(s: Session, model: Any, row_id: str, expected: str, **values: Any) -> bool:
    """Set ``values`` on the row if its status is still ``expected``."""
    result = s.execute(update(model).where(model.id == row_id, model.status == expected)
                       .values(**values, updated_at=utcnow()),
                       execution_options={"synchronize_session": False})
    return result.rowcount == 1  # type: ignore[attr-defined, no-any-return]


class VolumeManager:
    RPC_METHODS = frozenset({"volume_created", "volume_deleted", "volume_extended",
                             "snapshot_created", "snapshot_deleted", "volume_uploaded"})

    def __init__(self, db: Database, quotas: QuotaService, scheduler: VolumeSchedulerClient,
                 max_attempts: int = 3, images: ImageData | None = None) -> None:
        self.db = db
        self.uploads = UploadRecorder(db, images)
        self.quotas = quotas
        self.scheduler = scheduler
        self.max_attempts = max_attempts

    # ---- volumes -------------------------------------------------------------
    def volume_created(self, volume_id: str, host: str, error: str | None = None
                       ) -> dict[str, Any]:
        if error is None:
            with self.db.session() as s:
                s.execute(update(Volume).where(
                    Volume.id == volume_id, Volume.status == "creating", Volume.host == host)
                    .values(status="available", launched_at=utcnow(), fault=None,
                            updated_at=utcnow()),
                    execution_options={"synchronize_session": False})
            return self._status(volume_id)
        return self._reschedule(volume_id, host, error)

    def _reschedule(self, volume_id: str, host: str, error: str) -> dict[str, Any]:
        """The create failed on ``host``: give its claim back and try another
        pool, or fail the volume once ``max_attempts`` pools have failed."""

        def transaction() -> str | None:
            with self.db.session() as s:
                volume = s.get(Volume, volume_id)
                if volume is None or volume.status != "creating" or volume.host != host:
                    return None  # a repeated report, or the volume moved on
                hosts = list((volume.scheduling or {}).get("hosts", []))
                if host not in hosts:
                    hosts.append(host)
                scheduling = {**(volume.scheduling or {}), "hosts": hosts,
                              "attempts": len(hosts), "exc": error[:255]}
                values: dict[str, Any] = {"host": None, "scheduling": scheduling}
                outcome = "rescheduled"
                if len(hosts) >= self.max_attempts:
                    values.update(status="error", fault=(
                        f"No valid backend was found. Exceeded max scheduling attempts "
                        f"{self.max_attempts} for resource {volume_id}: {error}")[:1024])
                    outcome = "error"
                changed = s.execute(update(Volume).where(
                    Volume.id == volume_id, Volume.status == "creating",
                    Volume.host == host).values(**values, updated_at=utcnow()),
                    execution_options={"synchronize_session": False})
                if changed.rowcount != 1:  # type: ignore[attr-defined]
                    return None
                claims.release_in(s, volume_id)
            return outcome

        outcome = with_retries(transaction)
        log.warning("volume %s: create failed on %s (%s): %s", volume_id, host, error,
                    outcome or "already handled")
        if outcome == "rescheduled":
            self.scheduler.create_volume(volume_id)
        return self._status(volume_id)

    def volume_deleted(self, volume_id: str, error: str | None = None) -> dict[str, Any]:
        if error is not None:
            with self.db.session() as s:
                _cas(s, Volume, volume_id, "deleting", status="error_deleting",
                     fault=error[:1024])
            return self._status(volume_id)

        def transaction() -> None:
            with self.db.session() as s:
                volume = s.get(Volume, volume_id)
                if volume is None or volume.status != "deleting":
                    return
                snaps = s.execute(select(Snapshot.id, Snapshot.size)
                                  .where(Snapshot.volume_id == volume_id)).all()
                # Whoever deletes the row gives back its claim and quota: once.
                if s.execute(delete(Snapshot).where(Snapshot.volume_id == volume_id),
                             execution_options={"synchronize_session": False}
                             ).rowcount != len(snaps):  # type: ignore[attr-defined]
                    raise claims.Raced()
                gone = s.execute(delete(Volume).where(Volume.id == volume_id,
                                                      Volume.status == "deleting"),
                                 execution_options={"synchronize_session": False})
                if gone.rowcount != 1:  # type: ignore[attr-defined]
                    raise claims.Raced()
                claims.release_in(s, volume_id)
                forget_ec2(s, [volume_id], [snap_id for snap_id, _ in snaps])
                self.quotas.release(s, volume.project_id, {
                    "volumes": 1, "snapshots": len(snaps),
                    "gigabytes": volume.size + sum(size for _, size in snaps)})

        with_retries(transaction, retry_on=(claims.Raced,))
        return self._status(volume_id)

    def volume_extended(self, volume_id: str, new_size: int, error: str | None = None
                        ) -> dict[str, Any]:
        def transaction() -> None:
            with self.db.session() as s:
                volume = s.get(Volume, volume_id)
                if volume is None or volume.status != "extending":
                    return
                if error is None:
                    _cas(s, Volume, volume_id, "extending", size=new_size,
                         status=volume.previous_status or "available", previous_status=None,
                         fault=None)
                    return
                if _cas(s, Volume, volume_id, "extending", status="error_extending",
                        fault=error[:1024]):
                    claims.resize_in(s, volume_id, volume.size)
                    self.quotas.release(s, volume.project_id,
                                        {"gigabytes": max(0, new_size - volume.size)})

        with_retries(transaction, retry_on=(claims.Raced,))
        return self._status(volume_id)

    # ---- snapshots -------------------------------------------------------------
    def snapshot_created(self, snapshot_id: str, error: str | None = None) -> dict[str, Any]:
        with self.db.session() as s:
            if error is None:
                _cas(s, Snapshot, snapshot_id, "creating", status="available",
                     progress="100%")
            else:
                _cas(s, Snapshot, snapshot_id, "creating", status="error",
                     fault=error[:1024])
        return self._snapshot_status(snapshot_id)

    def snapshot_deleted(self, snapshot_id: str, error: str | None = None) -> dict[str, Any]:
        with self.db.session() as s:
            if error is not None:
                _cas(s, Snapshot, snapshot_id, "deleting", status="error_deleting",
                     fault=error[:1024])
            else:
                snap = s.get(Snapshot, snapshot_id)
                if snap is not None and snap.status == "deleting" and s.execute(
                        delete(Snapshot).where(Snapshot.id == snapshot_id,
                                               Snapshot.status == "deleting"),
                        execution_options={"synchronize_session": False}
                ).rowcount == 1:  # type: ignore[attr-defined]
                    forget_ec2(s, snapshot_ids=[snapshot_id])
                    self.quotas.release(s, snap.project_id,
                                        {"snapshots": 1, "gigabytes": snap.size})
        return self._snapshot_status(snapshot_id)

    # ---- helpers -------------------------------------------------------------
    def volume_uploaded(self, volume_id: str, image_id: str, content: dict | None = None,
                        error: str | None = None) -> dict[str, Any]:
        """The back end read the volume: its bytes go to the image's store
        (``core.volume.images``), the volume back to its status."""
        return self.uploads.volume_uploaded(volume_id, image_id, content, error)

    def _status(self, volume_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            volume = s.get(Volume, volume_id)
            return {"id": volume_id, "status": volume.status if volume else "deleted"}

    def _snapshot_status(self, snapshot_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            snap = s.get(Snapshot, snapshot_id)
            return {"id": snapshot_id, "status": snap.status if snap else "deleted"}
