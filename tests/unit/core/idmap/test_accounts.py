"""core/idmap/accounts.py on SQLite: twelve-digit account ids, one per project,
stable, unique, looked up both ways, and drawn again when one is taken."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from core.db import Database
from core.db.migrate import upgrade
from core.idmap import accounts as accounts_module
from core.idmap.accounts import AccountIds, is_account_id, mint_account
from core.idmap.ids import Ec2Ids
from core.idmap.models import ProjectAccount


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'nimbus.db'}")
    upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def accounts(db) -> AccountIds:
    return AccountIds(db)


def rows(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(ProjectAccount)) or 0


def test_minted_account_ids_are_twelve_digits_and_may_start_with_zero(monkeypatch):
    assert all(re.fullmatch(r"[0-9]{12}", mint_account()) for _ in range(200))
    monkeypatch.setattr(accounts_module.secrets, "randbelow", lambda n: 42)
    assert mint_account() == "000000000042"


def test_is_account_id():
    assert is_account_id("012345678901")
    assert not is_account_id("12345678901") and not is_account_id("01234567890a")
    assert not is_account_id("0123456789012") and not is_account_id("")


def test_a_project_keeps_its_account_id(db, accounts):
    first = accounts.account_id_for("p1")
    assert is_account_id(first)
    assert accounts.account_id_for("p1") == first
    assert AccountIds(db).account_id_for("p1") == first  # another node, from the table
    assert rows(db) == 1


def test_projects_get_different_account_ids(db, accounts):
    found = accounts.account_ids_for([f"p{i}" for i in range(300)])
    assert len(set(found.values())) == 300 and rows(db) == 300


def test_a_batch_mints_only_the_missing_ones(db, accounts):
    one = accounts.account_id_for("p1")
    both = accounts.account_ids_for(["p1", "p2", "p1"])
    assert both["p1"] == one and set(both) == {"p1", "p2"} and rows(db) == 2


def test_no_project_has_no_account(db, accounts):
    assert accounts.account_ids_for(["", "p1"])[""] == ""
    assert rows(db) == 1


def test_existing_reads_without_minting(db, accounts):
    minted = accounts.account_id_for("p1")
    assert accounts.existing(["p1", "p2"]) == {"p1": minted}
    assert rows(db) == 1


def test_account_ids_name_their_projects(db, accounts):
    minted = accounts.account_ids_for(["p1", "p2"])
    assert AccountIds(db).project_ids_for([minted["p1"], "999999999999", "p2"]) == \
        {minted["p1"]: "p1"}
    assert accounts.project_ids_named([minted["p2"], "p1", "999999999999"]) == \
        {minted["p2"]: "p2", "p1": "p1", "999999999999": "999999999999"}


def test_an_account_id_drawn_twice_is_drawn_again(db, accounts, monkeypatch):
    taken = accounts.account_id_for("p1")
    drawn = iter([taken, "000000000007"])
    monkeypatch.setattr(accounts_module, "mint_account", lambda: next(drawn))
    assert AccountIds(db).account_id_for("p2") == "000000000007"
    assert accounts.account_id_for("p1") == taken


def test_a_batch_drawing_one_id_twice_draws_again(db, accounts, monkeypatch):
    drawn = iter(["000000000001", "000000000001", "000000000002", "000000000003"])
    monkeypatch.setattr(accounts_module, "mint_account", lambda: next(drawn))
    assert accounts.account_ids_for(["p1", "p2"]) == \
        {"p1": "000000000002", "p2": "000000000003"}


def test_a_project_minted_meanwhile_by_another_node_keeps_that_id(db, monkeypatch):
    here, there = AccountIds(db), AccountIds(db)
    real_existing = AccountIds.existing
    calls = []

    def existing_then_race(self, project_ids):
        found = real_existing(self, project_ids)
        if self is here and not calls:  # the other node wins between read and insert
            calls.append(there.account_id_for("p1"))
        return found

    monkeypatch.setattr(AccountIds, "existing", existing_then_race)
    assert here.account_ids_for(["p1", "p2"])["p1"] == calls[0]
    assert rows(db) == 2


def test_ec2_ids_carry_the_accounts(db):
    assert isinstance(Ec2Ids(db).accounts, AccountIds)


def test_known_accounts_are_read_from_memory(db, accounts, monkeypatch):
    minted = accounts.account_ids_for(["p1", "p2"])
    monkeypatch.setattr(db, "session", lambda: pytest.fail("read the table again"))
    assert accounts.account_ids_for(["p2", "p1"]) == minted
    assert accounts.project_ids_for([minted["p1"]]) == {minted["p1"]: "p1"}
