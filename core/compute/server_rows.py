"""Server lists read for their size: one page of instances as plain rows (the
values as the database driver returns them, no ORM objects, no type
processing), and what their views show of other tables (addresses, tags, the
latest faults) in one query each for the whole page, in one transaction.

A row's timestamps are text on SQLite and ``datetime`` on the server back ends,
its JSON columns text or already parsed: :mod:`core.compute.raw_values` reads
either. Rows are tuples of plain values, so a view of one can be keyed by the
row itself (every value it is made of).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Column, Select, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from core.compute import server_listing, states
from core.compute.models import Instance, InstanceFault, InstanceTag
from core.network.instance_ports import Address, addresses_in, in_ids
from core.volume.models import VolumeAttachment
from core.volume.volume_actions import LIVE_ATTACHMENTS

# The instance columns a server's views read (Nova's detail and EC2's Instance).
LIST_COLUMNS = (
    "id", "uuid", "display_name", "description", "hostname", "project_id", "user_id",
    "image_ref", "flavor", "flavorid", "vm_state", "task_state", "power_state", "host",
    "node", "availability_zone", "requested_availability_zone", "key_name", "user_data",
    "metadata_items", "security_groups", "requested_networks", "scheduler_hints",
    "reservation_id", "launch_index", "config_drive", "access_ip_v4", "access_ip_v6",
    "locked", "locked_reason", "progress", "launched_at", "terminated_at", "created_at",
    "updated_at", "deleted_at", "deleted", "client_token", "system_metadata",
)
_TABLE = Instance.__table__
# The driver's values: no result processing (no JSON decoding, no datetime parsing).
RAW = [type_coerce(_TABLE.c[name], NullType()).label(name) for name in LIST_COLUMNS]


class FaultRow(NamedTuple):
    """An instance's latest fault, its values as the driver returns them."""

    code: int
    message: str
    details: str | None
    created_at: Any


@dataclass
class ServerPage:
    """One page of servers as rows (attribute access by column name) and, for
    the rows on it, what their views need from other tables."""

    rows: list[Any]
    more: bool
    addresses: dict[str, list[Address]] = field(default_factory=dict)
    tags: dict[str, list[str]] = field(default_factory=dict)
    faults: dict[str, FaultRow] = field(default_factory=dict)
    # (volume id, delete_on_termination) of each server's live attachments
    volumes: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)


# Up to this many rows, what hangs off them is read by their ids; past it, by a
# select of the page's ids (a long IN list costs more to bind than the select).
BY_IDS = 50


def read_page(s: Session, q: server_listing.ServerQuery, *, tags: bool = True,
              attached: bool = True) -> ServerPage:
    """The page of ``q`` and its servers' latest faults (of servers in ERROR or
    DELETED, the only ones that show theirs); with ``attached`` their addresses
    (fixed, then floating) and live volume attachments, with ``tags`` their tags
    (sorted)."""
    ordered = server_listing.ordered(s, q)
    # Core execution (the connection's, not the session's): no ORM result layer.
    conn = s.connection()
    rows: list[Any] = list(conn.execute(ordered.with_only_columns(*RAW).limit(q.limit + 1))
                           .all())
    more = len(rows) > q.limit
    rows = rows[:q.limit]
    page = ServerPage(rows, more)
    if not rows:
        return page
    among: Sequence[str] | Select = [r.uuid for r in rows]
    if len(rows) > BY_IDS:
        ids = ordered.with_only_columns(_TABLE.c.uuid).limit(q.limit).subquery()
        among = select(ids.c.uuid)
    if attached:
        page.addresses = addresses_in(s, among)
        page.volumes = volumes_in(s, among)
    if tags:
        page.tags = tags_in(s, among)
    failed = [r.uuid for r in rows if r.vm_state in (states.ERROR, states.DELETED)]
    if failed:
        page.faults = latest_faults_in(s, failed)
    return page


def tags_in(s: Session, among: Sequence[str] | Select) -> dict[str, list[str]]:
    """Each server's tags, sorted (servers without any are absent)."""
    out: dict[str, list[str]] = defaultdict(list)
    for cond in in_ids(InstanceTag.instance_uuid, among):
        for uuid, tag in s.connection().execute(select(InstanceTag.instance_uuid, InstanceTag.tag)
                                   .where(cond).order_by(InstanceTag.tag)).all():
            out[uuid].append(tag)
    return out


def volumes_in(s: Session, among: Sequence[str] | Select) -> dict[str, list[tuple[str, bool]]]:
    """Each server's live attachments, as ``ServerVolumes.volumes_attached``."""
    out: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    a = VolumeAttachment
    for cond in in_ids(a.instance_uuid, among):
        for uuid, volume_id, dot in s.connection().execute(
                select(a.instance_uuid, a.volume_id, a.delete_on_termination)
                .where(cond, a.attach_status.in_(LIVE_ATTACHMENTS))
                .order_by(a.created_at, a.id)).all():
            out[uuid or ""].append((volume_id, bool(dot)))
    return out


def latest_faults_in(s: Session, uuids: Sequence[str]) -> dict[str, FaultRow]:
    """The latest fault of each of ``uuids`` that has one."""
    out: dict[str, FaultRow] = {}
    f: Any = InstanceFault.__table__.c
    columns: list[Column] = [f.instance_uuid, f.code, f.message, f.details, f.created_at]
    raw = [type_coerce(c, NullType()).label(c.name) for c in columns]
    for cond in in_ids(f.instance_uuid, uuids):
        for row in s.connection().execute(select(*raw).where(cond).order_by(f.id)).all():
            out[row.instance_uuid] = FaultRow(row.code, row.message, row.details,
                                              row.created_at)
    return out
