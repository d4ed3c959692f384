"""EC2 IDs minted where objects are created, on every database back end:
creating a key pair, an image or servers mints exactly one ID each (and one
``r-`` per reservation), in the creating transaction; the EC2 describe calls
that follow only read."""

from __future__ import annotations

import re

from sqlalchemy import event, func, select

from core.compute.bootstrap import ensure_default_flavors
from core.network.bootstrap import ensure_default_networks
from core.compute.servers import BootRequest
from core.idmap.ids import Ec2Ids, Kind, key_pair_os_uuid
from core.idmap.models import Ec2Id
from core.image.bootstrap import ensure_default_image
from gateway.ec2.api import Call
from gateway.ec2.handlers.images import Images
from gateway.ec2.handlers.key_pairs import KeyPairs


def mapped(db, kind: Kind) -> dict[str, str]:
    with db.session() as s:
        return dict(s.execute(select(Ec2Id.os_uuid, Ec2Id.ec2_id)
                              .where(Ec2Id.kind == kind.value)).tuples().all())


def count(db, *kinds: Kind) -> int:
    """Rows of the mapping (of ``kinds`` only, when given)."""
    query = select(func.count()).select_from(Ec2Id)
    if kinds:
        query = query.where(Ec2Id.kind.in_([k.value for k in kinds]))
    with db.session() as s:
        return s.scalar(query) or 0


class Writes:
    """Counts statements that write to ec2_ids while it is active."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.seen: list[str] = []

    def _listen(self, conn, cursor, statement, *args) -> None:
        text = statement.lstrip().upper()
        if "EC2_IDS" in text and text.startswith(("INSERT", "UPDATE", "DELETE")):
            self.seen.append(statement)

    def __enter__(self) -> Writes:
        event.listen(self.engine, "before_cursor_execute", self._listen)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._listen)


def test_a_new_key_pair_has_one_id_and_describe_only_reads(services, ec2_deps, admin_ctx):
    before = count(services.db)
    key, _ = services.keypairs.create(admin_ctx, "mint-me")
    assert count(services.db) == before + 1
    uuid = key_pair_os_uuid(key.id, key.created_at)
    ec2_id = mapped(services.db, Kind.KEY_PAIR)[uuid]
    assert re.fullmatch(r"key-[0-9a-f]{17}", ec2_id)
    with Writes(services.db.engine) as writes:
        listed = KeyPairs(ec2_deps).describe_key_pairs(
            Call(admin_ctx, "DescribeKeyPairs", {}, "req-1"))["KeyPairs"]
    assert writes.seen == []
    assert [k["KeyPairId"] for k in listed if k["KeyName"] == "mint-me"] == [ec2_id]
    services.keypairs.delete(admin_ctx, "mint-me")
    assert uuid not in mapped(services.db, Kind.KEY_PAIR)


def test_a_new_image_has_one_id_and_describe_only_reads(services, ec2_deps, admin_ctx):
    before = count(services.db)
    image = services.images.create(admin_ctx, {"name": "minted", "disk_format": "raw",
                                               "container_format": "bare"})
    assert count(services.db) == before + 1
    ami = mapped(services.db, Kind.IMAGE)[image.id]
    assert re.fullmatch(r"ami-[0-9a-f]{17}", ami)
    with Writes(services.db.engine) as writes:
        images = Images(ec2_deps).describe_images(
            Call(admin_ctx, "DescribeImages", {}, "req-2"))["Images"]
    assert writes.seen == []
    assert [i["ImageId"] for i in images if i["Name"] == "minted"] == [ami]
    services.images.delete(admin_ctx, image.id)
    assert image.id not in mapped(services.db, Kind.IMAGE)


def test_images_made_before_minting_existed_are_minted_once_lazily(services, ec2_deps,
                                                                    admin_ctx):
    image = services.images.create(admin_ctx, {"name": "old", "disk_format": "raw",
                                               "container_format": "bare"})
    Ec2Ids(services.db).forget(Kind.IMAGE, [image.id])  # as if made before part 2
    call = Call(admin_ctx, "DescribeImages", {}, "req-3")
    first = {i["Name"]: i["ImageId"] for i in Images(ec2_deps).describe_images(call)["Images"]}
    with Writes(services.db.engine) as writes:
        again = {i["Name"]: i["ImageId"] for i in Images(ec2_deps).describe_images(call)["Images"]}
    assert writes.seen == [] and again == first
    assert mapped(services.db, Kind.IMAGE)[image.id] == first["old"]


def test_new_servers_have_one_id_each_and_one_reservation_id(services, admin_ctx, db):
    image = ensure_default_image(services.images, admin_ctx)
    flavor = ensure_default_flavors(db)[0]
    ensure_default_networks(db, services.settings, "p-admin")
    before = count(services.db, Kind.INSTANCE, Kind.RESERVATION)
    reservation, instances = services.servers.create(admin_ctx, BootRequest(
        name="minted", image_ref=image.id, flavor_ref=flavor, min_count=3, max_count=3))
    # (the project's first boot also makes its default security group, with an sg- id)
    assert count(services.db, Kind.INSTANCE, Kind.RESERVATION) == before + 4
    ids = mapped(services.db, Kind.INSTANCE)
    assert all(re.fullmatch(r"i-[0-9a-f]{17}", ids[i.uuid]) for i in instances)
    assert len({ids[i.uuid] for i in instances}) == 3
    r_id = mapped(services.db, Kind.RESERVATION)[reservation]
    assert re.fullmatch(r"r-[0-9a-f]{17}", r_id)
    assert Ec2Ids(services.db).os_uuids_for(Kind.RESERVATION, [r_id]) == {r_id: reservation}
    with Writes(services.db.engine) as writes:
        again = Ec2Ids(services.db).ec2_ids_for(
            Kind.INSTANCE, [(i.uuid, admin_ctx.project_id or "") for i in instances])
    assert writes.seen == [] and again == {i.uuid: ids[i.uuid] for i in instances}
