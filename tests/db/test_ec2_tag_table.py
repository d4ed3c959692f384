"""EC2 tags in the ``ec2_tags`` table on every database back end: the kinds
with no key/value store of their own (security groups, addresses, volumes,
snapshots) are found through their EC2 IDs and their project, tagged within
AWS's limits, read by :func:`resource_tags`, listed by ``describe`` only while
their EC2 ID exists, and dropped by :func:`forget_tags`."""

from __future__ import annotations

import uuid

import pytest

from core import errors
from core.context import RequestContext
from core.idmap.ids import Kind, forget, mint_new
from core.idmap.tag_table import forget_tags, resource_tags
from core.tagging.rules import TagLimitExceeded
from core.tagging.service import TagService


@pytest.fixture
def tags(services) -> TagService:
    return services.tags


def ctx(project: str) -> RequestContext:
    return RequestContext(user_id=f"u-{project}", project_id=project, roles=("member",))


def objects(db, kind: Kind, project: str, n: int = 1) -> list[tuple[str, str]]:
    """``n`` objects of ``kind`` owned by ``project``: (os uuid, EC2 ID) pairs, minted
    as their services mint them when they create them."""
    uuids = [str(uuid.uuid4()) for _ in range(n)]
    with db.session() as s:
        ids = mint_new(s, kind, [(u, project) for u in uuids])
    return [(u, ids[u]) for u in uuids]


def test_generic_kinds_are_tagged_per_project(services, tags):
    db = services.db
    (sg_uuid, sg), = objects(db, Kind.SECURITY_GROUP, "p1")
    (eip_uuid, eip), = objects(db, Kind.ADDRESS, "p1")
    (vol_uuid, vol), = objects(db, Kind.VOLUME, "p2")
    found = tags.resolve(ctx("p1"), [sg.upper().replace("SG-", "sg-"), eip])
    assert [(r.kind, r.ec2_id, r.os_uuid) for r in found] == [
        (Kind.SECURITY_GROUP, sg, sg_uuid), (Kind.ADDRESS, eip, eip_uuid)]
    with pytest.raises(errors.NotFound) as info:
        tags.resolve(ctx("p1"), [sg, vol])  # p2's volume
    assert info.value.kind == Kind.VOLUME.resource and info.value.ids == [vol]

    tags.create(ctx("p1"), found, {"env": "prod", "Name": "web"})
    tags.create(ctx("p1"), found[:1], {"env": "test", "k" * 128: "v" * 256})
    assert resource_tags(db, Kind.SECURITY_GROUP, "p1", [sg_uuid, "absent"]) == {
        sg_uuid: [{"Key": "Name", "Value": "web"}, {"Key": "env", "Value": "test"},
                  {"Key": "k" * 128, "Value": "v" * 256}], "absent": []}
    assert resource_tags(db, Kind.SECURITY_GROUP, "p2", [sg_uuid]) == {sg_uuid: []}
    listed = tags.describe(ctx("p1"), {"security-group", "elastic-ip"})
    assert [(t.resource_id, t.resource_type, t.key) for t in listed] == sorted(
        [(sg, "security-group", "Name"), (sg, "security-group", "env"),
         (sg, "security-group", "k" * 128), (eip, "elastic-ip", "Name"),
         (eip, "elastic-ip", "env")])
    assert tags.describe(ctx("p2"), {"volume"}) == []

    # DeleteTags semantics: a value must match; no list deletes all.
    tags.delete(ctx("p1"), found, [("env", "prod"), ("Name", None)])
    assert resource_tags(db, Kind.ADDRESS, "p1", [eip_uuid])[eip_uuid] == []
    assert [t["Key"] for t in resource_tags(db, Kind.SECURITY_GROUP, "p1",
                                            [sg_uuid])[sg_uuid]] == ["env", "k" * 128]
    tags.delete(ctx("p1"), found[:1], None)
    assert resource_tags(db, Kind.SECURITY_GROUP, "p1", [sg_uuid])[sg_uuid] == []


def test_limit_is_checked_for_every_object_before_any_write(services, tags):
    db = services.db
    (a_uuid, a), (b_uuid, b) = objects(db, Kind.SNAPSHOT, "p1", 2)
    found = tags.resolve(ctx("p1"), [a, b])
    tags.create(ctx("p1"), found[1:], {f"t{i}": "" for i in range(48)})
    with pytest.raises(TagLimitExceeded):
        tags.create(ctx("p1"), found, {"x": "1", "y": "2", "z": "3"})
    assert resource_tags(db, Kind.SNAPSHOT, "p1", [a_uuid])[a_uuid] == []
    tags.create(ctx("p1"), found, {"x": "1", "t0": "again"})  # 49 + an overwrite: fits
    assert len(resource_tags(db, Kind.SNAPSHOT, "p1", [b_uuid])[b_uuid]) == 49


def test_tags_of_deleted_objects_are_gone(services, tags):
    db = services.db
    (g1, sg1), (g2, sg2) = objects(db, Kind.SECURITY_GROUP, "p1", 2)
    tags.create(ctx("p1"), tags.resolve(ctx("p1"), [sg1, sg2]), {"k": "v"})
    tags.create(ctx("p2"), [], {"k": "v"})  # nothing to tag: nothing written
    with db.session() as s:  # a service deleting sg1 drops its ID and its tags
        forget(s, Kind.SECURITY_GROUP, [g1])
        forget_tags(s, Kind.SECURITY_GROUP, [g1])
    with db.session() as s:  # one that forgot to drop the tags: they are not listed
        forget(s, Kind.SECURITY_GROUP, [g2])
    assert tags.describe(ctx("p1"), {"security-group"}) == []
    assert resource_tags(db, Kind.SECURITY_GROUP, "p1", [g1]) == {g1: []}
    with pytest.raises(errors.NotFound):
        tags.resolve(ctx("p1"), [sg1])
