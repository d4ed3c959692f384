"""Server list queries: Nova's filters, sort keys and marker paging in SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, and_, cast, false, or_, select, true
from sqlalchemy.orm import Session

from core import errors
from core.compute import states
from core.compute.models import Instance, InstanceTag
from core.network.models import IpAllocation, Port

SORT_KEYS = {
    "created_at": Instance.created_at, "updated_at": Instance.updated_at,
    "display_name": Instance.display_name, "uuid": Instance.uuid, "host": Instance.host,
    "vm_state": Instance.vm_state, "task_state": Instance.task_state,
    "power_state": Instance.power_state, "launched_at": Instance.launched_at,
    "terminated_at": Instance.terminated_at, "availability_zone": Instance.availability_zone,
    "key_name": Instance.key_name, "project_id": Instance.project_id,
    "user_id": Instance.user_id, "image_ref": Instance.image_ref,
    "instance_type_id": Instance.flavorid, "hostname": Instance.hostname,
    "locked": Instance.locked, "id": Instance.id, "display_description": Instance.description,
    "launch_index": Instance.launch_index, "progress": Instance.progress,
    "access_ip_v4": Instance.access_ip_v4, "access_ip_v6": Instance.access_ip_v6,
    "config_drive": Instance.config_drive, "locked_by": Instance.locked_by,
    "node": Instance.node,
}
# Nova lets only admins sort by these (403 for others); "node" is not a key here.
ADMIN_SORT_KEYS = {"host", "node"}


@dataclass
class ServerQuery:
    project_id: str | None = None  # None: every project (admins with all_tenants)
    name: str | None = None
    status: str | None = None
    image: str | None = None
    flavor: str | None = None
    host: str | None = None
    ip: str | None = None
    ip6: str | None = None
    reservation_id: str | None = None
    availability_zone: str | None = None
    user_id: str | None = None
    changes_since: datetime | None = None
    changes_before: datetime | None = None
    deleted: bool = False
    # EC2's view: live instances and those deleted at or after this time.
    deleted_since: datetime | None = None
    locked: bool | None = None
    vm_states: list[str] = field(default_factory=list)
    task_states: list[str] = field(default_factory=list)
    # column name -> regular expression its text must match (Nova's regex filters:
    # key_name, config_drive, created_at, launched_at, terminated_at, power_state,
    # progress)
    matches: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    tags_any: list[str] = field(default_factory=list)
    not_tags: list[str] = field(default_factory=list)
    not_tags_any: list[str] = field(default_factory=list)
    sort: list[tuple[str, str]] = field(default_factory=list)
    limit: int = 1000
    marker: str | None = None
    # EC2's filters the database applies first (each passes a superset of what
    # the filter passes; the edge applies the filter itself after): server
    # uuids, EC2 state names.
    uuids: list[str] | None = None
    ec2_states: list[str] = field(default_factory=list)


def build(q: ServerQuery) -> Select:
    stmt = select(Instance)
    if q.project_id is not None:
        stmt = stmt.where(Instance.project_id == q.project_id)
    if q.deleted:
        stmt = stmt.where(Instance.deleted == true())
    elif q.deleted_since is not None:
        stmt = stmt.where(or_(Instance.deleted == false(),
                              Instance.deleted_at >= q.deleted_since))
    elif q.changes_since is None and q.changes_before is None:
        stmt = stmt.where(Instance.deleted == false())
        if (q.status or "").upper() != "SOFT_DELETED":
            # As Nova's database API: soft-deleted servers are listed only when
            # asked for by status (or with the deleted ones).
            stmt = stmt.where(Instance.vm_state != states.SOFT_DELETED)
    if q.name:
        stmt = stmt.where(Instance.display_name.regexp_match(q.name))
    if q.status:
        pairs = states.states_for_status(q.status)
        if pairs is None:
            stmt = stmt.where(false())
        else:
            conds = []
            for vm_state, task in pairs:
                if task is None:
                    shown = {t for t, s in _tasks_overriding(vm_state)}
                    cond = Instance.vm_state == vm_state
                    if shown:
                        cond = and_(cond, or_(Instance.task_state.is_(None),
                                              Instance.task_state.not_in(shown)))
                    conds.append(cond)
                else:
                    conds.append(and_(Instance.vm_state == vm_state,
                                      Instance.task_state == task))
            stmt = stmt.where(or_(*conds))
    if q.image:
        stmt = stmt.where(Instance.image_ref == q.image.rstrip("/").rsplit("/", 1)[-1])
    if q.flavor:
        stmt = stmt.where(Instance.flavorid == q.flavor.rstrip("/").rsplit("/", 1)[-1])
    if q.host:
        stmt = stmt.where(Instance.host == q.host)
    if q.reservation_id:
        stmt = stmt.where(Instance.reservation_id == q.reservation_id)
    if q.availability_zone:
        stmt = stmt.where(Instance.availability_zone == q.availability_zone)
    if q.user_id:
        stmt = stmt.where(Instance.user_id == q.user_id)
    if q.locked is not None:
        stmt = stmt.where(Instance.locked.is_(q.locked))
    if q.vm_states:
        stmt = stmt.where(Instance.vm_state.in_(q.vm_states))
    if q.task_states:
        stmt = stmt.where(Instance.task_state.in_(q.task_states))
    for column, pattern in q.matches.items():
        stmt = stmt.where(cast(getattr(Instance, column), String).regexp_match(pattern))
    if q.changes_since is not None:
        stmt = stmt.where(Instance.updated_at >= q.changes_since)
    if q.changes_before is not None:
        stmt = stmt.where(Instance.updated_at <= q.changes_before)
    if q.ip6 is not None:
        # Fixed addresses are IPv4: an IPv6 pattern matches none of them.
        stmt = stmt.where(Instance.uuid.in_(_with_address(
            IpAllocation.ip_address.contains(":"),
            IpAllocation.ip_address.regexp_match(q.ip6 or "."))))
    if q.ip:
        stmt = stmt.where(Instance.uuid.in_(_with_address(
            IpAllocation.ip_address.regexp_match(q.ip))))
    for tag in q.tags:
        stmt = stmt.where(Instance.uuid.in_(_tagged([tag])))
    if q.tags_any:
        stmt = stmt.where(Instance.uuid.in_(_tagged(q.tags_any)))
    if q.not_tags:
        having_all = select(InstanceTag.instance_uuid).where(InstanceTag.tag.in_(q.not_tags))
        # not every one of the tags: at least one of them missing
        for tag in q.not_tags:
            having_all = having_all.where(InstanceTag.instance_uuid.in_(_tagged([tag])))
        stmt = stmt.where(Instance.uuid.not_in(having_all))
    if q.not_tags_any:
        stmt = stmt.where(Instance.uuid.not_in(_tagged(q.not_tags_any)))
    if q.uuids is not None:
        stmt = stmt.where(Instance.uuid.in_(q.uuids))
    if q.ec2_states:
        stmt = stmt.where(or_(*(_EC2_STATES[name]() for name in q.ec2_states
                                if name in _EC2_STATES), false()))
    return stmt


def _live(*conds: Any) -> Any:
    return and_(Instance.deleted == false(), or_(*conds))


_SHELVING = (states.SHELVING, states.SHELVING_IMAGE_PENDING_UPLOAD,
             states.SHELVING_IMAGE_UPLOADING)
_NOT_RUNNING = (states.PAUSED_VM, states.SUSPENDED_VM, states.BUILDING, states.DELETED,
                states.ERROR, states.SHELVED, states.SHELVED_OFFLOADED, states.STOPPED,
                states.SOFT_DELETED)
# For each EC2 state name, the instances that may show it: a superset of those
# gateway/ec2/handlers/instances.py's state_of gives that name (a unit test
# holds the two together over every state combination).
_EC2_STATES: dict[str, Any] = {
    "terminated": lambda: or_(Instance.deleted == true(),
                              Instance.vm_state.in_((states.DELETED, states.ERROR))),
    "shutting-down": lambda: _live(
        Instance.task_state.in_((states.DELETING, states.SOFT_DELETING)),
        Instance.vm_state == states.SOFT_DELETED),
    "stopped": lambda: _live(Instance.vm_state.in_((
        states.PAUSED_VM, states.SUSPENDED_VM, states.SHELVED, states.SHELVED_OFFLOADED,
        states.STOPPED, states.RESIZED))),
    "pending": lambda: _live(
        Instance.vm_state.in_((states.BUILDING, states.SHELVED, states.SHELVED_OFFLOADED,
                               states.STOPPED)),
        Instance.task_state == states.SPAWNING),
    "stopping": lambda: _live(Instance.task_state.in_((*_SHELVING, states.POWERING_OFF))),
    "running": lambda: _live(Instance.vm_state.not_in(_NOT_RUNNING)),
}
EC2_STATE_NAMES = frozenset(_EC2_STATES)


def _tagged(tags: list[str]) -> Select:
    return select(InstanceTag.instance_uuid).where(InstanceTag.tag.in_(tags))


def _tasks_overriding(vm_state: str) -> list[tuple[str, str]]:
    shown = states._STATE_MAP.get(vm_state, {})
    default = shown.get(None)
    return [(t, s) for t, s in shown.items() if t is not None and s != default]


def page(s: Session, q: ServerQuery) -> tuple[list[Instance], bool]:
    """One page of instances and whether more follow."""
    rows = list(s.scalars(ordered(s, q).limit(q.limit + 1)))
    return rows[:q.limit], len(rows) > q.limit


def ordered(s: Session, q: ServerQuery) -> Select:
    """The query of ``q`` in its sort order, after its marker (no limit): the
    instances as ORM rows; ``with_only_columns`` reads chosen columns instead."""
    sort = q.sort or [("created_at", "desc"), ("id", "desc")]
    if not any(k in ("id", "uuid") for k, _ in sort):
        sort = [*sort, ("id", sort[0][1])]
    stmt = build(q)
    cols = [SORT_KEYS[k] for k, _ in sort]
    if q.marker:
        marker = s.scalar(build(ServerQuery(project_id=q.project_id, deleted=q.deleted,
                                            deleted_since=q.deleted_since,
                                            changes_since=q.changes_since))
                          .where(Instance.uuid == q.marker))
        if marker is None:
            raise errors.InvalidInput(f"marker [{q.marker}] not found")
        stmt = stmt.where(_after(marker, sort))
    # Keyset paging (_after) treats NULL as the lowest value, as SQLite and MySQL
    # sort it; PostgreSQL sorts NULL as the highest unless told otherwise.
    explicit_nulls = s.get_bind().dialect.name == "postgresql"
    for (_key, direction), col in zip(sort, cols, strict=True):
        order = col.desc() if direction == "desc" else col.asc()
        if explicit_nulls:
            order = order.nulls_last() if direction == "desc" else order.nulls_first()
        stmt = stmt.order_by(order)
    return stmt


def _after(marker: Instance, sort: list[tuple[str, str]]):
    """Rows after ``marker`` in the sort order (keyset paging, NULLs handled as lowest)."""
    clauses = []
    for i, (key, direction) in enumerate(sort):
        col = SORT_KEYS[key]
        value = getattr(marker, _attr(key))
        equal_before = [SORT_KEYS[k] == getattr(marker, _attr(k))
                        if getattr(marker, _attr(k)) is not None else SORT_KEYS[k].is_(None)
                        for k, _ in sort[:i]]
        step: Any
        if value is None:
            step = col.is_not(None) if direction == "asc" else false()
        else:
            step = col > value if direction == "asc" else or_(col < value, col.is_(None))
        clauses.append(and_(*equal_before, step))
    return or_(*clauses)


def _attr(key: str) -> str:
    return {"instance_type_id": "flavorid", "display_description": "description"}.get(key, key)


__all__ = ["SORT_KEYS", "ADMIN_SORT_KEYS", "EC2_STATE_NAMES", "ServerQuery", "build", "ordered",
           "page"]


def _with_address(*conditions):
    """The servers holding a fixed address that meets ``conditions``."""
    return select(Port.device_id).join(IpAllocation, IpAllocation.port_id == Port.id).where(
        Port.device_owner.like("compute:%"), *conditions)
