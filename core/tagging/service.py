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

The table is :mod:`core.idmap.tag_table`'s: other kinds' describe calls read
their tags there, and a service deleting an object drops its tags there. This
service sits above compute and image (it reads and changes servers, images
and key pairs); nothing below it imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import errors
from core.compute.keypairs import KeyPairService
from core.compute.server_listing import ServerQuery
from core.compute.servers import ServerService
from core.context import RequestContext
from core.db import Database
from core.idmap.ids import Ec2Ids, Kind, canonical_id, key_pair_os_uuid
from core.idmap.models import Ec2Id, Ec2Tag
from core.idmap.tag_table import chunks, resource_tags
from core.image.service import ImageService
from core.tagging.rules import (
    MAX_SERVER_VALUE,
    NAME,
    RESOURCE_TYPES,
    Resource,
    TagRecord,
    check_key,
    check_limit,
    check_tags,
    kind_of,
    matches,
)

_LIST_CHUNK = 1000
SharedObjects = Callable[[RequestContext, Kind, list[str]], set[str]]
SERVER_SHOW = "os_compute_api:servers:show"
SERVER_UPDATE = "os_compute_api:servers:update"
METADATA_CREATE = "os_compute_api:server-metadata:create"
METADATA_DELETE = "os_compute_api:server-metadata:delete"


class TagService:
    """Create, delete and list the EC2 tags of a project's objects."""

    def __init__(self, db: Database, ids: Ec2Ids, servers: ServerService,
                 images: ImageService, keypairs: KeyPairService,
                 shared: SharedObjects | None = None) -> None:
        self.db = db
        # objects of another project every project sees (the default VPC's)
        self.shared = shared
        self.ids = ids
        self.servers = servers
        self.images = images
        self.keypairs = keypairs

    # ---- which objects -----------------------------------------------------
    def resolve(self, ctx: RequestContext, values: Sequence[str]) -> list[Resource]:
        """The caller's objects named by ``values`` (EC2 IDs of any taggable
        kinds, mixed). UnknownResourceId or MalformedId for an ID that cannot
        name one; NotFound (the first kind with missing IDs, by its ``ids``) unless
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
                raise errors.NotFound(f"{', '.join(missing)} not found", kind=kind.resource,
                                      ids=missing)
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
            shared = (self.shared(ctx, kind, [u for u, _ in rows.values()])
                      if self.shared is not None else set())
            out = {e: u for e, (u, project) in rows.items()
                   if project == ctx.project_id or u in shared}
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
            check_limit(self._server_tags(ctx, r.os_uuid), tags, r.ec2_id)
        with self.db.session() as s:
            current = self._rows(s, ctx.project_id or "", others)
            for r in others:
                check_limit(current.get((r.kind.value, r.os_uuid), {}), tags, r.ec2_id)
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
                        check_limit(have, tags, r.ec2_id)
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
            for chunk in chunks(list(dict.fromkeys(uuids))):
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
                    if matches(key, row.value, tags):
                        s.delete(row)

    def _untag_server(self, ctx: RequestContext, uuid: str,
                      tags: Sequence[tuple[str, str | None]] | None) -> None:
        for key, value in self._server_tags(ctx, uuid).items():
            if not matches(key, value, tags):
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

