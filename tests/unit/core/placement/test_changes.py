"""The host changes log's reader (core/placement/changes.py): numbers that commit
out of order are read late, not lost; numbers that never commit are given up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import insert

from core.db import Database
from core.placement import changes
from core.placement.changes import CHANGES, ChangeCursor
from core.settings import load_settings
from tests.support.core_services import migrated_database


@pytest.fixture
def db(tmp_path) -> Iterator[Database]:
    database = migrated_database(load_settings({}, data_dir=tmp_path))
    yield database
    database.dispose()


def commit(db: Database, *entries: tuple[int, int]) -> None:
    """Entries ``(seq, node_id)`` as if their transactions committed now (the
    numbers were handed out earlier, in any order)."""
    with db.session() as s:
        s.execute(insert(CHANGES), [{"seq": seq, "node_id": node} for seq, node in entries])


def read(db: Database, cursor: ChangeCursor, now: float) -> set[int]:
    with db.session() as s:
        return cursor.read(s.connection(), now)


def test_a_number_committed_late_is_read_late(db):
    cursor = ChangeCursor()
    commit(db, (1, 10), (2, 20), (4, 40))  # 3 is still open
    assert read(db, cursor, 0.0) == {10, 20, 40}
    assert (cursor.last, set(cursor.gaps)) == (4, {3})
    assert read(db, cursor, 1.0) == set()
    commit(db, (3, 30), (5, 50))
    assert read(db, cursor, 2.0) == {30, 50}
    assert (cursor.last, cursor.gaps) == (5, {})


def test_a_number_that_never_commits_is_given_up(db):
    cursor = ChangeCursor()
    commit(db, (1, 10), (3, 30))  # 2 rolled back
    read(db, cursor, 0.0)
    assert set(cursor.gaps) == {2}
    read(db, cursor, changes.GAP_TIMEOUT + 1)
    assert cursor.gaps == {}


def test_starting_at_the_newest_asks_again_for_the_missing_ones_below(db):
    commit(db, (1, 10), (2, 20), (5, 50))
    cursor = ChangeCursor()
    with db.session() as s:
        cursor.start(s.connection(), 0.0)
    assert (cursor.last, set(cursor.gaps)) == (5, {3, 4})
    commit(db, (4, 40))
    assert read(db, cursor, 1.0) == {40}


def test_noted_changes_get_increasing_numbers(db):
    with db.session() as s:
        changes.note_nodes_changed(s, [7, 7, 8])
    with db.session() as s:
        changes.note_nodes_changed(s, [9])
    cursor = ChangeCursor()
    assert read(db, cursor, 0.0) == {7, 8, 9}
    assert (cursor.last, cursor.gaps) == (3, {})
    with db.session() as s:
        assert changes.prune_changes(s, 3) == 3  # the log is empty now
    with db.session() as s:
        changes.note_nodes_changed(s, [1])
    assert read(db, cursor, 0.0) == {1}
    assert cursor.last == 4  # a number is never handed out twice
