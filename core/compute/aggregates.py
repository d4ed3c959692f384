"""Host aggregates (Nova's ``os-aggregates``): named groups of compute hosts
with metadata. An aggregate's ``availability_zone`` metadata puts its hosts in
that zone (every list of zones, the servers' ``OS-EXT-AZ`` and scheduling read
it through :func:`host_zones`); the AggregateInstanceExtraSpecsFilter matches
flavors against the metadata (:func:`host_metadata`).

Nova's rules kept here: names are unique; a host is in at most one zone, so a
host may not join (nor an aggregate's zone change to) a zone that differs from
the zone another aggregate of that host names; an aggregate with hosts cannot
be deleted; a zone may not be empty nor the ``internal`` zone of control
services.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import errors
from core.compute.models import Aggregate, AggregateHost, AggregateMetadata, ComputeService
from core.context import RequestContext
from core.db import Database
from core.db.base import utcnow
from core.numbers import BadInteger, parse_int
from core.placement.changes import note_hosts_changed
from core.policy import PolicyEnforcer

ZONE_KEY = "availability_zone"
INTERNAL_ZONE = "internal"
COMPUTE_BINARY = "nova-compute"
MAX_ID = 0x7FFFFFFF


@dataclass(frozen=True)
class AggregateView:
    id: int
    uuid: str
    name: str
    created_at: datetime
    updated_at: datetime | None
    hosts: list[str]
    metadata: dict[str, str]

    @property
    def availability_zone(self) -> str | None:
        return self.metadata.get(ZONE_KEY)


def host_zones(s: Session, hosts: Iterable[str] | None = None) -> dict[str, str]:
    """The zone each host's aggregates name (hosts in no zoned aggregate are absent)."""
    stmt = (select(AggregateHost.host, AggregateMetadata.value)
            .join(AggregateMetadata, AggregateMetadata.aggregate_id == AggregateHost.aggregate_id)
            .where(AggregateMetadata.key == ZONE_KEY))
    if hosts is not None:
        stmt = stmt.where(AggregateHost.host.in_(list(hosts)))
    return {host: zone for host, zone in s.execute(stmt)}


# Built once: every scheduler refresh reads the metadata of the hosts it reloads.
_HOST_METADATA = (select(AggregateHost.host, AggregateMetadata.key, AggregateMetadata.value)
                  .join(AggregateMetadata,
                        AggregateMetadata.aggregate_id == AggregateHost.aggregate_id))
_HOST_METADATA_OF = _HOST_METADATA.where(
    AggregateHost.host.in_(bindparam("hosts", expanding=True)))


def host_metadata(s: Session, hosts: Iterable[str] | None = None
                  ) -> dict[str, dict[str, set[str]]]:
    """Every aggregated host's metadata (or only that of ``hosts``): key -> the
    values its aggregates give it."""
    if hosts is None:
        rows = s.connection().execute(_HOST_METADATA)
    else:
        rows = s.connection().execute(_HOST_METADATA_OF, {"hosts": list(hosts)})
    out: dict[str, dict[str, set[str]]] = {}
    for host, key, value in rows:
        out.setdefault(host, {}).setdefault(key, set()).add(value)
    return out


def _check_text(name: str, value: object, empty_ok: bool = False) -> str:
    if not isinstance(value, str) or not (empty_ok or value.strip()) or len(value) > 255 \
            or (value and value != value.strip()):
        raise errors.InvalidInput(f"Invalid input for field/attribute {name}. Value: "
                                  f"{value}.", param=name)
    return value


class AggregateService:
    def __init__(self, db: Database, policy: PolicyEnforcer) -> None:
        self.db = db
        self.policy = policy

    def _enforce(self, ctx: RequestContext, rule: str) -> None:
        self.policy.enforce(f"os_compute_api:os-aggregates:{rule}", {}, ctx)

    # ---- reading -------------------------------------------------------------
    @staticmethod
    def _views(s: Session, rows: list[Aggregate]) -> list[AggregateView]:
        ids = [a.id for a in rows]
        hosts: dict[int, list[str]] = {i: [] for i in ids}
        meta: dict[int, dict[str, str]] = {i: {} for i in ids}
        if ids:
            for agg_id, host in s.execute(select(AggregateHost.aggregate_id, AggregateHost.host)
                                          .where(AggregateHost.aggregate_id.in_(ids))
                                          .order_by(AggregateHost.host)):
                hosts[agg_id].append(host)
            for agg_id, key, value in s.execute(
                    select(AggregateMetadata.aggregate_id, AggregateMetadata.key,
                           AggregateMetadata.value).where(
                        AggregateMetadata.aggregate_id.in_(ids))):
                meta[agg_id][key] = value
        return [AggregateView(a.id, a.uuid, a.name, a.created_at, a.updated_at, hosts[a.id],
                              meta[a.id]) for a in rows]

    @staticmethod
    def _row(s: Session, aggregate_id: int | str) -> Aggregate:
        number: int | None
        if isinstance(aggregate_id, int):
            number = aggregate_id
        else:
            try:
                number = parse_int(aggregate_id, 0, MAX_ID)
            except BadInteger:
                raise errors.InvalidInput(f"Invalid input received: id {aggregate_id} must be "
                                          "an integer", param="aggregate_id") from None
        row = s.get(Aggregate, number)
        if row is None:
            raise errors.NotFound(f"Aggregate {aggregate_id} could not be found.",
                                  kind="aggregate", id=str(aggregate_id))
        return row

    def list_all(self, ctx: RequestContext) -> list[AggregateView]:
        self._enforce(ctx, "index")
        with self.db.session() as s:
            return self._views(s, list(s.scalars(select(Aggregate).order_by(Aggregate.id))))

    def get(self, ctx: RequestContext, aggregate_id: int | str) -> AggregateView:
        self._enforce(ctx, "show")
        return self.get_unchecked(aggregate_id)

    def get_unchecked(self, aggregate_id: int | str) -> AggregateView:
        """An aggregate, for a caller that has checked its own policy."""
        with self.db.session() as s:
            return self._views(s, [self._row(s, aggregate_id)])[0]

    # ---- zone rules ------------------------------------------------------------
    @staticmethod
    def _check_zone(s: Session, agg: Aggregate, zone: str | None, hosts: list[str],
                    action: str) -> None:
        """Nova's is_safe_to_update_az: no empty or internal zone, and no host of
        ``hosts`` in another aggregate naming a different zone."""
        if zone is None:
            return
        why = None
        if not zone.strip():
            why = f"Aggregate {agg.name} does not support empty named availability zone"
        elif zone == INTERNAL_ZONE:
            why = "Aggregates cannot be in the internal availability zone"
        elif hosts:
            others = sorted({z for z, in s.execute(
                select(AggregateMetadata.value).join(
                    AggregateHost, AggregateHost.aggregate_id == AggregateMetadata.aggregate_id)
                .where(AggregateMetadata.key == ZONE_KEY, AggregateHost.host.in_(hosts),
                       AggregateMetadata.aggregate_id != agg.id))} - {zone})
            if others:
                why = f"One or more hosts already in availability zone(s) {others}"
        if why:
            raise errors.InvalidInput(f"Cannot {action} aggregate {agg.id}. Reason: {why}.",
                                      param=ZONE_KEY)

    @staticmethod
    def _set_meta(s: Session, agg: Aggregate, metadata: dict[str, str | None]) -> None:
        for key, value in metadata.items():
            s.execute(delete(AggregateMetadata).where(AggregateMetadata.aggregate_id == agg.id,
                                                      AggregateMetadata.key == key))
            if value is not None:
                s.add(AggregateMetadata(aggregate_id=agg.id, key=key, value=value))
        agg.updated_at = utcnow()
        note_hosts_changed(s, AggregateService._hosts(s, agg))  # zones and metadata changed

    @staticmethod
    def _hosts(s: Session, agg: Aggregate) -> list[str]:
        return list(s.scalars(select(AggregateHost.host).where(
            AggregateHost.aggregate_id == agg.id)))

    def _name_taken(self, name: str) -> errors.Conflict:
        return errors.Conflict(f"Aggregate {name} already exists.", kind="aggregate", id=name)

    # ---- changes ---------------------------------------------------------------
    def create(self, ctx: RequestContext, name: str, zone: str | None) -> AggregateView:
        self._enforce(ctx, "create")
        _check_text("name", name)
        if zone is not None:
            _check_text(ZONE_KEY, zone)
        try:
            with self.db.session() as s:
                if s.scalar(select(Aggregate.id).where(Aggregate.name == name)) is not None:
                    raise self._name_taken(name)
                agg = Aggregate(name=name)
                s.add(agg)
                s.flush()
                self._check_zone(s, agg, zone, [], "create")
                if zone is not None:
                    s.add(AggregateMetadata(aggregate_id=agg.id, key=ZONE_KEY, value=zone))
                agg.updated_at = None
                s.flush()
                return self._views(s, [agg])[0]
        except IntegrityError:
            raise self._name_taken(name) from None

    def update(self, ctx: RequestContext, aggregate_id: int | str,
               changes: dict[str, str | None]) -> AggregateView:
        self._enforce(ctx, "update")
        name = changes.get("name")
        if "name" in changes:
            _check_text("name", name)
        if changes.get(ZONE_KEY) is not None:
            _check_text(ZONE_KEY, changes[ZONE_KEY])
        try:
            with self.db.session() as s:
                agg = self._row(s, aggregate_id)
                if name is not None and name != agg.name:
                    if s.scalar(select(Aggregate.id).where(Aggregate.name == name)) is not None:
                        raise self._name_taken(name)
                    agg.name = name
                if ZONE_KEY in changes:
                    zone = changes[ZONE_KEY]
                    self._check_zone(s, agg, zone, self._hosts(s, agg), "update")
                    self._set_meta(s, agg, {ZONE_KEY: zone})
                agg.updated_at = utcnow()
                s.flush()
                return self._views(s, [agg])[0]
        except IntegrityError:
            raise self._name_taken(str(name)) from None

    def delete(self, ctx: RequestContext, aggregate_id: int | str) -> None:
        self._enforce(ctx, "delete")
        with self.db.session() as s:
            agg = self._row(s, aggregate_id)
            if self._hosts(s, agg):
                raise errors.InvalidInput(f"Cannot remove aggregate {agg.id}. Reason: Host "
                                          "aggregate is not empty.")
            s.execute(delete(AggregateMetadata).where(AggregateMetadata.aggregate_id == agg.id))
            s.delete(agg)

    def add_host(self, ctx: RequestContext, aggregate_id: int | str,
                 host: str) -> AggregateView:
        self._enforce(ctx, "add_host")
        with self.db.session() as s:
            agg = self._row(s, aggregate_id)
            if s.scalar(select(ComputeService.id).where(
                    ComputeService.host == host,
                    ComputeService.binary == COMPUTE_BINARY)) is None:
                raise errors.NotFound(f"Compute host {host} could not be found.",
                                      kind="host", id=host)
            if host in self._hosts(s, agg):
                raise errors.Conflict(f"Aggregate {agg.id} already has host {host}.",
                                      kind="aggregate", id=str(agg.id))
            zone = s.scalar(select(AggregateMetadata.value).where(
                AggregateMetadata.aggregate_id == agg.id, AggregateMetadata.key == ZONE_KEY))
            try:
                self._check_zone(s, agg, zone, [host], "add host to")
            except errors.InvalidInput as exc:  # Nova answers 409 here
                raise errors.Conflict(exc.message) from None
            s.add(AggregateHost(aggregate_id=agg.id, host=host))
            note_hosts_changed(s, [host])
            agg.updated_at = utcnow()
            s.flush()
            return self._views(s, [agg])[0]

    def remove_host(self, ctx: RequestContext, aggregate_id: int | str,
                    host: str) -> AggregateView:
        self._enforce(ctx, "remove_host")
        with self.db.session() as s:
            agg = self._row(s, aggregate_id)
            if host not in self._hosts(s, agg):
                raise errors.NotFound(f"Cannot remove host {host} in aggregate {agg.id}",
                                      kind="host", id=host)
            s.execute(delete(AggregateHost).where(AggregateHost.aggregate_id == agg.id,
                                                  AggregateHost.host == host))
            note_hosts_changed(s, [host])
            agg.updated_at = utcnow()
            s.flush()
            return self._views(s, [agg])[0]

    def set_metadata(self, ctx: RequestContext, aggregate_id: int | str,
                     metadata: dict[str, str | None]) -> AggregateView:
        """Set each key to its value; a None value removes the key."""
        self._enforce(ctx, "set_metadata")
        for key, value in metadata.items():
            _check_text("metadata key", key)
            if value is not None:
                _check_text("metadata value", value, empty_ok=True)
        with self.db.session() as s:
            agg = self._row(s, aggregate_id)
            if ZONE_KEY in metadata:
                self._check_zone(s, agg, metadata[ZONE_KEY], self._hosts(s, agg), "update")
            self._set_meta(s, agg, metadata)
            s.flush()
            return self._views(s, [agg])[0]
