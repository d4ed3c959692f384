"""Atomic capacity claims on storage pools (``core.placement.claims`` for volumes).

A claim is one conditional UPDATE of the pool row — ``provisioned_capacity_gb``
grows only if the result still fits under the pool's limit — and the
``volume_claims`` row insert, in one transaction. The database serialises
concurrent UPDATEs of a row and re-checks the condition against the newest
committed value, so several schedulers never over-subscribe a pool.

The limit follows Cinder's capacity factors: ``total - floor(total *
reserved_percentage / 100)``, times ``max_over_subscription_ratio`` when the
volume is thin and the pool supports thin provisioning. The reported figures it
is computed from change only with the back end's reports; the counter the
condition reads is the one that races.

A release deletes the claim row first: whoever deleted it gives the capacity
back, exactly once. Claims, resizes and releases are idempotent.
"""

from __future__ import annotations

import enum
import math
from typing import cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import errors
from core.db import Database
from core.db.base import utcnow
from core.placement.claims import matched_rows, with_retries
from core.volume.models import VolumeClaim, VolumePool

POOLS = cast(Table, VolumePool.__table__)
CLAIMS = cast(Table, VolumeClaim.__table__)


class Claim(enum.Enum):
    """What :func:`claim_capacity` did."""

    CLAIMED = "claimed"      # newly claimed on the pool
    HELD = "held"            # the volume already held a claim on this pool
    ELSEWHERE = "elsewhere"  # the volume holds a claim on another pool: nothing taken
    NO_ROOM = "no_room"      # it does not fit (or the pool is gone): nothing taken

    def __bool__(self) -> bool:
        return self in (Claim.CLAIMED, Claim.HELD)


def capacity_limit(total_gb: float, reserved_percentage: int, max_over_subscription_ratio:
                   float, thin_support: bool, thin: bool) -> float:
    """The most a pool may have provisioned for a volume of this kind (Cinder's
    ``total_available_capacity``)."""
    if total_gb < 0:  # reported as infinite or unknown
        return math.inf
    available = total_gb - math.floor(total_gb * reserved_percentage / 100)
    if thin and thin_support and max_over_subscription_ratio >= 1:
        return available * max_over_subscription_ratio
    return available


def _limit_of(s: Session, pool_id: int, thin: bool) -> float | None:
    row = s.execute(select(POOLS.c.total_capacity_gb, POOLS.c.reserved_percentage,
                           POOLS.c.max_over_subscription_ratio,
                           POOLS.c.thin_provisioning_support)
                    .where(POOLS.c.id == pool_id)).first()
    if row is None:
        return None
    return capacity_limit(row.total_capacity_gb, row.reserved_percentage,
                          row.max_over_subscription_ratio, row.thin_provisioning_support, thin)


def _grow(s: Session, pool_id: int, delta: int, limit: float | None) -> bool:
    """Add ``delta`` GB to the pool's counter, if it stays under ``limit`` (None: no
    check, for giving back)."""
    stmt = update(POOLS).where(POOLS.c.id == pool_id)
    if limit is not None and not math.isinf(limit):
        stmt = stmt.where(POOLS.c.provisioned_capacity_gb + delta <= limit)
    return matched_rows(s, stmt.values(
        provisioned_capacity_gb=POOLS.c.provisioned_capacity_gb + delta,
        generation=POOLS.c.generation + 1)) == 1


def _claim_of(s: Session, volume_id: str) -> tuple[int, int] | None:
    """``(pool_id, size_gb)`` of the volume's claim, None when it has none."""
    row = s.execute(select(CLAIMS.c.pool_id, CLAIMS.c.size_gb)
                    .where(CLAIMS.c.volume_id == volume_id)).first()
    return None if row is None else (row.pool_id, row.size_gb)


def claim_in(s: Session, volume_id: str, pool_id: int, size_gb: int,
             thin: bool = True) -> Claim:
    """:func:`claim_capacity` inside the caller's transaction (which may do more,
    such as placing the volume, and roll it all back together)."""
    if size_gb < 0:
        raise errors.InvalidInput("a claim must not be negative")
    existing = _claim_of(s, volume_id)
    if existing is not None:
        return Claim.HELD if existing[0] == pool_id else Claim.ELSEWHERE
    limit = _limit_of(s, pool_id, thin)
    # Pool row first (it stays locked until commit), then the claim row.
    if limit is None or not _grow(s, pool_id, size_gb, limit):
        return Claim.NO_ROOM
    s.execute(insert(CLAIMS).values(volume_id=volume_id, pool_id=pool_id, size_gb=size_gb,
                                    created_at=utcnow()))
    return Claim.CLAIMED


def claim_capacity(db: Database, volume_id: str, pool_id: int, size_gb: int,
                   thin: bool = True) -> Claim:
    """Take ``size_gb`` on pool ``pool_id`` for ``volume_id``, atomically."""

    def transaction() -> Claim:
        with db.session() as s:
            return claim_in(s, volume_id, pool_id, size_gb, thin)

    try:
        return with_retries(transaction)
    except IntegrityError:
        # The same volume was claimed concurrently; that claim stands alone.
        with db.session() as s:
            existing = _claim_of(s, volume_id)
        if existing is None:
            return Claim.NO_ROOM
        return Claim.HELD if existing[0] == pool_id else Claim.ELSEWHERE


class Raced(Exception):
    """The claim changed between reading and updating it: run the transaction again."""


def resize_in(s: Session, volume_id: str, new_size_gb: int, thin: bool = True) -> bool:
    """:func:`resize_claim` inside the caller's transaction; raises :class:`Raced`
    when a concurrent resize got there first (roll back and run again)."""
    existing = _claim_of(s, volume_id)
    if existing is None:
        return False
    pool_id, size = existing
    if size == new_size_gb:
        return True
    delta = new_size_gb - size
    limit = _limit_of(s, pool_id, thin) if delta > 0 else None
    if delta > 0 and limit is None:
        return False
    if not _grow(s, pool_id, delta, limit):
        return False
    if matched_rows(s, update(CLAIMS).where(CLAIMS.c.volume_id == volume_id,
                                     CLAIMS.c.size_gb == size)
             .values(size_gb=new_size_gb)) != 1:
        raise Raced()
    return True


def resize_claim(db: Database, volume_id: str, new_size_gb: int, thin: bool = True) -> bool:
    """Make the volume's claim ``new_size_gb`` on its own pool: growing only if it
    fits, shrinking always. True when the claim has that size (also when it
    already had); False when it does not fit or there is no claim."""

    def transaction() -> bool:
        with db.session() as s:
            return resize_in(s, volume_id, new_size_gb, thin)

    return with_retries(transaction, retry_on=(Raced,))


def release_in(s: Session, volume_id: str) -> int:
    """:func:`release_capacity` inside the caller's transaction."""
    existing = _claim_of(s, volume_id)
    if existing is None:
        return 0
    pool_id, size = existing
    # Whoever deletes the row gives the capacity back: exactly once.
    if matched_rows(s, delete(CLAIMS).where(CLAIMS.c.volume_id == volume_id)) != 1:
        return 0
    _grow(s, pool_id, -size, None)
    return size


def release_capacity(db: Database, volume_id: str) -> int:
    """Delete the volume's claim and give its capacity back to the pool. Returns
    the GB given back; a second call (or a concurrent one) gives back nothing."""

    def transaction() -> int:
        with db.session() as s:
            return release_in(s, volume_id)

    return with_retries(transaction)


def claim_of(db: Database, volume_id: str) -> tuple[int, int] | None:
    """``(pool_id, size_gb)`` of the volume's claim, None when it holds none."""
    with db.session() as s:
        return _claim_of(s, volume_id)
