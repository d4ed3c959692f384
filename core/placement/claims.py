"""Atomic resource claims on compute nodes: what placement does for Nova, in our own DB.

A claim is one conditional UPDATE of the node row (the counters grow only if the
result still fits under ``total * allocation_ratio``) and the Allocation row
insert, in one transaction. The database serialises concurrent UPDATEs of a row
and re-checks the condition against the newest committed values (PostgreSQL and
MariaDB under READ COMMITTED; SQLite has a single writer), so several schedulers
never over-commit a node, however stale the host states they chose it from.
Every change to a node's usage also appends to the host changes log
(``core.placement.changes``) in its transaction: the schedulers' in-memory host
states follow it. A release deletes each allocation row before giving its
resources back: whoever deleted the row gives them back, exactly once. Nodes are
visited in id order; a deadlock victim or a busy SQLite database is retried a few
times.

Claims, releases and renames are idempotent: a message delivered twice changes
nothing twice.

A claim may name its ``holder``: the conductor flow that asked for it. Only a
claim with the same holder (or a holder-less claim, for a holder-less caller)
counts as "already held"; a claim of another holder on the node makes the node
unavailable to this one. A release that names a holder deletes only that
holder's claims, so a duplicate delivery of a build (RabbitMQ redelivers a
message whose consumer lost its connection, also while that consumer lives on)
never releases the claim of the live flow it duplicates.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

from sqlalchemy import Executable, Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from core import errors
from core.db import Database
from core.db.base import utcnow
from core.placement.changes import note_hosts_changed, note_nodes_changed
from core.placement.models import Allocation, ComputeNode

NODES = cast(Table, ComputeNode.__table__)
ALLOCATIONS = cast(Table, Allocation.__table__)
ATTEMPTS = 6
ANY_HOLDER: Final = "*"  # release_resources: every claim of the consumer, whoever holds it

T = TypeVar("T")

# The claim's statements, built once (a scheduler runs them for every instance).
# It takes the resources only if the counters stay within total * ratio.
_FITS = update(NODES).where(
    NODES.c.id == bindparam("node"),
    NODES.c.vcpus_used + bindparam("add_vcpus") <= NODES.c.vcpus * NODES.c.cpu_allocation_ratio,
    NODES.c.memory_mb_used + bindparam("add_ram")
    <= NODES.c.memory_mb * NODES.c.ram_allocation_ratio,
    NODES.c.local_gb_used + bindparam("add_disk")
    <= NODES.c.local_gb * NODES.c.disk_allocation_ratio,
).values(vcpus_used=NODES.c.vcpus_used + bindparam("add_vcpus"),
         memory_mb_used=NODES.c.memory_mb_used + bindparam("add_ram"),
         local_gb_used=NODES.c.local_gb_used + bindparam("add_disk"),
         running_vms=NODES.c.running_vms + 1, generation=NODES.c.generation + 1)
_FITS_AT_GENERATION = _FITS.where(NODES.c.generation == bindparam("at_generation"))
_ADD_ALLOCATION = insert(ALLOCATIONS)
_HOLDER = select(ALLOCATIONS.c.holder).where(ALLOCATIONS.c.consumer_uuid == bindparam("consumer"),
                                             ALLOCATIONS.c.node_id == bindparam("node"))


def _transient(exc: BaseException) -> bool:
    """A deadlock victim or a busy SQLite database: worth running the transaction again."""
    cause = exc.__cause__ if isinstance(exc, errors.ServiceUnavailable) else exc
    if not isinstance(cause, OperationalError):
        return False
    text = str(cause.orig).lower()
    return "deadlock" in text or "database is locked" in text


def with_retries(transaction: Callable[[], T], retry_on: tuple[type[BaseException], ...] = ()
                 ) -> T:
    """Run ``transaction`` again (up to ``ATTEMPTS`` times, with jittered backoff)
    when it lost a deadlock, found SQLite busy, or raised one of ``retry_on``."""
    caught: tuple[type[BaseException], ...] = (OperationalError, errors.ServiceUnavailable,
                                               *retry_on)
    for attempt in range(ATTEMPTS):
        try:
            return transaction()
        except caught as exc:
            last = attempt == ATTEMPTS - 1
            if last or not (isinstance(exc, retry_on) or _transient(exc)):
                raise
            time.sleep(random.uniform(0, 0.02 * 2 ** attempt))
    raise AssertionError("unreachable")


def claim_resources(db: Database, consumer_uuid: str, node_id: int,
                    resources: dict[str, int], project_id: str | None,
                    generation: int | None = None, holder: str | None = None) -> bool:
    """Take ``resources`` (vcpus, memory_mb, disk_gb) on node ``node_id`` for
    ``consumer_uuid``, atomically, held by ``holder``.

    Returns False, changing nothing, when they no longer fit (or the node is
    gone, or ``generation`` is given and the node's differs, or another holder's
    claim for the consumer is on the node). Returns True when claimed, and also
    when ``holder`` already holds the consumer's allocation on this node (a
    repeated claim takes nothing twice).
    """
    vcpus, ram, disk = (int(resources["vcpus"]), int(resources["memory_mb"]),
                        int(resources["disk_gb"]))
    if min(vcpus, ram, disk) < 0:
        raise errors.InvalidInput("resources to claim must not be negative")
    fits = _FITS if generation is None else _FITS_AT_GENERATION
    amounts = {"node": node_id, "add_vcpus": vcpus, "add_ram": ram, "add_disk": disk,
               "at_generation": generation}

    def transaction() -> bool:
        with db.session() as s:
            existing = _holder_of(s, consumer_uuid, node_id)
            if existing is not None:
                return existing == (holder,)
            # Node row first (it is locked until commit), then the allocation row.
            if matched_rows(s, fits, amounts) != 1:
                return False
            s.connection().execute(_ADD_ALLOCATION, {
                "consumer_uuid": consumer_uuid, "node_id": node_id, "vcpus": vcpus,
                "memory_mb": ram, "disk_gb": disk, "project_id": project_id,
                "holder": holder, "created_at": utcnow()})
            note_nodes_changed(s, [node_id])
        return True

    try:
        return with_retries(transaction)
    except IntegrityError:
        # The same consumer claimed this node concurrently; its claim stands alone.
        with db.session() as s:
            return _holder_of(s, consumer_uuid, node_id) == (holder,)


def matched_rows(s: Session, stmt: Executable, params: dict[str, Any] | None = None) -> int:
    """Rows an UPDATE or DELETE matched, run in the session's transaction."""
    return s.connection().execute(stmt, params).rowcount


def _holds(s: Session, consumer_uuid: str, node_id: int) -> bool:
    return _holder_of(s, consumer_uuid, node_id) is not None


def _holder_of(s: Session, consumer_uuid: str, node_id: int) -> tuple[str | None] | None:
    """``(holder,)`` of the consumer's allocation on the node, None when it has none."""
    row = s.connection().execute(_HOLDER, {"consumer": consumer_uuid, "node": node_id}).first()
    return None if row is None else (row.holder,)


def _give_back(s: Session, node_id: int, vcpus: int, ram: int, disk: int, vms: int) -> None:
    s.execute(update(NODES).where(NODES.c.id == node_id).values(
        vcpus_used=NODES.c.vcpus_used - vcpus, memory_mb_used=NODES.c.memory_mb_used - ram,
        local_gb_used=NODES.c.local_gb_used - disk, running_vms=NODES.c.running_vms - vms,
        generation=NODES.c.generation + 1))
    note_nodes_changed(s, [node_id])


def release_resources(db: Database, consumer_uuid: str, node_id: int | None = None,
                      holder: str | None = ANY_HOLDER) -> int:
    """Delete the consumer's allocations (on every node, or on ``node_id`` only;
    held by ``holder`` only, unless it is ``ANY_HOLDER``; None means the
    instance's own) and give their resources back to the nodes. Returns how many
    allocations it removed; a second call (or a concurrent one) removes nothing
    and changes no counter."""
    mine = [] if holder == ANY_HOLDER else [
        ALLOCATIONS.c.holder.is_(None) if holder is None else ALLOCATIONS.c.holder == holder]

    def transaction() -> int:
        released = 0
        with db.session() as s:
            stmt = select(ALLOCATIONS).where(ALLOCATIONS.c.consumer_uuid == consumer_uuid,
                                             *mine)
            if node_id is not None:
                stmt = stmt.where(ALLOCATIONS.c.node_id == node_id)
            for a in s.execute(stmt.order_by(ALLOCATIONS.c.node_id)).all():
                # Whoever deletes the row gives its resources back: exactly once.
                gone = matched_rows(s, delete(ALLOCATIONS).where(
                    ALLOCATIONS.c.consumer_uuid == consumer_uuid,
                    ALLOCATIONS.c.node_id == a.node_id, *mine))
                if gone == 1:
                    _give_back(s, a.node_id, a.vcpus, a.memory_mb, a.disk_gb, 1)
                    released += 1
        return released

    return with_retries(transaction)


def rename_consumer(db: Database, old_uuid: str, new_uuid: str) -> int:
    """Move ``old_uuid``'s allocations to ``new_uuid`` (a resize parks the source side
    under a migration id, and moves it back on revert). Where ``new_uuid`` already
    holds an allocation on the same node the two are merged. Node usage does not
    change. Returns how many allocations moved; idempotent."""

    def transaction() -> int:
        moved = 0
        with db.session() as s:
            rows = s.execute(select(ALLOCATIONS).where(
                ALLOCATIONS.c.consumer_uuid == old_uuid).order_by(ALLOCATIONS.c.node_id)).all()
            for a in rows:
                same_row = (ALLOCATIONS.c.consumer_uuid == old_uuid,
                            ALLOCATIONS.c.node_id == a.node_id)
                if not _holds(s, new_uuid, a.node_id):
                    moved += matched_rows(s, update(ALLOCATIONS).where(*same_row)
                                       .values(consumer_uuid=new_uuid))
                    continue
                if matched_rows(s, delete(ALLOCATIONS).where(*same_row)) != 1:
                    continue
                s.execute(update(ALLOCATIONS).where(
                    ALLOCATIONS.c.consumer_uuid == new_uuid,
                    ALLOCATIONS.c.node_id == a.node_id).values(
                    vcpus=ALLOCATIONS.c.vcpus + a.vcpus,
                    memory_mb=ALLOCATIONS.c.memory_mb + a.memory_mb,
                    disk_gb=ALLOCATIONS.c.disk_gb + a.disk_gb))
                # One allocation row fewer on the node: one consumer fewer counted.
                _give_back(s, a.node_id, 0, 0, 0, 1)
                moved += 1
        return moved

    return with_retries(transaction, retry_on=(IntegrityError,))


def record_build_result(db: Database, host: str, success: bool) -> None:
    """Count a failed build on ``host`` (BuildFailureWeigher), or reset the count
    after a successful one (writing nothing when there is none to reset)."""
    stmt = update(NODES).where(NODES.c.host == host)
    if success:
        stmt = stmt.where(NODES.c.failed_builds != 0).values(failed_builds=0)
    else:
        stmt = stmt.values(failed_builds=NODES.c.failed_builds + 1)

    def transaction() -> None:
        with db.session() as s:
            if matched_rows(s, stmt):
                note_hosts_changed(s, [host])

    with_retries(transaction)
