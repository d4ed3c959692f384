"""core/idmap/ids.py on SQLite: minting, stability, batch lookups, 8-hex and
upper-case input, collisions and racing minters."""

from __future__ import annotations

import datetime
import re
import threading

import pytest
from sqlalchemy import func, insert, select

from core.db import Database
from core.db.migrate import upgrade
from core.idmap import ids as ids_module
from core.idmap.ids import (
    Ec2Ids,
    Kind,
    MalformedId,
    canonical_id,
    key_pair_os_uuid,
    mint,
    mint_kinds,
)
from core.idmap.models import Ec2Id


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'nimbus.db'}")
    upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def ids(db) -> Ec2Ids:
    return Ec2Ids(db)


def rows(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Ec2Id)) or 0


@pytest.mark.parametrize("kind", list(Kind))
def test_minted_ids_are_the_prefix_and_17_lower_case_hex_digits(kind):
    assert re.fullmatch(rf"{kind.value}-[0-9a-f]{{17}}", mint(kind))


def test_prefixes():
    assert [k.value for k in Kind] == ["i", "ami", "r", "sg", "vol", "snap", "eipalloc",
                                       "eipassoc", "key", "vpc", "subnet", "eni",
                                       "eni-attach", "rtb", "rtbassoc", "igw", "dopt",
                                       "vpc-cidr-assoc", "sgr"]


@pytest.mark.parametrize(("value", "expected"), [
    ("i-0123456789abcdef0", "i-0123456789abcdef0"),
    ("I-0123456789ABCDEF0", "i-0123456789abcdef0"),
    ("i-1a2b3c4d", "i-1a2b3c4d"),
    (" i-1A2B3C4D ", "i-1a2b3c4d"),
])
def test_canonical_ids_accept_8_or_17_hex_digits_in_any_case(value, expected):
    assert canonical_id(Kind.INSTANCE, value) == expected


@pytest.mark.parametrize("value", ["i-123", "i-0123456789abcdef", "i-0123456789abcdef01",
                                   "ami-0123456789abcdef0", "i-0123456789abcdefg", "i",
                                   "0123456789abcdef0", "", "i--0123456789abcdef0"])
def test_malformed_ids(value):
    with pytest.raises(MalformedId) as info:
        canonical_id(Kind.INSTANCE, value)
    assert info.value.kind == Kind.INSTANCE.resource == "instance"


def test_an_object_keeps_its_id(ids, db):
    first = ids.ec2_id_for(Kind.INSTANCE, "uuid-1", "p1")
    assert ids.ec2_id_for(Kind.INSTANCE, "uuid-1", "p1") == first
    assert ids.existing(Kind.INSTANCE, ["uuid-1", "uuid-2"]) == {"uuid-1": first}
    assert rows(db) == 1


def test_kinds_are_separate(ids):
    assert ids.ec2_id_for(Kind.INSTANCE, "same", "p").startswith("i-")
    assert ids.ec2_id_for(Kind.IMAGE, "same", "p").startswith("ami-")


def test_batch_mints_only_what_is_missing_in_one_insert(ids, db, monkeypatch):
    known = ids.ec2_id_for(Kind.VOLUME, "v0", "p")
    sessions = []
    real_session = db.session

    def counting_session():
        sessions.append(1)
        return real_session()

    monkeypatch.setattr(db, "session", counting_session)
    got = ids.ec2_ids_for(Kind.VOLUME, [(f"v{i}", "p") for i in range(1200)])
    assert got["v0"] == known
    assert len(set(got.values())) == 1200
    assert len(sessions) == 2  # one read, one insert
    assert rows(db) == 1200


def test_lookup_by_ec2_id_accepts_any_case(ids):
    ec2_id = ids.ec2_id_for(Kind.SNAPSHOT, "s1", "p")
    assert ids.os_uuids_for(Kind.SNAPSHOT, [ec2_id.upper().replace("SNAP-", "snap-")]) == \
        {ec2_id: "s1"}
    assert ids.os_uuids_for(Kind.SNAPSHOT, ["snap-1a2b3c4d"]) == {}
    with pytest.raises(MalformedId):
        ids.os_uuids_for(Kind.SNAPSHOT, ["vol-0123456789abcdef0"])


def test_a_colliding_id_is_retried(ids, monkeypatch):
    taken = ids.ec2_id_for(Kind.INSTANCE, "a", "p")
    fresh = iter([taken, "i-00000000000000001"])
    monkeypatch.setattr(ids_module, "mint", lambda kind: next(fresh))
    assert ids.ec2_id_for(Kind.INSTANCE, "b", "p") == "i-00000000000000001"
    assert ids.existing(Kind.INSTANCE, ["a"]) == {"a": taken}


def test_racing_minters_agree_on_one_id(ids):
    results: list[str] = []
    barrier = threading.Barrier(8)

    def mint_one():
        barrier.wait()
        results.append(ids.ec2_id_for(Kind.INSTANCE, "contended", "p"))

    threads = [threading.Thread(target=mint_one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and len(set(results)) == 1


def test_forget(ids):
    ids.ec2_id_for(Kind.KEY_PAIR, "k1", "p")
    ids.forget(Kind.KEY_PAIR, ["k1"])
    assert ids.existing(Kind.KEY_PAIR, ["k1"]) == {}


def test_a_reused_key_pair_row_id_is_a_new_object():
    t1 = datetime.datetime(2024, 1, 1, 0, 0, 0, 123456, tzinfo=datetime.UTC)
    t2 = t1 + datetime.timedelta(microseconds=1)
    assert key_pair_os_uuid(7, t1) == key_pair_os_uuid(7, t1)
    assert key_pair_os_uuid(7, t1) != key_pair_os_uuid(7, t2)
    assert key_pair_os_uuid(7, t1) == key_pair_os_uuid(7, t1.replace(tzinfo=None))


# ---- minting in the creating transaction (ids.mint_new) -------------------------

def test_mint_new_commits_and_rolls_back_with_the_caller(ids, db):
    with db.session() as s:
        minted = ids_module.mint_new(s, Kind.IMAGE, [("img-1", "p1"), ("img-2", "p1")])
    assert ids.existing(Kind.IMAGE, ["img-1", "img-2"]) == minted
    with pytest.raises(RuntimeError), db.session() as s:
        ids_module.mint_new(s, Kind.IMAGE, [("img-3", "p1")])
        raise RuntimeError("the creation failed")
    assert ids.existing(Kind.IMAGE, ["img-3"]) == {}


def test_mint_new_keeps_an_existing_id(ids, db):
    first = ids.ec2_id_for(Kind.INSTANCE, "inst-1", "p1")
    before = rows(db)
    with db.session() as s:
        again = ids_module.mint_new(s, Kind.INSTANCE, [("inst-1", "p1"), ("inst-2", "p1")])
    assert again["inst-1"] == first and rows(db) == before + 1


def test_mint_new_draws_again_on_a_taken_id(ids, db, monkeypatch):
    taken = ids.ec2_id_for(Kind.IMAGE, "first", "p1")
    fresh = iter([taken, "ami-0000000000000000f"])
    monkeypatch.setattr(ids_module, "mint", lambda kind: next(fresh))
    with db.session() as s:
        assert ids_module.mint_new(s, Kind.IMAGE, [("second", "p1")]) == \
            {"second": "ami-0000000000000000f"}


def test_mint_new_in_chunks(ids, db):
    objects = [(f"many-{i}", "p1") for i in range(1200)]
    with db.session() as s:
        minted = ids_module.mint_new(s, Kind.INSTANCE, objects)
    assert len(set(minted.values())) == 1200
    assert ids.existing(Kind.INSTANCE, minted) == minted


def test_forget_in_the_callers_transaction(ids, db):
    ids.ec2_id_for(Kind.IMAGE, "doomed", "p1")
    with db.session() as s:
        ids_module.forget(s, Kind.IMAGE, ["doomed"])
    assert ids.existing(Kind.IMAGE, ["doomed"]) == {}


def test_mint_kinds_mints_every_kind_in_three_statements(db):
    from sqlalchemy import event

    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    with db.session() as s:
        s.execute(insert(Ec2Id), [{"ec2_id": "i-0000000000000000a", "kind": "i",
                                   "os_uuid": "kept", "project_id": "p"}])
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        with db.session() as s:
            out = mint_kinds(s, {Kind.INSTANCE: [("kept", "p"), ("new", "p")],
                                 Kind.RESERVATION: [("res", "p")],
                                 Kind.ADDRESS: []})
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len([q for q in statements if not q.startswith(("BEGIN", "COMMIT"))]) == 3
    assert out[Kind.INSTANCE]["kept"] == "i-0000000000000000a"  # an ID is never changed
    assert out[Kind.INSTANCE]["new"].startswith("i-")
    assert out[Kind.RESERVATION]["res"].startswith("r-") and out[Kind.ADDRESS] == {}
    ids = Ec2Ids(db)
    assert ids.existing(Kind.INSTANCE, ["kept", "new"]) == out[Kind.INSTANCE]
    assert ids.existing(Kind.RESERVATION, ["res"]) == out[Kind.RESERVATION]
