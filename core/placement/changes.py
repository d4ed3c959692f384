"""The host changes log: what lets a scheduler keep its host states in memory.

Every writer of something the schedulers filter or weigh on appends the node's
id in the transaction that makes the change, so the two commit together or not
at all: a claim or a release (``core.placement.claims``), an agent's report (the
conductor), a compute service deleted with its node, a host joining or leaving
an aggregate, an aggregate's metadata (``core.compute``). A scheduler reads the
entries past the last one it has seen (:class:`ChangeCursor`) and reloads just
those nodes. A service's state is not logged (every host beats every few
seconds): the schedulers read which hosts are disabled, forced down or silent
per decision, through indexes on ``compute_services``.

Sequence numbers are handed out when an entry is inserted but become visible
when its transaction commits, and on PostgreSQL and MariaDB transactions commit
in any order: a reader that has seen 12 may find 11 later. The cursor keeps the
numbers it skipped as gaps and asks for them again for ``GAP_TIMEOUT`` seconds;
a gap that never fills was a rolled-back transaction. (SQLite has one writer at
a time, so there are no such gaps; its AUTOINCREMENT never reuses a number.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Connection, Table, bindparam, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from core.placement.models import ComputeNode, HostChange

CHANGES = cast(Table, HostChange.__table__)
NODES = cast(Table, ComputeNode.__table__)

GAP_TIMEOUT = 30.0  # seconds a skipped number is asked for again
MAX_GAPS = 1000     # beyond this many the oldest are given up (a resync catches up)
START_WINDOW = 256  # at a full load: numbers below the newest that may still commit

# Built once: claims and every scheduler's refresh run them all the time.
_NOTE = insert(CHANGES)
_NOTE_HOSTS = insert(CHANGES).from_select(
    ["node_id"], select(NODES.c.id).where(NODES.c.host.in_(bindparam("hosts", expanding=True))))
_AFTER = select(CHANGES.c.seq, CHANGES.c.node_id).where(CHANGES.c.seq > bindparam("last"))
_AFTER_OR_GAPS = select(CHANGES.c.seq, CHANGES.c.node_id).where(or_(
    CHANGES.c.seq > bindparam("last"), CHANGES.c.seq.in_(bindparam("gaps", expanding=True))))


def note_nodes_changed(s: Session, node_ids: Iterable[int]) -> None:
    """Log a change to each of ``node_ids`` in the session's transaction."""
    rows = [{"node_id": node_id} for node_id in dict.fromkeys(node_ids)]
    if rows:
        s.connection().execute(_NOTE, rows[0] if len(rows) == 1 else rows)


def note_hosts_changed(s: Session, hosts: Iterable[str]) -> None:
    """Log a change to the nodes of ``hosts`` (by host name: services and
    aggregates name hosts) in the session's transaction. Call it before deleting
    a node, so that the schedulers learn it is gone."""
    names = list(dict.fromkeys(hosts))
    if names:
        s.connection().execute(_NOTE_HOSTS, {"hosts": names})


def prune_changes(s: Session, up_to: int) -> int:
    """Delete the entries numbered ``up_to`` and below; how many went."""
    return s.connection().execute(delete(CHANGES).where(CHANGES.c.seq <= up_to)).rowcount


@dataclass
class ChangeCursor:
    """Where one reader is in the log: the highest number seen, and the numbers
    below it not seen yet (each with the time it was first missed)."""

    last: int = 0
    gaps: dict[int, float] = field(default_factory=dict)

    def start(self, conn: Connection, now: float) -> None:
        """Stand at the newest entry (call it just before loading every node):
        the numbers missing among the ``START_WINDOW`` below it may belong to
        transactions still open, and are asked for again."""
        top = conn.execute(select(func.max(CHANGES.c.seq))).scalar() or 0
        floor = max(0, top - START_WINDOW)
        present = set(conn.execute(select(CHANGES.c.seq).where(CHANGES.c.seq > floor))
                      .scalars())
        self.last = top
        self.gaps = {n: now for n in range(floor + 1, top + 1) if n not in present}

    def read(self, conn: Connection, now: float) -> set[int]:
        """The ids of the nodes changed since the last read; moves past them."""
        if self.gaps:
            rows = conn.execute(_AFTER_OR_GAPS, {"last": self.last, "gaps": list(self.gaps)}).all()
        else:
            rows = conn.execute(_AFTER, {"last": self.last}).all()
        for n in [n for n, missed in self.gaps.items() if now - missed > GAP_TIMEOUT]:
            del self.gaps[n]
        if not rows:
            return set()
        seen = set()
        for seq, _ in rows:
            seen.add(seq)
            self.gaps.pop(seq, None)
        top = max(seen)
        if top > self.last:
            skipped = range(self.last + 1, top)
            if len(skipped) - len(seen) > MAX_GAPS:
                skipped = range(top - MAX_GAPS, top)
            self.gaps.update((n, now) for n in skipped if n not in seen)
            self.last = top
        if len(self.gaps) > MAX_GAPS:
            for n in sorted(self.gaps)[:len(self.gaps) - MAX_GAPS]:
                del self.gaps[n]
        return {node_id for _, node_id in rows}
