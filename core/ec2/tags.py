"""EC2 tags (key = value) on every kind of object that has an EC2 ID.

Where the tags live depends on the kind:

- instances: ``Name`` is the server's name and every other tag is a server
  metadata item, so ``openstack server show`` lists them as properties and
  metadata set through the compute API shows up as EC2 tags;
- everything else (images, key pairs, security groups, addresses, volumes,
  snapshots) in the ``ec2_tags`` table, one row per (object, project, key).
  Image tags stay there rather than in Glance properties: EC2 keeps the tags
  an account puts on an AMI private to that account, also when the AMI is
  shared or public, and Glance properties would show one project's tags to
  everyone who may launch the image (and only the owner may write them).

The rules are AWS's: at most 50 tags per object, keys of 1-128 characters
that do not start with ``aws:``, values of at most 256 characters. A call
naming several objects changes none of them unless every one is found and
every change fits.

Other kinds' describe calls read their tags with :func:`resource_tags`, and
a service deleting an object drops its tags with :func:`forget_tags` in the
deleting transaction (rows of objects whose EC2 ID is gone are never listed
either way).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.db import Database
from core.ec2.ids import Ec2Ids, Kind, canonical_id, key_pair_os_uuid
from core.ec2.models import Ec2Id, Ec2Tag

if TYPE_CHECKING:
    from core.compute.keypairs import KeyPairService
    from core.compute.servers import ServerService
    from core.image.service import ImageService

MAX_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256
MAX_SERVER_VALUE = 255  # Nova's limit on server names and metadata values
RESERVED_PREFIX = "aws:"
NAME = "Name"
_CHUNK = 500
_LIST_CHUNK = 1000

# DescribeTags' resource-type of each taggable kind; reservations and
# associations are not taggable.
RESOURCE_TYPES: Mapping[Kind, str] = {
    Kind.INSTANCE: "instance", Kind.IMAGE: "image", Kind.SECURITY_GROUP: "security-group",
    Kind.KEY_PAIR: "key-pair", Kind.ADDRESS: "elastic-ip", Kind.VOLUME: "volume",
    Kind.SNAPSHOT: "snapshot",
}
_BY_PREFIX = {kind.value: kind for kind in RESOURCE_TYPES}

SERVER_SHOW = "os_compute_api:servers:show"
SERVER_UPDATE = "os_compute_api:servers:update"
METADATA_CREATE = "os_compute_api:server-metadata:create"
METADATA_DELETE = "os_compute_api:server-metadata:delete"


class UnknownResourceId(errors.InvalidInput):
    """An ID of no taggable kind (EC2's ``InvalidID``)."""

    def __init__(self, value: str) -> None:
        super().__init__(f"The ID '{value}' is not valid", value=value)
        self.value = value


class ResourcesNotFound(errors.NotFound):
    """IDs of ``kind`` that name nothing the caller's project has."""

    def __init__(self, kind: Kind, ids: Sequence[str]) -> None:
        super().__init__(f"{', '.join(ids)} not found", kind=kind, ids=list(ids))
        self.kind = kind
        self.ids = list(ids)


class TagLimitExceeded(errors.InvalidInput):
    """More than :data:`MAX_TAGS` tags on one object."""


@dataclass(frozen=True)
class Resource:
    """A taggable object named by its EC2 ID."""

    kind: Kind
    ec2_id: str
    os_uuid: str


@dataclass(frozen=True)
class TagRecord:
    """One tag as DescribeTags lists it."""

    resource_id: str
    resource_type: str
    key: str
    value: str


# ---- rules ---------------------------------------------------------------------

def kind_of(value: str) -> Kind:
    """The taggable kind an EC2 ID names by its prefix; UnknownResourceId if
    none. The ID's digits are checked by :func:`canonical_id`."""
    prefix = value.strip().lower().rpartition("-")[0]
    kind = _BY_PREFIX.get(prefix)
    if kind is None:
        raise UnknownResourceId(value)
    return kind


def check_key(key: str) -> None:
    if not key:
        raise errors.InvalidInput("Tag keys must not be empty.")
    if len(key) > MAX_KEY:
        raise errors.InvalidInput(f"Tag key exceeds the maximum length of {MAX_KEY} "
                                  "characters.")
    if key.lower().startswith(RESERVED_PREFIX):
        raise errors.InvalidInput(f"Value ( {key} ) for parameter key is invalid. Tag keys "
                                  "starting with 'aws:' are reserved for internal use")


def check_tags(tags: Mapping[str, str]) -> None:
    """InvalidInput unless every key and value is one EC2 accepts."""
    for key, value in tags.items():
        check_key(key)
        if len(value) > MAX_VALUE:
            raise errors.InvalidInput(f"Tag value exceeds the maximum length of {MAX_VALUE} "
                                      "characters.")
    if len(tags) > MAX_TAGS:
        raise TagLimitExceeded(f"The maximum number of tags per resource is {MAX_TAGS}.")


def _limit(current: Iterable[str], adding: Iterable[str], ec2_id: str) -> None:
    if len(set(current) | set(adding)) > MAX_TAGS:
        raise TagLimitExceeded(f"Tag limit exceeded: {ec2_id} would have more than "
                               f"{MAX_TAGS} tags.")


# ---- the generic table -----------------------------------------------------------

def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def resource_tags(db: Database, kind: Kind, project_id: str,
                  os_uuids: Iterable[str]) -> dict[str, list[dict[str, str]]]:
    """The tags project ``project_id`` put on objects of ``kind`` (kept in the
    ``ec2_tags`` table), as the ``Tags`` member of describe answers
    (``[{"Key": …, "Value": …}]`` sorted by key), by OpenStack id. Every id
    asked for is in the answer, with ``[]`` if it has no tags."""
    wanted = list(dict.fromkeys(os_uuids))
    out: dict[str, list[dict[str, str]]] = {u: [] for u in wanted}
    with db.session() as s:
        for chunk in _chunks(wanted):
            rows = s.execute(select(Ec2Tag.os_uuid, Ec2Tag.key, Ec2Tag.value).where(
                Ec2Tag.kind == kind.value, Ec2Tag.project_id == project_id,
                Ec2Tag.os_uuid.in_(chunk)).order_by(Ec2Tag.os_uuid, Ec2Tag.key))
            for os_uuid, key, value in rows:
                out[os_uuid].append({"Key": key, "Value": value})
    return out


def forget_tags(s: Session, kind: Kind, os_uuids: Iterable[str]) -> None:
    """Drop, in the caller's transaction, every project's tags on objects being
    deleted there."""
    wanted = list(dict.fromkeys(os_uuids))
    for chunk in _chunks(wanted):
        s.execute(delete(Ec2Tag).where(Ec2Tag.kind == kind.value, Ec2Tag.os_uuid.in_(chunk)))


class TagService:
    """Create, delete and list the EC2 tags of a project's objects."""

    def __init__(self, db: Database, ids: Ec2Ids, servers: ServerService,
                 images: ImageService, keypairs: KeyPairService) -> None:
        self.db = db
        self.ids = ids
        self.servers = servers
        self.images = images
        self.keypairs = keypairs

    # ---- which objects -----------------------------------------------------
    def resolve(self, ctx: RequestContext, values: Sequence[str]) -> list[Resource]:
        """The caller's objects named by ``values`` (EC2 IDs of any taggable
        kinds, mixed). UnknownResourceId or MalformedId for an ID that cannot
        name one; ResourcesNotFound (the first kind with missing IDs) unless
        all are found. Another project's object is not found."""
        by_kind: dict[Kind, list[str]] = {}
        for value in values:
            kind = kind_of(value)
            by_kind.setdefault(kind, []).append(canonical_id(kind, value))
        out: list[Resource] = []
        for kind, wanted in by_kind.items():
            wanted = list(dict.fromkeys(wanted))
            uuids = self._owned(ctx, kind, wanted)
            missing = [w for w in wanted if w not in uuids]
            if missing:
                raise ResourcesNotFound(kind, missing)
            out.extend(Resource(kind, w, uuids[w]) for w in wanted)
        return out

    def _owned(self, ctx: RequestContext, kind: Kind, wanted: list[str]) -> dict[str, str]:
        """OpenStack ids, by EC2 ID, of those ``wanted`` the caller may tag."""
        with self.db.session() as s:
            rows = {ec2_id: (os_uuid, project) for ec2_id, os_uuid, project in s.execute(
                select(Ec2Id.ec2_id, Ec2Id.os_uuid, Ec2Id.project_id).where(
                    Ec2Id.kind == kind.value, Ec2Id.ec2_id.in_(wanted)))}
        out: dict[str, str] = {}
        if kind == Kind.INSTANCE:
            for ec2_id, (os_uuid, _) in rows.items():
                try:
                    inst = self.servers.get(ctx, os_uuid, SERVER_SHOW)
                except errors.NotFound:
                    continue
                if inst.project_id == ctx.project_id:
                    out[ec2_id] = os_uuid
        elif kind == Kind.IMAGE:
            # Any image the caller may launch: tags are per project, as AWS
            # lets an account tag AMIs shared with it.
            for ec2_id, (os_uuid, _) in rows.items():
                try:
                    self.images.show(ctx, os_uuid)
                except errors.NotFound:
                    continue
                out[ec2_id] = os_uuid
        elif kind == Kind.KEY_PAIR:
            mine = {key_pair_os_uuid(k.id, k.created_at)
                    for k in self.keypairs.list_keypairs(ctx)}
            out = {e: u for e, (u, _) in rows.items() if u in mine}
        else:
            out = {e: u for e, (u, project) in rows.items() if project == ctx.project_id}
        return out

    # ---- create ------------------------------------------------------------
    def create(self, ctx: RequestContext, resources: Sequence[Resource],
               tags: Mapping[str, str]) -> None:
        """Add or overwrite ``tags`` on every one of ``resources``; checks every
        object's limit before changing any."""
        check_tags(tags)
        servers = [r for r in resources if r.kind == Kind.INSTANCE]
        others = [r for r in resources if r.kind != Kind.INSTANCE]
        if servers and any(len(v) > MAX_SERVER_VALUE for v in tags.values()):
            raise errors.InvalidInput(f"Tag values of instances are at most "
                                      f"{MAX_SERVER_VALUE} characters (server names and "
                                      "metadata).")
        for r in servers:
            _limit(self._server_tags(ctx, r.os_uuid), tags, r.ec2_id)
        with self.db.session() as s:
            current = self._rows(s, ctx.project_id or "", others)
            for r in others:
                _limit(current.get((r.kind.value, r.os_uuid), {}), tags, r.ec2_id)
        if others:
            self._write_rows(ctx.project_id or "", others, tags)
        for r in servers:
            self._tag_server(ctx, r.os_uuid, tags)

    def _write_rows(self, project_id: str, resources: Sequence[Resource],
                    tags: Mapping[str, str]) -> None:
        for attempt in range(2):  # a concurrent insert of the same key: read again
            try:
                with self.db.session() as s:
                    current = self._rows(s, project_id, resources, lock=True)
                    for r in resources:
                        have = current.get((r.kind.value, r.os_uuid), {})
                        _limit(have, tags, r.ec2_id)
                        for key, value in tags.items():
                            row = have.get(key)
                            if row is None:
                                s.add(Ec2Tag(kind=r.kind.value, os_uuid=r.os_uuid,
                                             project_id=project_id, key=key, value=value))
                            elif row.value != value:
                                row.value = value
                return
            except IntegrityError:
                if attempt:
                    raise errors.ServiceUnavailable("Tags changed concurrently; retry.") \
                        from None

    @staticmethod
    def _rows(s: Session, project_id: str, resources: Sequence[Resource],
              lock: bool = False) -> dict[tuple[str, str], dict[str, Ec2Tag]]:
        out: dict[tuple[str, str], dict[str, Ec2Tag]] = {}
        by_kind: dict[str, list[str]] = {}
        for r in resources:
            by_kind.setdefault(r.kind.value, []).append(r.os_uuid)
        for kind, uuids in by_kind.items():
            for chunk in _chunks(list(dict.fromkeys(uuids))):
                query = select(Ec2Tag).where(Ec2Tag.kind == kind,
                                             Ec2Tag.project_id == project_id,
                                             Ec2Tag.os_uuid.in_(chunk))
                if lock:
                    query = query.with_for_update()
                for row in s.scalars(query):
                    out.setdefault((row.kind, row.os_uuid), {})[row.key] = row
        return out

    def _server_tags(self, ctx: RequestContext, uuid: str) -> dict[str, str]:
        inst = self.servers.get(ctx, uuid, SERVER_SHOW)
        tags = {str(k): str(v) for k, v in (inst.metadata_items or {}).items()}
        if inst.display_name:
            tags[NAME] = inst.display_name
        return tags

    def _tag_server(self, ctx: RequestContext, uuid: str, tags: Mapping[str, str]) -> None:
        if NAME in tags:
            self.servers.update(ctx, uuid, {"name": tags[NAME]})
        items = {k: v for k, v in tags.items() if k != NAME}
        if items:
            self.servers.set_metadata(ctx, uuid, items, replace=False, rule=METADATA_CREATE)

    # ---- delete ------------------------------------------------------------
    def delete(self, ctx: RequestContext, resources: Sequence[Resource],
               tags: Sequence[tuple[str, str | None]] | None) -> None:
        """Delete ``tags`` ((key, value) pairs; a tag goes only if its value is
        the one given, or any value for None) from every one of ``resources``;
        all their tags if ``tags`` is None. Keys not there are no error."""
        for key, _ in tags or ():
            check_key(key)
        for r in resources:
            if r.kind == Kind.INSTANCE:
                self._untag_server(ctx, r.os_uuid, tags)
        others = [r for r in resources if r.kind != Kind.INSTANCE]
        if not others:
            return
        with self.db.session() as s:
            for (_, _), rows in self._rows(s, ctx.project_id or "", others, lock=True).items():
                for key, row in rows.items():
                    if _matches(key, row.value, tags):
                        s.delete(row)

    def _untag_server(self, ctx: RequestContext, uuid: str,
                      tags: Sequence[tuple[str, str | None]] | None) -> None:
        for key, value in self._server_tags(ctx, uuid).items():
            if not _matches(key, value, tags):
                continue
            if key == NAME:
                self.servers.update(ctx, uuid, {"name": ""})
                continue
            try:
                self.servers.delete_metadata(ctx, uuid, key)
            except errors.NotFound:
                pass  # deleted meanwhile: the outcome asked for

    # ---- read --------------------------------------------------------------
    def tags_of(self, ctx: RequestContext, kind: Kind,
                os_uuids: Iterable[str]) -> dict[str, list[dict[str, str]]]:
        """The caller's project's tags of objects of a kind kept in the table."""
        return resource_tags(self.db, kind, ctx.project_id or "", os_uuids)

    def describe(self, ctx: RequestContext,
                 resource_types: set[str] | None = None) -> list[TagRecord]:
        """Every tag the caller's project has (of the given resource types only,
        if any), sorted by resource ID and key."""
        out: list[TagRecord] = []
        if resource_types is None or "instance" in resource_types:
            out.extend(self._instance_records(ctx))
        kinds = [k.value for k, t in RESOURCE_TYPES.items() if k != Kind.INSTANCE
                 and (resource_types is None or t in resource_types)]
        if kinds:
            with self.db.session() as s:
                rows = s.execute(
                    select(Ec2Id.ec2_id, Ec2Tag.kind, Ec2Tag.key, Ec2Tag.value)
                    .join(Ec2Id, and_(Ec2Id.kind == Ec2Tag.kind,
                                      Ec2Id.os_uuid == Ec2Tag.os_uuid))
                    .where(Ec2Tag.project_id == (ctx.project_id or ""),
                           Ec2Tag.kind.in_(kinds)))
                out.extend(TagRecord(ec2_id, RESOURCE_TYPES[Kind(kind)], key, value)
                           for ec2_id, kind, key, value in rows)
        out.sort(key=lambda t: (t.resource_id, t.key))
        return out

    def _instance_records(self, ctx: RequestContext) -> list[TagRecord]:
        # Imported here: compute imports network, whose services drop their
        # objects' tags through this module.
        from core.compute.server_listing import ServerQuery

        instances = []
        marker: str | None = None
        while True:
            query = ServerQuery(project_id=ctx.project_id, limit=_LIST_CHUNK, marker=marker)
            chunk, more = self.servers.list_servers(ctx, query, detail=True)
            instances.extend(chunk)
            if not more or not chunk:
                break
            marker = chunk[-1].uuid
        ids = self.ids.existing(Kind.INSTANCE, [i.uuid for i in instances])
        out = []
        for inst in instances:
            ec2_id = ids.get(inst.uuid)
            if ec2_id is None:
                continue  # not yet seen by EC2; DescribeInstances mints it
            if inst.display_name:
                out.append(TagRecord(ec2_id, "instance", NAME, inst.display_name))
            out.extend(TagRecord(ec2_id, "instance", str(k), str(v))
                       for k, v in (inst.metadata_items or {}).items())
        return out


def _matches(key: str, value: str, tags: Sequence[tuple[str, str | None]] | None) -> bool:
    if key.lower().startswith(RESERVED_PREFIX):
        return False  # AWS never deletes its own tags
    if tags is None:
        return True
    return any(k == key and (v is None or v == value) for k, v in tags)
