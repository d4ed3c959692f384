"""Account ids on every database back end: racing minters agree on one id per
project, and a taken id is drawn again."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from core.idmap import accounts as accounts_module
from core.idmap.accounts import AccountIds


def test_racing_nodes_agree_on_one_account_id_per_project(db):
    projects = [f"project-{i}" for i in range(40)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        # One AccountIds per thread: separate nodes, no shared memory.
        results = list(pool.map(lambda _: AccountIds(db).account_ids_for(projects), range(6)))
    assert all(r == results[0] for r in results)
    assert len(set(results[0].values())) == 40


def test_a_taken_account_id_is_drawn_again(db, monkeypatch):
    taken = AccountIds(db).account_id_for("p1")
    drawn = iter([taken, "100000000001"])
    monkeypatch.setattr(accounts_module, "mint_account", lambda: next(drawn))
    assert AccountIds(db).account_id_for("p2") == "100000000001"
    assert AccountIds(db).project_ids_for([taken, "100000000001"]) == \
        {taken: "p1", "100000000001": "p2"}
