"""EC2 IDs on every database back end: racing minters agree on one ID, an ID
collision is retried, batches and case-insensitive lookups work."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from core.idmap import ids as ids_module
from core.idmap.ids import Ec2Ids, Kind


def test_racing_batches_agree_on_one_id_per_object(db):
    ids = Ec2Ids(db)
    objects = [(f"uuid-{i}", "p1") for i in range(50)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: ids.ec2_ids_for(Kind.INSTANCE, objects), range(6)))
    assert all(r == results[0] for r in results)
    assert len(set(results[0].values())) == 50


def test_a_colliding_id_is_retried(db, monkeypatch):
    ids = Ec2Ids(db)
    taken = ids.ec2_id_for(Kind.IMAGE, "first", "p1")
    fresh = iter([taken, "ami-0000000000000000f"])
    monkeypatch.setattr(ids_module, "mint", lambda kind: next(fresh))
    assert ids.ec2_id_for(Kind.IMAGE, "second", "p1") == "ami-0000000000000000f"
    assert ids.os_uuids_for(Kind.IMAGE, [taken.upper().replace("AMI-", "ami-")]) == \
        {taken: "first"}
