"""EC2 IDs for OpenStack objects: ``<prefix>-<17 lower-case hex digits>``.

Every object gets one random ID, stored in ``ec2_ids`` and never changed, so
an object created through either API shows the same ID for its whole life.
Input is accepted as AWS does: 8 or 17 hex digits, any case.

Minting happens when an object is created, in the creating transaction
(:func:`mint_new`), so that a describe call never writes: ``KeyPairService.create``
(``key``), ``ServerService.create`` (``i`` per instance, ``r`` per reservation,
keyed by Nova's reservation id) and ``ImageService.create`` (``ami``). Objects
created before the EC2 API existed are minted on first sight by
:meth:`Ec2Ids.ec2_ids_for` in one batch insert.

Creation-time hooks still to add as their kinds arrive: security groups,
floating IPs (``eipalloc`` / ``eipassoc``), volumes and snapshots.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import and_, delete, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import errors
from core.db import Database
from core.idmap.accounts import AccountIds
from core.idmap.models import Ec2Id

HEX_DIGITS = 17
_TAIL = re.compile(r"(?:[0-9a-f]{8}|[0-9a-f]{17})")
_CHUNK = 500  # bound parameters per IN (...) query
_ATTEMPTS = 5  # a random 68-bit ID collides about never; a race is retried once
# Key pairs have integer ids a database may reuse after a delete (SQLite does);
# their mapping key also names the creation time, so a new key never inherits
# a deleted key's EC2 ID.
_KEY_PAIR_NAMESPACE = uuid.UUID("5b0c6f0e-3f2e-4b8e-9a57-6e0c2d1f4a11")


class Kind(StrEnum):
    """The kinds of object with an EC2 ID; the value is the ID's prefix (and
    what the ``kind`` column stores)."""

    INSTANCE = "i"
    IMAGE = "ami"
    RESERVATION = "r"
    SECURITY_GROUP = "sg"
    VOLUME = "vol"
    SNAPSHOT = "snap"
    ADDRESS = "eipalloc"
    ASSOCIATION = "eipassoc"
    KEY_PAIR = "key"
    # the VPC family (issue 11): a VPC is a router, a subnet a network, a network
    # interface a port; route tables, gateways and DHCP options are EC2's own records
    VPC = "vpc"
    SUBNET = "subnet"
    NETWORK_INTERFACE = "eni"
    ATTACHMENT = "eni-attach"
    ROUTE_TABLE = "rtb"
    ROUTE_TABLE_ASSOCIATION = "rtbassoc"
    INTERNET_GATEWAY = "igw"
    DHCP_OPTIONS = "dopt"
    VPC_CIDR_ASSOCIATION = "vpc-cidr-assoc"
    SECURITY_GROUP_RULE = "sgr"

    @property
    def resource(self) -> errors.ResourceKind:
        """The domain's name of this kind, as errors carry it."""
        return RESOURCES[self]


RESOURCES: dict[Kind, errors.ResourceKind] = {
    Kind.INSTANCE: "instance", Kind.IMAGE: "image", Kind.RESERVATION: "reservation",
    Kind.SECURITY_GROUP: "security_group", Kind.VOLUME: "volume", Kind.SNAPSHOT: "snapshot",
    Kind.ADDRESS: "floating_ip", Kind.ASSOCIATION: "floating_ip_association",
    Kind.KEY_PAIR: "key_pair",
    Kind.VPC: "vpc", Kind.SUBNET: "subnet", Kind.NETWORK_INTERFACE: "port",
    Kind.ATTACHMENT: "network_interface_attachment", Kind.ROUTE_TABLE: "route_table",
    Kind.ROUTE_TABLE_ASSOCIATION: "route_table", Kind.INTERNET_GATEWAY: "internet_gateway",
    Kind.DHCP_OPTIONS: "dhcp_options", Kind.VPC_CIDR_ASSOCIATION: "vpc",
    Kind.SECURITY_GROUP_RULE: "security_group_rule",
}


class MalformedId(errors.InvalidInput):
    """An ID that is not ``<prefix>-`` and 8 or 17 hex digits (``kind``: the
    kind of resource it should have named, ``id``: the value given)."""

    def __init__(self, kind: Kind, value: str) -> None:
        super().__init__(f"Invalid id: \"{value}\" (expecting \"{kind.value}-...\")",
                         kind=kind.resource, id=value)
        self.value = value


def mint(kind: Kind) -> str:
    """A new random ID of ``kind`` (not yet stored)."""
    return f"{kind.value}-{secrets.token_hex(9)[:HEX_DIGITS]}"


def canonical_id(kind: Kind, value: str) -> str:
    """``value`` as stored (lower case); MalformedId unless it is a well-formed
    ID of ``kind`` (8 or 17 hex digits, any case)."""
    lowered = value.strip().lower()
    prefix, sep, tail = lowered.rpartition("-")
    if not sep or prefix != kind.value or not _TAIL.fullmatch(tail):
        raise MalformedId(kind, value)
    return lowered


def key_pair_os_uuid(key_pair_id: int, created_at: datetime) -> str:
    """The mapping key of a key pair row: stable for the row, new for a new row
    even if the database hands out the same integer id again."""
    when = created_at.astimezone(UTC) if created_at.tzinfo else created_at
    return str(uuid.uuid5(_KEY_PAIR_NAMESPACE, f"{key_pair_id}:{when:%Y%m%dT%H%M%S.%f}"))


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def mint_new(s: Session, kind: Kind, objects: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Mint and store, in the caller's transaction ``s``, the EC2 IDs of objects
    that are being created there (``(os_uuid, project_id)`` pairs): the ID then
    commits or rolls back with the object. IDs already taken are drawn again
    before the insert; an object that has an ID keeps it. EC2 IDs by OpenStack
    id."""
    return mint_kinds(s, {kind: objects})[kind]


def mint_kinds(s: Session, wanted: Mapping[Kind, Iterable[tuple[str, str]]]
               ) -> dict[Kind, dict[str, str]]:
    """:func:`mint_new` for objects of several kinds made in one transaction (a
    server and its reservation, a port and its attachment): three statements
    in all, whatever the kinds, rather than three per kind."""
    owners = {kind: dict(objects) for kind, objects in wanted.items()}
    out: dict[Kind, dict[str, str]] = {kind: {} for kind in owners}
    if sum(map(len, owners.values())) > _CHUNK:
        for kind, pairs in owners.items():
            items = list(pairs.items())
            for start in range(0, len(items), _CHUNK):
                out[kind].update(mint_kinds(s, {kind: items[start:start + _CHUNK]})[kind])
        return out
    owners = {kind: pairs for kind, pairs in owners.items() if pairs}
    if not owners:
        return out
    # Idempotent: an object that has an ID already (a retried call) keeps it.
    rows = s.execute(select(Ec2Id.kind, Ec2Id.os_uuid, Ec2Id.ec2_id).where(or_(*(
        and_(Ec2Id.kind == kind.value, Ec2Id.os_uuid.in_(list(pairs)))
        for kind, pairs in owners.items()))))
    for kind_value, os_uuid, ec2_id in rows:
        out[Kind(kind_value)][os_uuid] = ec2_id
    chosen = {(kind, u): mint(kind) for kind, pairs in owners.items() for u in pairs
              if u not in out[kind]}
    if not chosen:
        return out
    for _ in range(_ATTEMPTS):
        taken = set(s.scalars(select(Ec2Id.ec2_id).where(Ec2Id.ec2_id.in_(chosen.values()))))
        if not taken and len(set(chosen.values())) == len(chosen):
            break
        seen: set[str] = set()
        for key, ec2_id in chosen.items():
            if ec2_id in taken or ec2_id in seen:
                chosen[key] = mint(key[0])
            seen.add(chosen[key])
    else:
        raise errors.ServiceUnavailable("Could not allocate EC2 IDs; retry later.")
    s.execute(insert(Ec2Id), [{"ec2_id": ec2_id, "kind": kind.value, "os_uuid": u,
                               "project_id": owners[kind][u] or ""}
                              for (kind, u), ec2_id in chosen.items()])
    for (kind, u), ec2_id in chosen.items():
        out[kind][u] = ec2_id
    return out


def forget(s: Session, kind: Kind, os_uuids: Iterable[str]) -> None:
    """Drop, in the caller's transaction, the IDs of objects being deleted there."""
    wanted = list(dict.fromkeys(os_uuids))
    for chunk in _chunks(wanted):
        s.execute(delete(Ec2Id).where(Ec2Id.kind == kind.value, Ec2Id.os_uuid.in_(chunk)))


class Ec2Ids:
    """Reads and mints EC2 IDs, and (``accounts``) the projects' account ids."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.accounts = AccountIds(db)

    def ec2_id_for(self, kind: Kind, os_uuid: str, project_id: str) -> str:
        """The EC2 ID of one object, minted if it has none yet (call this where
        the object is created)."""
        return self.ec2_ids_for(kind, [(os_uuid, project_id)])[os_uuid]

    def ec2_ids_for(self, kind: Kind, objects: Iterable[tuple[str, str]]) -> dict[str, str]:
        """EC2 IDs by OpenStack id for ``(os_uuid, project_id)`` pairs: one read,
        and one batch insert for those that have none yet. Two callers minting
        for the same object at once agree on one ID (the unique key decides);
        an ID collision is retried with fresh IDs."""
        owners = dict(objects)
        found = self.existing(kind, owners)
        for _ in range(_ATTEMPTS):
            missing = [u for u in owners if u not in found]
            if not missing:
                return found
            rows = [{"ec2_id": mint(kind), "kind": kind.value, "os_uuid": u,
                     "project_id": owners[u] or ""} for u in missing]
            try:
                with self.db.session() as s:
                    s.execute(insert(Ec2Id), rows)
            except IntegrityError:
                found.update(self.existing(kind, missing))
                continue
            found.update((r["os_uuid"], r["ec2_id"]) for r in rows)
        raise errors.ServiceUnavailable("Could not allocate EC2 IDs; retry later.")

    def existing(self, kind: Kind, os_uuids: Iterable[str]) -> dict[str, str]:
        """EC2 IDs by OpenStack id of those objects that have one (read only)."""
        wanted = list(dict.fromkeys(os_uuids))
        out: dict[str, str] = {}
        if not wanted:
            return out
        with self.db.session() as s:
            for chunk in _chunks(wanted):
                rows = s.execute(select(Ec2Id.os_uuid, Ec2Id.ec2_id).where(
                    Ec2Id.kind == kind.value, Ec2Id.os_uuid.in_(chunk)))
                out.update((os_uuid, ec2_id) for os_uuid, ec2_id in rows)
        return out

    def os_uuids_for(self, kind: Kind, ec2_ids: Iterable[str]) -> dict[str, str]:
        """OpenStack ids by canonical EC2 ID, for the IDs that name an object of
        ``kind``; unknown IDs are absent. MalformedId for an ill-formed one."""
        wanted = list(dict.fromkeys(canonical_id(kind, v) for v in ec2_ids))
        out: dict[str, str] = {}
        if not wanted:
            return out
        with self.db.session() as s:
            for chunk in _chunks(wanted):
                rows = s.execute(select(Ec2Id.ec2_id, Ec2Id.os_uuid).where(
                    Ec2Id.kind == kind.value, Ec2Id.ec2_id.in_(chunk)))
                out.update((ec2_id, os_uuid) for ec2_id, os_uuid in rows)
        return out

    def forget(self, kind: Kind, os_uuids: Iterable[str]) -> None:
        """Drop the IDs of objects that are gone for good."""
        wanted = list(dict.fromkeys(os_uuids))
        if not wanted:
            return
        with self.db.session() as s:
            forget(s, kind, wanted)


def derived_id(prefix: str, project_id: str) -> str:
    """A stable ``<prefix>-<17 hex>`` for a per-project object with no row of its
    own (each project's default VPC, subnet, ...): the same on every node and call."""
    digest = hashlib.sha256(f"{prefix}:{project_id}".encode()).hexdigest()
    return f"{prefix}-{digest[:HEX_DIGITS]}"
