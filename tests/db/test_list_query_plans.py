"""The server lists' queries read the instances through an index, never by a
full scan of the table: every filter and every sort key of ``GET /servers``
(Nova's), and what DescribeInstances asks of the database (EC2's terminated
window, instance IDs, state names), within one project and across all of them.
The plans are the databases' own: ``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN``
on PostgreSQL with sequential scans priced out (on a table of a few rows a
scan is cheapest, so the question asked is whether an index can serve); a
read of a whole index counts as a scan too, unless it is the ORDER BY's order
(no sort follows, and the LIMIT ends it)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import Select, text

from core.compute.server_listing import EC2_STATE_NAMES, SORT_KEYS, ServerQuery, ordered

WHEN = datetime(2026, 1, 1, tzinfo=UTC)
FILTERS: dict[str, dict] = {
    "none": {}, "name": {"name": "web"}, "status": {"status": "ACTIVE"},
    "soft-deleted status": {"status": "SOFT_DELETED"}, "image": {"image": "img"},
    "flavor": {"flavor": "1"}, "host": {"host": "h1"}, "ip": {"ip": "10.0"},
    "ip6": {"ip6": "::1"}, "reservation": {"reservation_id": "r-1"},
    "zone": {"availability_zone": "nova"}, "user": {"user_id": "u1"},
    "changes-since": {"changes_since": WHEN}, "changes-before": {"changes_before": WHEN},
    "deleted": {"deleted": True}, "locked": {"locked": True},
    "vm_state": {"vm_states": ["active"]}, "task_state": {"task_states": ["spawning"]},
    "regex": {"matches": {"key_name": "k", "launched_at": "2026", "progress": "0"}},
    "tags": {"tags": ["a", "b"]}, "tags-any": {"tags_any": ["a"]},
    "not-tags": {"not_tags": ["a"]}, "not-tags-any": {"not_tags_any": ["a"]},
    "ec2 window": {"deleted_since": WHEN}, "ec2 ids": {"uuids": ["u-1", "u-2"]},
    "ec2 states": {"ec2_states": sorted(EC2_STATE_NAMES)},
}
# Filters an index answers (the others are patterns, ranges or alternatives that a
# read of the instances in order, stopped by the LIMIT, serves as well).
SEARCHED = {"status", "soft-deleted status", "image", "flavor", "host", "ip", "ip6",
            "reservation", "zone", "user", "locked", "vm_state", "task_state", "tags",
            "tags-any", "ec2 ids"}
CASES = [(f"filter {name}", kw) for name, kw in FILTERS.items()] + [
    (f"sort {key} {direction}", {"sort": [(key, direction)]})
    for key in SORT_KEYS for direction in ("asc", "desc")]


@pytest.fixture(params=("sqlite", "postgresql"))
def backend(request) -> str:
    return request.param


def _plan(s, stmt: Select) -> list[str]:
    bind = s.get_bind()
    compiled = stmt.compile(dialect=bind.dialect, compile_kwargs={"render_postcompile": True})
    conn = s.connection().connection.dbapi_connection
    cur = conn.cursor()
    try:
        if bind.dialect.name == "sqlite":
            params = [compiled.params[k] for k in compiled.positiontup or ()]
            cur.execute("EXPLAIN QUERY PLAN " + str(compiled),
                        [v.isoformat(" ") if isinstance(v, datetime) else v for v in params])
            return [row[3] for row in cur.fetchall()]
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params)
        return _pg_lines(cur.fetchone()[0][0]["Plan"])
    finally:
        cur.close()


def _pg_lines(plan: dict) -> list[str]:
    """PostgreSQL's plan tree as SQLite's words: ``SEARCH instances`` for an
    index read with an index condition, ``SCAN instances [USING INDEX x]`` for
    a whole table or index, ``TEMP B-TREE FOR ORDER BY`` for a sort."""
    out = []
    if plan["Node Type"] in ("Sort", "Incremental Sort"):
        out.append("USE TEMP B-TREE FOR ORDER BY")
    if plan.get("Relation Name") == "instances":
        if "Index Cond" in plan or plan["Node Type"] == "Bitmap Heap Scan":
            out.append(f"SEARCH instances ({plan['Node Type']})")
        elif "Index Name" in plan:
            out.append(f"SCAN instances USING INDEX {plan['Index Name']}")
        else:
            out.append("SCAN instances")
    for child in plan.get("Plans", []):
        out.extend(_pg_lines(child))
    return out


def _full_scans(lines: list[str], by_id: bool = False) -> list[str]:
    """Plan lines that read the whole instances table (or the whole of one of its
    indexes), rather than searching an index. Reading an index in order for the
    ORDER BY (no sort step follows) is a search: the LIMIT stops it; so is
    reading SQLite's table itself when it is ordered by ``id`` (its rowid)."""
    in_order = not any("TEMP B-TREE FOR ORDER BY" in ln for ln in lines)
    out = []
    for ln in lines:
        scan = re.match(r"\s*SCAN instances\b(?: AS \w+)?(.*)$", ln)
        if scan and not (in_order and (scan.group(1).startswith(" USING INDEX")
                                       or by_id and not scan.group(1))):
            out.append(ln)
    return out


@pytest.mark.parametrize("project", ["p1", None], ids=["one project", "all projects"])
def test_no_list_query_scans_the_instances_table(db, project):
    with db.session() as s:
        s.execute(text("SELECT 1"))  # a transaction, for SET LOCAL
        failures = {}
        for name, kw in CASES:
            lines = _plan(s, ordered(s, ServerQuery(project_id=project, **kw)).limit(1001))
            must_search = project is not None or name.removeprefix("filter ") in SEARCHED
            if _full_scans(lines, by_id=name.startswith("sort id ")) or must_search and not any(
                    ln.startswith("SEARCH instances") for ln in lines):
                failures[name] = lines
        assert not failures, failures


def test_the_check_sees_a_full_scan(db):
    """A condition no index serves (a function of the column) is reported."""
    from core.compute.models import Instance

    with db.session() as s:
        s.execute(text("SELECT 1"))
        stmt = Select(Instance.id).where(Instance.display_name + "x" == "ax")
        assert _full_scans(_plan(s, stmt))
